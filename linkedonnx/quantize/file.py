"""Quantize an ONNX file: load, calibration batches from a data set or an ``.npz``,
:func:`linkedonnx.quantize.static.quantize`, check, write atomically (no torch here)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import onnx

from linkedonnx.arrays.labelled import PreprocessOptions
from linkedonnx.atomic import refuse_overwriting_input, write_text_atomic
from linkedonnx.errors import BadInputError
from linkedonnx.quantize.calibration import Batches, ProgressFn, calibration_batches
from linkedonnx.quantize.static import QuantizeReport, quantize
from linkedonnx.report_json import report_text


def _check_output_folder(path: Path) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise BadInputError(f"output folder {folder} does not exist")
    if path.is_dir():
        raise BadInputError(f"output path {path} is a directory")


def quantize_file(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    data: str | os.PathLike[str],
    json_path: str | os.PathLike[str] | None = None,
    *,
    samples: int | None = None,
    method: str = "minmax",
    per_channel: bool = True,
    bias_correction: bool = True,
    form: str | None = None,
    tune: bool = False,
    provider: str = "cpu",
    freeze_inputs: bool = False,
    options: PreprocessOptions | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    progress: ProgressFn | None = None,
    external_data: bool = False,
) -> tuple[onnx.ModelProto, QuantizeReport]:
    """Quantize the ONNX file ``source`` into ``output`` (atomic), calibrated on ``data``
    (a data set name: its train split; or an ``.npz``), and write the JSON report to
    ``json_path`` when given. Options as :func:`linkedonnx.quantize.static.quantize`.

    Raises BadInputError (one line, nothing written, input untouched) for an output that
    names the input or lies in a missing folder, a model that cannot be loaded or has
    no float input (or fails the ONNX checker: see
    :func:`linkedonnx.onnx_read.read_model`), bad calibration data (unknown name, wrong arrays, no sample) or a
    bad option; RuntimeError (a bug of ours) when the result fails the ONNX checker or
    does not load in ONNX Runtime. The output gets external data with ``external_data``
    or when it is too large for one protobuf (:func:`linkedonnx.onnx_io.save_model`; a
    large model is then checked and loaded from the written file). Returns (model,
    report). Where the read step stops the passes (an opset upgrade that fails or changes
    the outputs) the file is written unchanged and the report's notes say why.
    """
    from linkedonnx.onnx_io import needs_external_data, save_model
    from linkedonnx.onnx_read import read_model
    from linkedonnx.passes.optimize import verify
    from linkedonnx.quantize.calibration import float_inputs
    from linkedonnx.runtime.session import make_session

    source, output = Path(source), Path(output)
    refuse_overwriting_input(output, source)
    _check_output_folder(output)
    if json_path is not None:
        refuse_overwriting_input(Path(json_path), source, output)
        _check_output_folder(Path(json_path))
    read = read_model(source)
    model = read.model
    float_inputs(model)
    batches, origin = calibration_batches(
        model, data, samples=samples, options=options, data_dir=data_dir
    )
    if read.stopped is not None:
        quantized, report = read.given, unchanged_report(method, per_channel, batches)
    else:
        quantized, report = quantize(
            model,
            batches,
            method=method,
            per_channel=per_channel,
            bias_correction=bias_correction,
            form=form,
            tune=tune,
            provider=provider,
            freeze_inputs=freeze_inputs,
            progress=progress,
        )
    report.notes[:0] = read.notes()
    report.frozen_inputs[:0] = read.frozen
    large = needs_external_data(quantized)
    verify(quantized, in_memory=not large)
    save_model(quantized, output, inputs=(source,), external_data=external_data, check=large)
    if large:
        try:
            make_session(output, "cpu", threads=1)
        except BadInputError as exc:
            raise RuntimeError(f"the quantized model does not load: {exc}") from exc
    if json_path is not None:
        payload: dict[str, Any] = {
            "input": str(source),
            "output": str(output),
            "data": origin,
            **report.to_dict(),
        }
        write_text_atomic(json_path, report_text(payload))
    return quantized, report


def unchanged_report(method: str, per_channel: bool, batches: Batches) -> QuantizeReport:
    """The report of a model written unchanged (the read step stopped the passes): no
    form, nothing lowered, the calibration data counted but unused."""
    from linkedonnx.quantize.isa import detect

    isa = detect()
    data = list(batches)
    return QuantizeReport(
        linked=False,
        form=None,
        lowered={},
        layout={},
        shared_ranges=0,
        method=method,
        per_channel=per_channel,
        reduce_range=isa.reduce_range,
        isa=isa,
        samples=sum(len(next(iter(b.values()))) for b in data if b),
        batches=len(data),
    )
