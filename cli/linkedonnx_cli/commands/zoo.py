"""`linkedonnx zoo`: list the zoo's models with parameter counts and FLOPs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from linkedonnx_cli.render import output_console

if TYPE_CHECKING:
    from linkedonnx.zoo.stats import ModelStats


def render(rows: list[ModelStats], console: Console) -> None:
    """Print one table row per model: name, BN, parameters, MFLOPs."""
    from linkedonnx.zoo import parse_name
    from linkedonnx.zoo.spec import ModelSpec

    spec = ModelSpec("default")
    geometry = f"{spec.in_channels}×{spec.image_size}×{spec.image_size}"
    table = Table(
        title=f"{len(rows)} models, input {geometry}, {spec.num_classes} classes",
        caption="FLOPs = 2 × conv/dense multiply-accumulates, batch 1",
    )
    table.add_column("name", no_wrap=True)
    table.add_column("BN")
    table.add_column("parameters", justify="right")
    table.add_column("MFLOPs", justify="right")
    for row in rows:
        table.add_row(
            row.name,
            "yes" if parse_name(row.name).batch_norm else "no",
            f"{row.parameters:,}",
            f"{row.flops / 1e6:,.1f}",
        )
    console.print(table)


def command(
    family: Annotated[
        str | None,
        typer.Option("--family", help="Only this family: width, depth, params, allcnn, resnet."),
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the rows as JSON to this file.")
    ] = None,
) -> None:
    """List every zoo model with its parameter count and FLOPs at 3×32×32."""
    from linkedonnx.atomic import reserve_outputs, write_text_atomic
    from linkedonnx.report_json import report_text
    from linkedonnx.zoo.spec import ModelSpec
    from linkedonnx.zoo.stats import zoo_stats  # torch: only when it runs

    with reserve_outputs(json_path):
        rows = zoo_stats(family)
        if json_path is not None:
            payload = {"input_shape": list(ModelSpec("default").input_shape(1)), "models": []}
            payload["models"] = [row.to_dict() for row in rows]
            write_text_atomic(json_path, report_text(payload))
    render(rows, output_console())
