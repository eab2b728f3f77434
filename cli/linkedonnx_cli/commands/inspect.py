"""`linkedonnx inspect`: dead units per layer of a checkpoint, zoo model or ONNX file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from linkedonnx.arrays.labelled import PreprocessOptions
from linkedonnx.atomic import refuse_overwriting_input, write_text_atomic
from linkedonnx.inspect import DeadUnitReport, inspect_source
from linkedonnx.source_ref import parse_source
from linkedonnx_cli.data_options import DataDirOption, MeanOption, ScaleOption, StdOption


def render(report: DeadUnitReport, console: Console) -> None:
    """Print one row per activation layer and a total row."""
    table = Table(
        title=f"dead units of {report.source} on {report.samples} samples", header_style="bold"
    )
    linked = report.dead_linkages is not None
    columns = ["#", "layer", "kind", "units", "dead", "share"]
    columns += ["dead linkages"] if linked else []
    columns += ["peak |a|"]
    for col in columns:
        table.add_column(col, justify="left" if col in ("layer", "kind") else "right")
    for i, layer in enumerate(report.layers):
        row = [str(i), layer.name, layer.kind, str(layer.units), str(layer.dead)]
        row.append(f"{layer.share:.1%}")
        if linked:
            row.append(
                f"{layer.dead_linkages}/{layer.linkages}" if layer.dead_linkages is not None else ""
            )
        row.append("" if layer.peak is None else f"{layer.peak:.1e}")
        table.add_row(*row)
    table.add_section()
    total = ["", "total", "", str(report.units), str(report.dead), f"{report.share:.1%}"]
    total += [f"{report.dead_linkages}/{report.linkages}"] if linked else []
    total.append("")
    table.add_row(*total)
    console.print(table)


def command(
    source: Annotated[str, typer.Argument(help="Checkpoint file, zoo:NAME or an .onnx file.")],
    data: Annotated[
        str | None,
        typer.Option(
            help="digits, fashion-mnist, cifar10, synthetic or a .npz (default: the data set "
            "the model records, else digits)."
        ),
    ] = None,
    batches: Annotated[int, typer.Option(help="Train batches to run (fixed order).")] = 8,
    batch_size: Annotated[int, typer.Option(help="Samples per batch.")] = 128,
    image_size: Annotated[
        int | None, typer.Option(help="Image side (default: the model's or dataset's).")
    ] = None,
    standardize: Annotated[
        bool | None,
        typer.Option(
            "--standardize/--no-standardize",
            help="Standardize with the data's train statistics (default: as the model "
            "records, else not).",
        ),
    ] = None,
    data_dir: DataDirOption = None,
    scale: ScaleOption = None,
    mean: MeanOption = None,
    std: StdOption = None,
    seed: Annotated[int, typer.Option(help="Initialisation seed of a zoo: model.")] = 0,
    init: Annotated[
        str, typer.Option(help="Initialisation of a zoo: model: torch or keras (Glorot).")
    ] = "torch",
    provider: Annotated[str, typer.Option(help="ORT provider for .onnx: cpu or cuda.")] = "cpu",
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the report as JSON.")
    ] = None,
) -> None:
    """Count units that are zero on every sample (the paper's dead units), per layer."""
    ref = parse_source(source)
    if json_path is not None and ref.kind != "zoo":
        refuse_overwriting_input(json_path, ref.path)
    report = inspect_source(
        source,
        data,
        batches=batches,
        batch_size=batch_size,
        image_size=image_size,
        standardize=standardize,
        data_dir=data_dir,
        seed=seed,
        init=init,
        provider=provider,
        options=PreprocessOptions.parse(scale, mean, std),
    )
    render(report, Console())
    if json_path is not None:
        write_text_atomic(json_path, report.to_json() + "\n")
