"""Rich renderings shared by several commands."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from linkedonnx.passes.base import PipelineReport


def pipeline_table(report: PipelineReport, title: str, action: str = "action") -> Table:
    """One row per pass and non-zero count of ``report`` (pass, ``action``, count, seconds)."""
    table = Table(show_header=True, header_style="bold", title=title)
    table.add_column("pass")
    table.add_column(action)
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
    return table


def output_console() -> Console:
    """The console a command prints its result to (stdout): the terminal's width on a
    terminal; in a pipe or log no wrapping, so tables and notes are never cut to 80 columns."""
    width = None if sys.stdout.isatty() else 10_000
    return Console(highlight=False, soft_wrap=True, width=width)
