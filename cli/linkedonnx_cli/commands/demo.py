"""`linkedonnx demo`: the whole journey (train -> export -> convert -> optimize -> validate
-> bench) on the embedded digits data, with a progress display and one summary table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from linkedonnx_cli import verbosity
from linkedonnx_cli.render import output_console

if TYPE_CHECKING:  # torch/onnx are imported when the command runs
    from linkedonnx.journey import JourneySummary


def summary_table(summary: JourneySummary) -> Table:
    """The one summary table: accuracy, parity error, speed-up per batch."""
    table = Table(title=f"linkedonnx demo: {summary.model} on {summary.data}", show_header=True)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row(
        "test accuracy",
        f"{summary.test_accuracy:.3f} ({summary.epochs} epochs, {summary.steps} steps)",
    )
    table.add_row("linked activations (functions)", str(sum(summary.linked_calls.values())))
    table.add_row(
        "recognized in plain export (convert)",
        f"{sum(summary.converted_calls.values())} of {sum(summary.linked_calls.values())}",
    )
    table.add_row(
        "max parity error vs checkpoint",
        f"{summary.parity_max_error_checkpoint:.1e} (atol {summary.parity_atol:g})",
    )
    table.add_row(
        "max parity error function vs optimized", f"{summary.parity_max_error_function:.1e}"
    )
    table.add_row("parity", "pass" if summary.parity_passed else "FAIL")
    for point in summary.bench:
        table.add_row(
            f"speed-up vs plain export, batch {point.batch}",
            f"{point.speedup:.2f}x ({point.plain_ms:.3f} -> {point.optimized_ms:.3f} ms)",
        )
    if summary.int8 is not None:
        row = summary.int8
        table.add_row(
            "INT8 test accuracy (float32 -> INT8)",
            f"{row.float_accuracy:.3f} -> {row.int8_accuracy:.3f}",
        )
        for batch, vs_plain in row.speedup_vs_plain.items():
            table.add_row(f"INT8 speed-up vs plain export, batch {batch}", f"{vs_plain:.2f}x")
            table.add_row(
                f"INT8 vs optimized float32, batch {batch}",
                f"{row.speedup_vs_optimized[batch]:.2f}x",
            )
    return table


def command(
    out: Annotated[
        Path, typer.Option("-o", "--out", help="Output folder for every artifact.")
    ] = Path("linkedonnx-demo"),
    model: Annotated[str, typer.Option(help="Linked zoo model to train.")] = "params/lk-relu",
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 2,
    max_steps: Annotated[
        int | None, typer.Option(help="Stop training after this many steps.")
    ] = None,
    runs: Annotated[int, typer.Option(help="Timed bench runs per model and batch.")] = 200,
    threads: Annotated[int | None, typer.Option(help="ORT intra-op threads.")] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            help="Use an existing folder that holds other files too (the demo's own files"
            " in it are replaced; a folder of only those is replaced without it)."
        ),
    ] = False,
) -> None:
    """Train a linked model on the embedded digits, export, convert, optimize, validate
    parity and bench against the plain export; print one summary table."""
    from linkedonnx.atomic import check_output_folder
    from linkedonnx.journey import STAGES, JourneyConfig, run_journey

    check_output_folder(out)
    config = JourneyConfig(
        out=out,
        model=model,
        epochs=epochs,
        max_steps=max_steps,
        runs=runs,
        threads=threads,
        overwrite=overwrite,
    )
    console = output_console()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),  # the stages on stderr; stdout carries the summary
        transient=False,
        disable=not verbosity.progress_enabled(),
    ) as progress:
        tasks = {s: progress.add_task(f"{s}: waiting", total=1, start=False) for s in STAGES}

        detailed: set[str] = set()

        def tell(stage: str, status: str) -> None:
            task = tasks[stage]
            if status == "start":
                progress.start_task(task)
                progress.update(task, description=f"{stage}: running")
            elif status == "done":
                if stage not in detailed:
                    progress.update(task, description=f"{stage}: done")
                progress.update(task, completed=1)
            else:
                detailed.add(stage)
                progress.update(task, description=f"{stage}: {status}")
                if stage != "bench":
                    progress.update(task, completed=1)

        summary = run_journey(config, progress=tell)
    console.print(summary_table(summary))
    console.print(f"artifacts in {out}/ (summary.json, checkpoint, .onnx files)")
    if not summary.parity_passed:
        raise typer.Exit(1)
