"""Linked-aware INT8 static quantization on ONNX Runtime's quantizer (no torch here).

Steps: lower the model with the ``optimize`` pipeline (convert, batch-norm folding,
clean-up, one lowering form), calibrate it once with ORT's calibrator on the given
batches, give the two halves of every linked activation one shared range
(:mod:`linkedonnx.quantize.linked_groups`) through ``TensorQuantOverrides``, and run
ORT's ``quantize_static`` (QDQ, u8 activations, s8 weights, per-channel by default,
7-bit weights on AVX2 CPUs without VNNI) on the cached ranges. With ``tune`` every
form is quantized and the fastest INT8 candidate kept.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from linkedonnx.errors import BadInputError
from linkedonnx.kinds import KINDS
from linkedonnx.quantize.bias_correction import correct_biases
from linkedonnx.quantize.calibration import Batches, BatchReader, ProgressFn, float_inputs
from linkedonnx.quantize.freeze import freeze_initializer_inputs, initializer_inputs
from linkedonnx.quantize.isa import Int8Isa, detect
from linkedonnx.quantize.linked_groups import find_layout, shared_range_overrides
from linkedonnx.quantize.openvino_form import (
    MIXED,
    default_form,
    for_openvino,
    openvino_notes,
    stacked_sites,
)
from linkedonnx.runners.providers import get_provider

METHODS = ("minmax", "entropy", "percentile")
#: Model metadata key recording how the model was quantized (JSON).
METADATA_KEY = "linkedonnx.quantize"
#: Lowering forms tried by ``tune`` (timed as INT8 models; 'auto' is optimize's
#: machine-independent CPU table, split where it applies).
TUNE_FORMS = ("auto", "split", "dw", "stacked", "inline")
_LOWERED = re.compile(r"^([a-z-]+):(split|dw|stacked|inline)$")


@dataclass
class QuantizeReport:
    """What quantization did (JSON-ready via :meth:`to_dict`)."""

    linked: bool
    form: str | None
    lowered: dict[str, int]
    layout: dict[str, int]
    shared_ranges: int
    method: str
    per_channel: bool
    reduce_range: bool
    isa: Int8Isa
    samples: int
    batches: int
    frozen_inputs: list[str] = field(default_factory=list)
    float_ops: dict[str, int] = field(default_factory=dict)
    tuning: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: Where --tune timed the forms ('cpu': ONNX Runtime, 'openvino'); None untuned.
    tuned_on: str | None = None
    #: Empirical bias correction (:mod:`linkedonnx.quantize.bias_correction`) applied.
    bias_correction: bool = False
    #: Corrected layer output -> mean |bias shift| / mean |bias| before.
    bias_corrected: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    def metadata(self) -> str:
        """The compact JSON recorded in the model's metadata under :data:`METADATA_KEY`."""
        return json.dumps(
            {
                "format": "QDQ",
                "activations": "uint8",
                "weights": "int8 (7-bit)" if self.reduce_range else "int8",
                "per_channel": self.per_channel,
                "method": self.method,
                "linked": self.linked,
                "form": self.form,
                "shared_ranges": self.shared_ranges,
                "calibration_samples": self.samples,
                "cpu_flags": list(self.isa.flags),
                "vnni": self.isa.vnni,
                "reduce_range": self.reduce_range,
                "bias_correction": len(self.bias_corrected) if self.bias_correction else False,
                **({"tuned_on": self.tuned_on} if self.tuned_on else {}),
            },
            separators=(",", ":"),
        )


def _calibration_method(method: str) -> Any:
    from onnxruntime.quantization import CalibrationMethod

    if method not in METHODS:
        raise BadInputError(
            f"unknown calibration method {method!r}; expected one of {', '.join(METHODS)}"
        )
    return {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
    }[method]


@contextlib.contextmanager
def _quiet_ort_logging() -> Iterator[None]:
    """ORT's quantizer warns on the root logger (pre-processing advice); silence it."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _lowered_counts(report: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for step in report.steps:
        for key, n in step.counts.items():
            if _LOWERED.match(key):
                counts[key] = counts.get(key, 0) + n
    return counts


def forms_used(lowered: dict[str, int]) -> str | None:
    """The lowering forms of the counts ``lowered`` ('relu:split' -> n), joined by '+'
    ('split', 'dw+split'); None when nothing was lowered."""
    return "+".join(sorted({key.split(":", 1)[1] for key in lowered})) or None


def lower_for_int8(model: onnx.ModelProto, form: str | None) -> tuple[onnx.ModelProto, dict]:
    """The float model lowered by the optimize pipeline with ``form`` preferred (None:
    the machine-independent CPU table; INT8 forms are timed as INT8 models by ``tune``;
    :data:`~linkedonnx.quantize.openvino_form.MIXED`: stacked where
    :func:`~linkedonnx.quantize.openvino_form.stacked_sites` says, inline elsewhere),
    and its lowering counts ('relu:stacked' -> n)."""
    from linkedonnx.passes.optimize import optimize

    rule = stacked_sites if form == MIXED else None
    lowered, report = optimize(
        model,
        target="cpu",
        form="inline" if form == MIXED else form,
        tune=False if form is None else None,
        site_rule=rule,
    )
    return lowered, _lowered_counts(report)


def calibrate(model: onnx.ModelProto, reader: BatchReader, method: str, folder: Path) -> Any:
    """Run ORT's calibrator on ``model`` (written under ``folder``) with ``reader``;
    return ORT's TensorsData. Raises BadInputError when the reader yields no sample."""
    from onnxruntime.quantization.calibrate import create_calibrator
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

    path = folder / "float.onnx"
    onnx.save_model(model, str(path))
    op_types = sorted(set(QLinearOpsRegistry) | set(QDQRegistry))
    calibrator = create_calibrator(
        path,
        op_types,
        augmented_model_path=str(folder / "augmented.onnx"),
        calibrate_method=_calibration_method(method),
    )
    calibrator.collect_data(reader)
    if reader.samples == 0:
        raise BadInputError("the calibration data set is empty")
    return calibrator.compute_data()


def quantize_lowered(
    model: onnx.ModelProto,
    ranges: Any,
    overrides: dict,
    *,
    method: str,
    per_channel: bool,
    reduce_range: bool,
    folder: Path,
) -> onnx.ModelProto:
    """ORT's ``quantize_static`` (QDQ, u8 activations, s8 weights) of the lowered float
    ``model`` with calibrated ``ranges`` (ORT TensorsData) and ``TensorQuantOverrides``."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.calibrate import save_tensors_data

    source, target, cache = folder / "lowered.onnx", folder / "int8.onnx", folder / "ranges.json"
    onnx.save_model(model, str(source))
    cache.unlink(missing_ok=True)
    save_tensors_data(ranges, cache)
    with _quiet_ort_logging():
        quantize_static(
            str(source),
            str(target),
            None,
            quant_format=QuantFormat.QDQ,
            per_channel=per_channel,
            reduce_range=reduce_range,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=_calibration_method(method),
            calibration_cache_path=str(cache),
            extra_options={"TensorQuantOverrides": overrides} if overrides else {},
        )
    return onnx.load_model(str(target))


def concat_z(model: onnx.ModelProto) -> onnx.ModelProto:
    """Apply :class:`ConcatZPass` to a lowered float model (split sites -> one conv)."""
    import onnx_ir as ir
    from onnx_ir.passes.common import RemoveUnusedNodesPass

    from linkedonnx.quantize.concat_z import ConcatZPass

    rewritten = ConcatZPass()(ir.from_proto(model)).model
    return ir.to_proto(RemoveUnusedNodesPass()(rewritten).model)  # the two convs' weights


def integer_ops(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict[str, int]]:
    """Run :class:`IntegerReluPass` then :class:`IntegerConcatPass` on a QDQ model (exact
    rewrites where scales and zero points agree); return it and their counts."""
    import onnx_ir as ir

    from linkedonnx.quantize.integer_concat import IntegerConcatPass
    from linkedonnx.quantize.integer_relu import IntegerReluPass

    counts: dict[str, int] = {}
    current = ir.from_proto(model)
    for step in (IntegerReluPass(), IntegerConcatPass()):
        current = step(current).model
        counts.update({k: int(v) for k, v in step.counts.items() if v})
    return ir.to_proto(current), counts


def float_ops(model: onnx.ModelProto, folder: Path) -> dict[str, int]:
    """Ops that ONNX Runtime still computes in float in a QDQ ``model``: after ORT's
    portable (extended) graph optimizations, which fuse DQ -> op -> Q into 8-bit
    kernels where it has them, every node that reads a DequantizeLinear output, by
    op type (the final float consumers of the logits included)."""
    import onnxruntime as ort

    from linkedonnx.runtime.session import session_options

    opts = session_options(threads=1, optimization="extended")
    opts.optimized_model_filepath = str(folder / "ort_extended.onnx")
    ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    optimized = onnx.load_model(opts.optimized_model_filepath)
    dq = {n.output[0] for n in optimized.graph.node if n.op_type == "DequantizeLinear"}
    counts: dict[str, int] = {}
    for node in optimized.graph.node:
        if node.op_type not in ("QuantizeLinear", "DequantizeLinear") and dq & set(node.input):
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items()))


def _set_metadata(model: onnx.ModelProto, key: str, value: str) -> None:
    for prop in model.metadata_props:
        if prop.key == key:
            prop.value = value
            return
    model.metadata_props.add(key=key, value=value)


@dataclass
class _Candidate:
    form: str
    model: onnx.ModelProto
    lowered: dict[str, int]
    layout: dict[str, int]
    shared: int
    bias_corrected: dict[str, float] = field(default_factory=dict)


def _candidate(
    model: onnx.ModelProto,
    form: str,
    batches: Sequence[dict[str, np.ndarray]],
    inputs: list,
    *,
    method: str,
    per_channel: bool,
    reduce_range: bool,
    bias_correction: bool,
    openvino: bool,
    progress: ProgressFn | None,
) -> tuple[_Candidate, BatchReader]:
    """Lower ``model`` in ``form``, calibrate, quantize; linked-aware where the lowering
    found linked activations, the stock way otherwise; place the linked sites for
    OpenVINO when ``openvino`` (:func:`linkedonnx.quantize.openvino_form.for_openvino`);
    then correct the biases of that file against the lowered float model on the same
    batches when ``bias_correction``."""
    lowered, counts = lower_for_int8(model, None if form == "auto" else form)
    stock = not counts
    if not stock:
        lowered = concat_z(lowered)
    reader = BatchReader(batches, inputs, progress)
    with tempfile.TemporaryDirectory(prefix="linkedonnx.quantize.") as tmp:
        folder = Path(tmp)
        ranges = calibrate(lowered, reader, method, folder)
        layout = find_layout(lowered)
        overrides = (
            {}
            if stock
            else shared_range_overrides(
                layout, {name: data.range_value for name, data in ranges.items()}
            )
        )
        quantized = quantize_lowered(
            lowered,
            ranges,
            overrides,
            method=method,
            per_channel=per_channel,
            reduce_range=reduce_range,
            folder=folder,
        )
    layout_counts = layout.counts()
    if not stock:
        quantized, integer = integer_ops(quantized)
        layout_counts.update(integer)
        if openvino:
            quantized, placed = for_openvino(quantized)
            layout_counts.update(placed)
    corrected: dict[str, float] = {}
    if bias_correction:
        quantized, done = correct_biases(lowered, quantized, batches)
        corrected = done.corrected
    sites = [*layout.pairs, *layout.splits]  # a split site's relu(z) shares z's scale too
    shared = len({tuple(p.tensors) for p in sites if p.tensors[0] in overrides})
    return _Candidate(form, quantized, counts, layout_counts, shared, corrected), reader


def quantize(
    model: onnx.ModelProto,
    batches: Batches,
    *,
    method: str = "minmax",
    per_channel: bool = True,
    bias_correction: bool = True,
    form: str | None = None,
    tune: bool = False,
    tune_batch: int = 32,
    freeze_inputs: bool = False,
    reduce_range: bool | None = None,
    isa: Int8Isa | None = None,
    progress: ProgressFn | None = None,
    provider: str = "cpu",
) -> tuple[onnx.ModelProto, QuantizeReport]:
    """Quantize the float ``model`` (function form, converted or flat export) to a
    standard-op QDQ model calibrated on ``batches`` (dicts input name -> float32 array).

    ``form`` forces one lowering form (default: optimize's CPU table, or for provider
    'openvino' :func:`linkedonnx.quantize.openvino_form.default_form`), ``tune`` times
    the INT8 model of every form at ``tune_batch`` on ``provider``'s runner
    (:func:`linkedonnx.passes.tuning.choose`, optimize's tuning) and keeps the
    fastest; ``method`` is
    'minmax', 'entropy' or 'percentile'; ``reduce_range`` None follows the CPU
    (``isa``, default: detected); ``bias_correction`` moves every Conv/Gemm bias so
    that its per-channel output mean on ``batches`` matches the float model's
    (:mod:`linkedonnx.quantize.bias_correction`). A model with no linked activation is
    quantized the stock way (no shared ranges). Returns (QDQ ModelProto, QuantizeReport). Raises
    BadInputError for bad options (an unknown ``provider``, or cuda
    without ``tune``), no float input, weights that are graph inputs
    without ``freeze_inputs``, batches that do not fit the model or no sample.
    """
    _calibration_method(method)
    if form is not None and form not in TUNE_FORMS[1:]:
        raise BadInputError(f"unknown form {form!r}; expected one of {', '.join(TUNE_FORMS[1:])}")
    if tune and form is not None:
        raise BadInputError("give either a form or tune, not both")
    if tune_batch < 1:
        raise BadInputError(f"tune batch must be at least 1, got {tune_batch}")
    get_provider(provider)  # an unknown name is refused before any work
    if default_form(provider) is None and provider != "cpu" and not tune:
        raise BadInputError(f"--provider {provider} picks where --tune times; add --tune")
    frozen: list[str] = []
    if freeze_inputs:
        model, frozen = freeze_initializer_inputs(model)
    elif initializer_inputs(model):
        names = initializer_inputs(model)
        raise BadInputError(
            f"{len(names)} weight(s) are graph inputs ({', '.join(names[:3])}...); "
            "pass --freeze-inputs to quantize them as constants"
        )
    inputs = float_inputs(model)
    isa = isa or detect()
    reduce = isa.reduce_range if reduce_range is None else reduce_range
    data = list(batches)
    own = default_form(provider)
    forms: Sequence[str] = (
        (*TUNE_FORMS, *([own] if own and own not in TUNE_FORMS else []))
        if tune
        else (form or own or "auto",)
    )
    kwargs = dict(
        method=method,
        per_channel=per_channel,
        reduce_range=reduce,
        bias_correction=bias_correction,
        openvino=provider == "openvino",
    )
    first, reader = _candidate(model, forms[0], data, inputs, progress=progress, **kwargs)
    linked = bool(first.lowered)
    notes = []
    if not linked:
        notes.append("no linked activation: quantized the stock way (ORT quantize_static)")
        forms = forms[:1]
    candidates = [first]
    for other in forms[1:]:
        candidates.append(_candidate(model, other, data, inputs, progress=None, **kwargs)[0])
    timings: dict[str, float] = {}
    chosen = first
    if len(candidates) > 1:
        from linkedonnx.passes.tuning import choose

        tuned = choose(
            {c.form: c.model for c in candidates},
            first.form,
            batch=tune_batch,
            runs=20,
            warmup=3,
            provider=provider,
            same_outputs=False,
        )
        timings = {c.name: round(c.median_ms, 4) for c in tuned.candidates}
        chosen = min(candidates, key=lambda c: timings[c.form])  # as the report rounds
    report = QuantizeReport(
        linked=linked,
        form=(forms_used(chosen.lowered) or chosen.form) if linked else None,
        lowered=chosen.lowered,
        layout=chosen.layout,
        shared_ranges=chosen.shared,
        method=method,
        per_channel=per_channel,
        reduce_range=reduce,
        isa=isa,
        samples=reader.samples,
        batches=reader.batches,
        frozen_inputs=frozen,
        float_ops=_float_ops(chosen.model),
        tuning=timings,
        notes=notes,
        tuned_on=provider if timings else None,
        bias_correction=bias_correction,
        bias_corrected=chosen.bias_corrected,
    )
    kinds = {key.split(":")[0] for key in chosen.lowered}
    for name, kind in KINDS.items():
        if name not in kinds or not kind.int8_float_ops:
            continue
        kept = [op for op in kind.int8_float_ops if op in report.float_ops]
        report.notes.append(
            f"{kind.title}: "
            + (
                f"{' and '.join(kept)} stay float between DequantizeLinear and QuantizeLinear"
                if kept
                else kind.int8_note
            )
        )
    if provider == "openvino":
        report.notes.extend(openvino_notes(chosen.model))
    if reduce:
        report.notes.append("CPU without VNNI (AVX2): weights quantized to 7 bits (reduce_range)")
    out = chosen.model
    present = {prop.key for prop in out.metadata_props}
    for prop in model.metadata_props:  # the recorded preprocessing, source, version
        if prop.key not in present:
            out.metadata_props.add(key=prop.key, value=prop.value)
    _set_metadata(out, METADATA_KEY, report.metadata())
    _set_metadata(out, "linkedonnx.form", f"qdq-int8 ({report.form or 'stock'})")
    return out, report


def _float_ops(model: onnx.ModelProto) -> dict[str, int]:
    with tempfile.TemporaryDirectory(prefix="linkedonnx.quantize.") as tmp:
        return float_ops(model, Path(tmp))
