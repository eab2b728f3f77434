"""`linkedonnx linkify`: a zoo model's or checkpoint's activations made linked."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from linkedonnx_cli.render import output_console

if TYPE_CHECKING:  # the library's torch side is imported when the command runs
    from linkedonnx.linkify import LinkifyReport


def render(report: LinkifyReport, output: Path, console: Console) -> None:
    """One row per activation call site (linked or left, and why), then the counts."""
    table = Table(title="linkify", header_style="bold")
    for col in ("activation", "op", "", "why"):
        table.add_column(col)
    for a in report.activations:
        table.add_row(a.site, a.op, "linked" if a.linked else "left", a.reason)
    console.print(table)
    console.print(f"wrote {output}: {report.summary()}", soft_wrap=True)


def command(
    source: Annotated[
        str, typer.Argument(help="zoo:NAME (random init from --seed) or a checkpoint file.")
    ],
    output: Annotated[
        Path, typer.Option("-o", "--out", help="The checkpoint (.safetensors) to write.")
    ],
    activation: Annotated[
        str,
        typer.Option(
            help="The linked activation: lk-<kind> for every registered linked kind "
            "(lk-relu, lk-relu-minmax, lk-prelu, lk-selu, lk-swish ...)."
        ),
    ] = "lk-relu",
    preserve_function: Annotated[
        bool,
        typer.Option(
            help="Second-half consumer weights zero (the network computes what it did); "
            "--no-preserve-function links every supported activation, new weights Glorot."
        ),
    ] = True,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the report as JSON.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Weight seed for zoo:NAME sources.")] = 0,
    in_channels: Annotated[
        int | None, typer.Option(help="Input channels (zoo sources; default 3).")
    ] = None,
    image_size: Annotated[
        int | None, typer.Option(help="Input height and width (zoo sources; default 32).")
    ] = None,
    num_classes: Annotated[
        int | None, typer.Option(help="Number of classes (zoo sources; default 10).")
    ] = None,
) -> None:
    """Replace each activation whose output reaches only Conv2d/Linear layers by its linked
    form, widening those layers; report each activation linked or left, and why."""
    from linkedonnx.atomic import reserve_outputs
    from linkedonnx.linkify.source import linkify_source  # torch: only when it runs

    read = () if source.startswith("zoo:") else (Path(source),)
    with reserve_outputs(output, json_path, inputs=read):
        report = linkify_source(
            source,
            output,
            activation=activation,
            preserve_function=preserve_function,
            seed=seed,
            in_channels=in_channels,
            image_size=image_size,
            num_classes=num_classes,
            json_path=json_path,
        )
    render(report, output, output_console())
