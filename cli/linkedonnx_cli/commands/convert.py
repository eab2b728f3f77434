"""`linkedonnx convert`: an ONNX file from any exporter -> linkedonnx function form."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from linkedonnx.passes.base import PipelineReport
from linkedonnx.passes.convert import convert_file, linked_node_counts


def render(report: PipelineReport, linked: dict[str, int], output: Path, console: Console) -> None:
    """Print one row per pass and rule that did something, then the linked nodes written."""
    table = Table(show_header=True, header_style="bold", title="convert")
    table.add_column("pass")
    table.add_column("rule / action")
    table.add_column("count", justify="right")
    table.add_column("seconds", justify="right")
    for step in report.steps:
        counts = {k: v for k, v in step.counts.items() if v}
        if not counts:
            table.add_row(step.name, "changed" if step.modified else "-", "", f"{step.seconds:.3f}")
            continue
        for i, (key, value) in enumerate(sorted(counts.items())):
            table.add_row(
                step.name if i == 0 else "", key, str(value), "" if i else f"{step.seconds:.3f}"
            )
    console.print(table)
    summary = ", ".join(f"{k} x{v}" for k, v in sorted(linked.items())) or "no linked activations"
    console.print(f"wrote {output}: {summary}")


def command(
    model: Annotated[Path, typer.Argument(help="Input ONNX file (from any exporter).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output ONNX file.")],
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write what each rule did as JSON.")
    ] = None,
) -> None:
    """Recognize linked activations (every flat spelling) and fuse weight-shared branches,
    writing linkedonnx function nodes; print what each rule did."""
    converted, report = convert_file(model, output, json_path)
    render(report, linked_node_counts(converted), output, Console())
