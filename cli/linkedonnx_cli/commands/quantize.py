"""`linkedonnx quantize`: a float model -> a linked-aware INT8 QDQ model calibrated on a
data set or an .npz (heavy modules are imported inside the command)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from linkedonnx_cli import verbosity
from linkedonnx_cli.data_options import (
    DataDirOption,
    MeanOption,
    ScaleOption,
    StandardizeOption,
    StdOption,
)
from linkedonnx_cli.options import ExternalData, FreezeInputs, at_least_one, provider_option
from linkedonnx_cli.render import output_console

if TYPE_CHECKING:
    from linkedonnx.quantize.static import QuantizeReport


def render(report: QuantizeReport, output: Path, console: Console) -> None:
    """Print what was lowered, shared and kept in float, the CPU's 8-bit ISA, the notes."""
    from rich.table import Table

    table = Table(title="quantize", show_header=True)
    table.add_column("what")
    table.add_column("value")
    forms = ", ".join(f"{k} x{v}" for k, v in report.lowered.items()) or "none"
    table.add_row("linked activations lowered", forms)
    table.add_row("form", report.form or "stock (no linked activation)")
    layout = ", ".join(f"{k} x{v}" for k, v in report.layout.items()) or "-"
    table.add_row("linked layout", layout)
    table.add_row("shared ranges (both halves, one scale)", str(report.shared_ranges))
    table.add_row("calibration", f"{report.method}, {report.samples} samples")
    weights = "per channel" if report.per_channel else "per tensor"
    table.add_row(
        "weights", f"int8 {weights}" + (", 7-bit (reduce_range)" if report.reduce_range else "")
    )
    table.add_row(
        "bias correction",
        f"{len(report.bias_corrected)} layers" if report.bias_correction else "off",
    )
    table.add_row("CPU", report.isa.describe())
    floats = ", ".join(f"{k} x{v}" for k, v in report.float_ops.items()) or "none"
    table.add_row("float between DQ and Q (after ORT fusions)", floats)
    if report.tuning:
        table.add_row(
            f"tune (INT8 ms, {report.tuned_on})",
            ", ".join(f"{k} {v:.3f}" for k, v in report.tuning.items()),
        )
    if report.frozen_inputs:
        table.add_row("weights moved out of the inputs", str(len(report.frozen_inputs)))
    console.print(table)
    for note in report.notes:
        console.print(f"note: {note}")
    console.print(f"wrote {output}")


def command(
    model: Annotated[
        Path, typer.Argument(help="Float ONNX model (function form, converted or flat export).")
    ],
    output: Annotated[Path, typer.Option("-o", "--out", help="Output INT8 (QDQ) ONNX file.")],
    data: Annotated[
        str, typer.Option("--data", help="Calibration data: a data set name or an .npz file.")
    ],
    samples: Annotated[
        int,
        typer.Option(
            "--samples",
            help="Calibrate on the first N samples of the split.",
            callback=at_least_one,
        ),
    ] = 512,
    method: Annotated[
        str, typer.Option("--method", help="Calibration: minmax, entropy or percentile.")
    ] = "minmax",
    per_tensor: Annotated[
        bool, typer.Option("--per-tensor", help="One weight scale per tensor, not per channel.")
    ] = False,
    no_bias_correction: Annotated[
        bool,
        typer.Option(
            "--no-bias-correction",
            help="Keep the quantized biases (default: move them so each layer's per-channel"
            " output mean on the calibration data matches the float model's).",
        ),
    ] = False,
    form: Annotated[
        str | None,
        typer.Option("--form", help="Force one lowering form: split, dw, stacked or inline."),
    ] = None,
    tune: Annotated[
        bool, typer.Option("--tune", help="Quantize every lowering form, keep the fastest INT8.")
    ] = False,
    provider: Annotated[
        str,
        provider_option(
            "Runtime the INT8 file is for: openvino writes the inline form (zero-point-free "
            "conv inputs); with --tune, where the forms are timed"
        ),
    ] = "cpu",
    freeze_inputs: FreezeInputs = False,
    data_dir: DataDirOption = None,
    scale: ScaleOption = None,
    mean: MeanOption = None,
    std: StdOption = None,
    standardize: StandardizeOption = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the report as JSON.")
    ] = None,
    external_data: ExternalData = False,
) -> None:
    """Quantize the model to INT8 (QDQ, u8 activations, s8 weights) for ONNX Runtime's
    CPU: lower linked activations, calibrate on --data, give both halves of each linkage
    one scale, and record the CPU's 8-bit ISA in the report and the model."""
    from linkedonnx.arrays.labelled import PreprocessOptions
    from linkedonnx.atomic import reserve_outputs
    from linkedonnx.quantize.file import quantize_file

    options = PreprocessOptions.parse(scale, mean, std, standardize)
    read = (model, *((Path(data),) if data.lower().endswith(".npz") else ()))
    calibrating = verbosity.progress("quantize: calibrating")
    with reserve_outputs(output, json_path, inputs=read), calibrating as tell:
        _, report = quantize_file(
            model,
            output,
            data,
            json_path,
            samples=samples,
            method=method,
            per_channel=not per_tensor,
            bias_correction=not no_bias_correction,
            form=form,
            tune=tune,
            provider=provider,
            freeze_inputs=freeze_inputs,
            options=options,
            data_dir=data_dir,
            progress=tell,
            external_data=external_data,
        )
    render(report, output, output_console())
