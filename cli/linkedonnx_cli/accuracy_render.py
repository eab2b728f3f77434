"""Rendering of ``validate --data``: accuracy of model and reference on labelled data."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from linkedonnx.runtime.accuracy import AccuracyReport


def render_accuracy(report: AccuracyReport, console: Console) -> None:
    """Print the settings line, the accuracy table, the output errors and the verdict."""
    pre = report.preprocess
    how = f"/ {pre['scale']:g}" + (", standardized" if pre.get("mean") else "")
    size = f", resized to {pre['image_size']}" if pre.get("image_size") else ""
    console.print(
        f"{report.model} on {report.runner} vs {report.reference}; {report.samples} samples "
        f"of {report.data} ({how}{size})"
    )
    table = Table(show_header=True, header_style="bold")
    for col in ("", "top-1 accuracy", "correct"):
        table.add_column(col, justify="left" if not col else "right")
    table.add_row("model", f"{report.model_accuracy:.2%}", str(report.model_correct))
    table.add_row("reference", f"{report.reference_accuracy:.2%}", str(report.reference_correct))
    table.add_row("same class", f"{report.agreement:.2%}", str(report.agreed))
    console.print(table)
    o = report.output
    console.print(
        f"scores {o.name!r} [{'x'.join(map(str, o.shape))}] vs the reference's: max abs {o.max_abs:.3g}, mean abs "
        f"{o.mean_abs:.3g}, max rel {o.max_rel:.3g}, mean rel {o.mean_rel:.3g} "
        f"({'within' if o.passed else 'beyond'} atol/rtol {o.atol:g}/{o.rtol:g})"
    )
    for note in report.notes:
        console.print(f"note: {note}")
    console.print(report.summary())
