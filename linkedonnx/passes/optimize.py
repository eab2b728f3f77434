"""The ``optimize`` pipeline: linked function nodes -> the fastest plain-ONNX form for
an ONNX Runtime execution provider (no torch here).

Steps: ``convert``'s recognition and fusion passes (when that module is present),
clean-up, batch-norm folding, lowering for the target (CPU: measured forms, or the
fastest by timing with ``tune``; CUDA: inline), inlining what is left, clean-up, and
optionally float16.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Literal

import onnx
import onnx_ir as ir
from onnx_ir.passes import PassBase

from linkedonnx.errors import BadInputError
from linkedonnx.passes.base import PipelineReport, StepReport, run_pipeline
from linkedonnx.passes.cleanup import CleanupPass
from linkedonnx.passes.float16 import Float16Pass
from linkedonnx.passes.fold_batchnorm import FoldBatchNormPass
from linkedonnx.passes.lower_cpu import CPU_PREFERENCE, lower_for_cpu
from linkedonnx.passes.lower_cuda import lower_for_cuda
from linkedonnx.passes.lower_forms import FORMS
from linkedonnx.passes.lower_inline import InlineLinkedPass
from linkedonnx.passes.lower_linked import uniform_preference

Target = Literal["cpu", "cuda"]
TARGETS = ("cpu", "cuda")


def convert_passes() -> list[PassBase]:
    """The recognition and fusion passes of ``linkedonnx.passes.convert`` (empty when that
    module is not installed)."""
    try:
        convert = importlib.import_module("linkedonnx.passes.convert")
    except ModuleNotFoundError:
        return []
    factory = getattr(convert, "convert_passes", None)
    return list(factory()) if callable(factory) else []


def prepare(model: onnx.ModelProto, convert: bool = True) -> tuple[ir.Model, PipelineReport]:
    """Steps before lowering: convert (optional), clean-up, batch-norm folding.
    Returns the IR model and the report."""
    passes = [*(convert_passes() if convert else []), CleanupPass(), FoldBatchNormPass()]
    return run_pipeline(ir.from_proto(model), passes, "optimize")


def lower(
    model: ir.Model,
    target: Target,
    preference: dict[str, Sequence[str]] | None = None,
    fp16: bool = False,
    keep_io_float32: bool = True,
) -> tuple[ir.Model, PipelineReport]:
    """Lower, inline, clean up (and convert to float16) an IR model in place."""
    lowering = lower_for_cuda() if target == "cuda" else lower_for_cpu(preference)
    passes: list[PassBase] = [lowering, InlineLinkedPass(), CleanupPass()]
    if fp16:
        passes.append(Float16Pass(keep_io_float32))
    return run_pipeline(model, passes, "optimize")


def lowered_candidates(
    model: onnx.ModelProto, forms: Sequence[str] = FORMS
) -> dict[str, onnx.ModelProto]:
    """The model (already prepared) lowered for the CPU with each of ``forms`` preferred,
    plus 'auto' (the measured default): name -> ModelProto."""
    out = {}
    for form in ("auto", *forms):
        pref = None if form == "auto" else uniform_preference(form)
        m, _ = lower(ir.from_proto(model), "cpu", pref)
        out[form] = ir.to_proto(m)
    return out


def optimize(
    model: onnx.ModelProto,
    target: Target = "cpu",
    fp16: bool = False,
    keep_io_float32: bool = True,
    tune: bool = False,
    batch: int | None = None,
    form: str | None = None,
    convert: bool = True,
) -> tuple[onnx.ModelProto, PipelineReport]:
    """Optimize ``model`` (linked function nodes or flat spellings) for ``target``.

    ``form`` forces one lowering form ('split', 'dw', 'stacked', 'inline') before the
    inline fallback; ``tune`` times every candidate form on the CPU at ``batch`` (default
    1) and keeps the fastest whose outputs match the inline lowering. ``fp16`` converts
    to float16 (inputs and outputs stay float32 with ``keep_io_float32``).
    Returns (ModelProto, PipelineReport). Raises BadInputError for a bad option.
    """
    if target not in TARGETS:
        raise BadInputError(f"unknown target {target!r}; expected one of {TARGETS}")
    if form is not None and form not in FORMS:
        raise BadInputError(f"unknown form {form!r}; expected one of {FORMS}")
    if batch is not None and batch < 1:
        raise BadInputError(f"batch must be at least 1, got {batch}")
    prepared, report = prepare(model, convert)
    preference: dict[str, Sequence[str]] | None = None
    if form is not None:
        preference = uniform_preference(form)
    elif tune and target == "cpu":
        from linkedonnx.passes.tuning import choose

        candidates = lowered_candidates(ir.to_proto(prepared))
        tuning = choose(candidates, reference="inline", batch=batch or 1)
        chosen = tuning.chosen
        preference = CPU_PREFERENCE if chosen == "auto" else uniform_preference(chosen)
        counts = {f"{c.name} ms": round(c.median_ms, 3) for c in tuning.candidates}
        report.steps.append(StepReport("Tune", False, {f"chose {chosen}": 1, **counts}))
    lowered, lower_report = lower(prepared, target, preference, fp16, keep_io_float32)
    report.steps.extend(lower_report.steps)
    return ir.to_proto(lowered), report
