"""`linkedonnx validate`: parity of an ONNX model in ONNX Runtime against a reference."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from linkedonnx_cli.options import at_least_one
from linkedonnx_cli.render import output_console

if TYPE_CHECKING:  # onnx/onnxruntime are imported when the command runs
    from linkedonnx.validate import ValidationReport


def render(report: ValidationReport, console: Console) -> None:
    """Print the settings line, one table row per output and the verdict line."""
    seed = f"seed {report.seed}" if report.seed is not None else "custom inputs"
    console.print(
        f"{report.model} on {report.runner} vs {report.reference}; "
        f"inputs {', '.join(report.inputs)} ({seed})"
    )
    table = Table(show_header=True, header_style="bold")
    columns = ("output", "shape", "max abs", "mean abs", "max rel", "mean rel", "worst at")
    for col in (*columns, "atol/rtol", "result"):
        table.add_column(col, justify="left" if col in ("output", "result") else "right")
    for o in report.outputs:
        table.add_row(
            o.name,
            "x".join(map(str, o.shape)),
            f"{o.max_abs:.3g}",
            f"{o.mean_abs:.3g}",
            f"{o.max_rel:.3g}",
            f"{o.mean_rel:.3g}",
            str(list(o.worst_index)),
            f"{o.atol:g}/{o.rtol:g}",
            "pass" if o.passed else f"FAIL: {o.reason}",
        )
    console.print(table)
    for note in report.notes:
        console.print(f"note: {note}")
    console.print(report.summary())


def command(
    model: Annotated[Path, typer.Argument(help="The ONNX model to check.")],
    reference: Annotated[
        str | None,
        typer.Option(
            help="zoo:NAME, a checkpoint or another .onnx (default: ONNX reference evaluator)."
        ),
    ] = None,
    provider: Annotated[str, typer.Option(help="cpu or cuda (ONNX Runtime EP).")] = "cpu",
    batch: Annotated[
        int, typer.Option(help="Value of every dynamic input dimension.", callback=at_least_one)
    ] = 1,
    atol: Annotated[
        float | None, typer.Option(help="Absolute tolerance (default by dtype).")
    ] = None,
    rtol: Annotated[
        float | None, typer.Option(help="Relative tolerance (default by dtype).")
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed of the inputs and of a zoo reference's weights.")
    ] = 0,
    inputs: Annotated[
        Path | None, typer.Option(help="A .npz file of inputs, one array per model input.")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the report as JSON.")
    ] = None,
) -> None:
    """Feed the same inputs to the model in ONNX Runtime and to the reference; compare each
    output. Exit 0 pass, 1 fail, 2 bad input."""
    from linkedonnx.atomic import reserve_outputs, write_text_atomic
    from linkedonnx.validate import validate

    read = [model, *([inputs] if inputs else [])]
    read += [Path(reference)] if reference and not reference.startswith("zoo:") else []
    with reserve_outputs(json_path, inputs=tuple(read)):
        report = validate(
            model,
            reference,
            provider=provider,
            batch=batch,
            atol=atol,
            rtol=rtol,
            seed=seed,
            inputs=inputs,
        )
        if json_path is not None:
            write_text_atomic(json_path, report.to_json())
    render(report, output_console())
    if not report.passed:
        raise typer.Exit(1)
