"""`linkedonnx optimize`: linked function nodes -> the fastest plain-ONNX form for a
provider (``--provider``; ``--target`` is its old name)."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from linkedonnx_cli import verbosity
from linkedonnx_cli.options import ExternalData, FreezeInputs, at_least_one, provider_option
from linkedonnx_cli.render import output_console, pipeline_table

if TYPE_CHECKING:  # onnx/onnxscript are imported when the command runs
    from linkedonnx.passes.base import PipelineReport


def render(report: PipelineReport, ops: dict[str, int], output: Path, console: Console) -> None:
    """Print one row per pass and count (reasons for skipped forms summed per form)."""
    console.print(pipeline_table(report, "optimize", "action"))
    console.print(f"wrote {output}: " + ", ".join(f"{k} x{v}" for k, v in ops.items()))


def command(
    model: Annotated[Path, typer.Argument(help="Input ONNX file (linked functions or flat).")],
    output: Annotated[Path, typer.Option("-o", "--out", help="Output ONNX file.")],
    provider: Annotated[str, provider_option("What to optimize for")] = "cpu",
    fp16: Annotated[bool, typer.Option("--fp16", help="Write a float16 model.")] = False,
    fp16_io: Annotated[
        bool, typer.Option("--fp16-io", help="With --fp16, make inputs/outputs float16 too.")
    ] = False,
    tune: Annotated[
        bool | None,
        typer.Option(
            "--tune/--no-tune",
            help="Default (CPU): each linked site's form timed on this machine, then checked "
            "against each single form as whole models, in at most 10 s, cached per model "
            "and CPU. --tune: time longer, no time box, ignore the cache. --no-tune: the "
            "machine-independent table, nothing timed.",
            show_default=False,
        ),
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option(
            "--batch",
            help="Batch size to optimize for: the forms are searched and checked at it. "
            "Default: searched at 6 (the geometric mean of 1 and 32), then the choice or "
            "a single form kept by the smallest worst ratio to the best at batches 1 and 32.",
            callback=at_least_one,
        ),
    ] = None,
    form: Annotated[
        str | None,
        typer.Option("--form", help="Force one lowering form: split, dw, stacked or inline."),
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the pass report as JSON.")
    ] = None,
    freeze_inputs: FreezeInputs = False,
    external_data: ExternalData = False,
) -> None:
    """Lower linked activations to the fastest standard ops for --provider, fold batch
    norm, clean up (and convert to float16); print what each pass did."""
    from linkedonnx.atomic import reserve_outputs
    from linkedonnx.passes.optimize import measures, op_counts, optimize_file

    timed = measures(provider, tune, form)
    timing = verbosity.progress("optimize: timing lowering forms") if timed else nullcontext()
    with reserve_outputs(output, json_path, inputs=(model,)), timing:
        optimized, report = optimize_file(
            model,
            output,
            json_path,
            target=provider,
            fp16=fp16,
            keep_io_float32=not fp16_io,
            tune=tune,
            batch=batch,
            form=form,
            freeze_inputs=freeze_inputs,
            external_data=external_data,
        )
    render(report, op_counts(optimized), output, output_console())
