"""`linkedonnx convert`: an ONNX file from any exporter -> linkedonnx function form."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from linkedonnx_cli.options import ExternalData, FreezeInputs
from linkedonnx_cli.render import output_console, pipeline_table

if TYPE_CHECKING:  # onnx/onnxscript are imported when the command runs
    from linkedonnx.passes.base import PipelineReport


def render(report: PipelineReport, linked: dict[str, int], output: Path, console: Console) -> None:
    """Print one row per pass and rule that did something, then the linked nodes written."""
    console.print(pipeline_table(report, "convert", "rule / action"))
    summary = ", ".join(f"{k} x{v}" for k, v in sorted(linked.items())) or "no linked activations"
    console.print(f"wrote {output}: {summary}")


def command(
    model: Annotated[Path, typer.Argument(help="Input ONNX file (from any exporter).")],
    output: Annotated[Path, typer.Option("-o", "--out", help="Output ONNX file.")],
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write what each rule did as JSON.")
    ] = None,
    freeze_inputs: FreezeInputs = False,
    external_data: ExternalData = False,
) -> None:
    """Recognize linked activations (every flat spelling) and fuse weight-shared branches,
    writing linkedonnx function nodes; print what each rule did."""
    from linkedonnx.atomic import reserve_outputs
    from linkedonnx.functions import count_linked_nodes
    from linkedonnx.passes.convert import convert_file

    with reserve_outputs(output, json_path, inputs=(model,)):
        converted, report = convert_file(
            model, output, json_path, freeze_inputs=freeze_inputs, external_data=external_data
        )
    render(report, count_linked_nodes(converted), output, output_console())
