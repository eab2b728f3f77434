"""The ``optimize`` pipeline: linked function nodes -> the fastest plain-ONNX form for
a provider of :mod:`linkedonnx.runners.providers` (the ``target``; no torch here).

Steps: ``convert``'s recognition and fusion passes,
batch-norm folding, clean-up, lowering for the target (a provider with the "cpu"
lowering: each linked site's form chosen by timing on this machine with the provider's
runner, checked against each single form as whole models at batches 1 and 32, cached; ``tune=False`` or a forced ``form``: the machine-independent table;
"cuda": inline, not measured), inlining what is left, clean-up, and optionally float16.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, Unpack

import onnx
import onnx_ir as ir
from onnx_ir.passes import PassBase

from linkedonnx import DOMAIN
from linkedonnx.atomic import refuse_overwriting_input, write_text_atomic
from linkedonnx.errors import BadInputError, first_line
from linkedonnx.functions import count_linked_nodes
from linkedonnx.onnx_io import check_full, needs_external_data, save_model
from linkedonnx.onnx_read import read_model
from linkedonnx.passes.absorb_min_first import AbsorbMinFirstPass
from linkedonnx.passes.base import PipelineReport, StepReport, run_pipeline
from linkedonnx.passes.cleanup import CleanupPass
from linkedonnx.passes.convert import convert_passes
from linkedonnx.passes.float16 import Float16Pass
from linkedonnx.passes.fold_batchnorm import FoldBatchNormPass
from linkedonnx.passes.freeze_inputs import FreezeInputsPass
from linkedonnx.passes.lower_cpu import lower_for_cpu
from linkedonnx.passes.lower_cuda import lower_for_cuda
from linkedonnx.passes.lower_inline import InlineLinkedPass
from linkedonnx.passes.lower_linked import uniform_preference
from linkedonnx.passes.lowering import FORMS, is_linked
from linkedonnx.passes.site_search import DEFAULT_BATCH
from linkedonnx.report_json import report_text
from linkedonnx.runners.providers import PROVIDERS, get_provider, provider_names

if TYPE_CHECKING:
    from linkedonnx.passes.tuning import Timer

#: A provider name (:func:`~linkedonnx.runners.providers.provider_names`).
Target = str


class Options(TypedDict, total=False):
    """The options of :func:`optimize` that :func:`optimize_file` passes on."""

    target: Target
    fp16: bool
    keep_io_float32: bool
    tune: bool | None
    batch: int | None
    form: str | None
    freeze_inputs: bool


def measures(target: Target, tune: bool | None = None, form: str | None = None) -> bool:
    """Whether optimizing for ``target`` with these options times lowering forms: on a
    provider with the "cpu" lowering, with no forced ``form`` and ``tune`` not False
    (False for an unknown ``target``: :func:`check_options` names it)."""
    known = target in PROVIDERS and PROVIDERS[target].lowering == "cpu"
    return known and form is None and tune is not False


def prepare(
    model: onnx.ModelProto, convert: bool = True, freeze_inputs: bool = False
) -> tuple[ir.Model, PipelineReport]:
    """Steps before lowering: initializers out of the graph inputs (``freeze_inputs``),
    convert (optional), min-first min-max absorbed into the consumers, batch-norm
    folding, clean-up. Returns the IR model and the report."""
    passes: list[PassBase] = [
        *([FreezeInputsPass()] if freeze_inputs else []),
        *(convert_passes() if convert else []),
        AbsorbMinFirstPass(),
        FoldBatchNormPass(),
        CleanupPass(),
    ]
    return run_pipeline(ir.from_proto(model), passes, "optimize")


def lower(
    model: ir.Model,
    target: Target,
    preference: dict[str, Sequence[str]] | None = None,
    fp16: bool = False,
    keep_io_float32: bool = True,
    site_forms: dict[str, str] | None = None,
) -> tuple[ir.Model, PipelineReport]:
    """Lower, inline, clean up (and convert to float16) an IR model in place. A given
    ``preference`` (kind -> forms) overrides the target's default; ``site_forms`` (site
    id -> form) overrides both for the sites it names. The model's metadata
    ``linkedonnx.lowered_sites`` records site id -> form applied (JSON)."""
    if get_provider(target).lowering == "cuda":
        lowering = lower_for_cuda() if preference is None else lower_for_cpu(preference)
        lowering.name = "LowerForCuda"
    else:
        lowering = lower_for_cpu(preference)
    lowering.site_forms = dict(site_forms or {})
    passes: list[PassBase] = [lowering, InlineLinkedPass(), CleanupPass()]
    if fp16:
        passes.append(Float16Pass(keep_io_float32))
    lowered, report = run_pipeline(model, passes, "optimize")
    lowered.metadata_props["linkedonnx.lowered_sites"] = json.dumps(lowering.sites)
    return lowered, report


def lowered_candidates(
    model: onnx.ModelProto, forms: Sequence[str] = FORMS
) -> dict[str, onnx.ModelProto]:
    """The model (already prepared) lowered for the CPU with each of ``forms`` preferred,
    plus 'auto' (the machine-independent table, as --no-tune): name -> ModelProto."""
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
    tune: bool | None = None,
    batch: int | None = None,
    form: str | None = None,
    convert: bool = True,
    freeze_inputs: bool = False,
    timer: Timer | None = None,
    site_rule: Callable[[ir.Model], dict[str, str]] | None = None,
) -> tuple[onnx.ModelProto, PipelineReport]:
    """Optimize ``model`` (linked function nodes or flat spellings) for ``target``.

    For a provider with the "cpu" lowering (this machine's CPU: cpu, ...) each linked
    site's form is chosen by timing on the provider's runner at ``batch``, then that
    choice and each single form are timed as whole models at ``batch`` and the one with
    the smallest worst ratio to the best is kept (``batch`` None: sites searched at
    :data:`~linkedonnx.passes.site_search.DEFAULT_BATCH`, the geometric mean of 1 and
    32, and checked at batches 1 and 32): ``tune`` None within a 10 s time box, from the user cache when this model
    structure was measured on this CPU before; True with more runs, no time box and no
    cache lookup; False not at all (the machine-independent table
    :data:`~linkedonnx.passes.lower_cpu.CPU_PREFERENCE`). ``form`` forces one lowering
    form ('split', 'dw', 'stacked', 'inline'; either target) before the inline fallback;
    a CUDA target is lowered by its table, not measured; with a ``form`` (needed),
    ``site_rule`` (prepared model -> site id -> form) puts its forms first for the sites
    it names (:func:`linkedonnx.quantize.openvino_form.stacked_sites`). ``timer`` replaces the timing
    (tests). The metadata ``linkedonnx.form_choice`` records the choice. ``fp16`` converts
    to float16 (inputs and outputs stay float32 with ``keep_io_float32``). An
    initializer listed among the graph inputs is never baked in (the node that would
    need it is left as it is and named in the report) unless ``freeze_inputs`` first
    takes such initializers out of the inputs (reported too).
    Returns (ModelProto, PipelineReport). Raises BadInputError for a bad option or an
    option that would be ignored (float16 inputs/outputs without ``fp16``, ``tune`` with
    a CUDA target or with a forced ``form``, ``batch`` when nothing is measured,
    ``site_rule`` without ``form``).
    """
    check_options(target, fp16, keep_io_float32, tune, batch, form)
    if site_rule is not None and form is None:
        raise BadInputError("a per-site rule needs a form for the other sites")
    prepared, report = prepare(model, convert, freeze_inputs)
    preference: dict[str, Sequence[str]] | None = None
    site_forms: dict[str, str] | None = None
    if form is not None:
        preference = uniform_preference(form)
        choice = {"choice": f"form {form}", "measured": False}
        if site_rule is not None:
            site_forms = site_rule(prepared)
            choice["site_forms"] = len(site_forms)
    elif get_provider(target).lowering != "cpu":
        choice = {"choice": "table", "measured": False}
        note = f"not measured: target {target} is not this machine's CPU (table used)"
        report.steps.append(StepReport("ChooseForms", False, {note: 1}))
    elif tune is False:
        choice = {"choice": "table", "measured": False}
        report.steps.append(StepReport("ChooseForms", False, {"not measured: --no-tune": 1}))
    elif not any(is_linked(node) for node in prepared.graph):
        choice = {"choice": "nothing linked", "measured": False}
    else:
        try:
            site_forms, choice, step = _measure(prepared, batch, bool(tune), timer, target)
        except BadInputError as exc:  # inputs that cannot be synthesized (strings, ...)
            choice = {"choice": "table", "measured": False}
            note = f"not measured: {first_line(str(exc), 'the model cannot be timed')} (table used)"
            step = StepReport("ChooseForms", False, {note: 1})
        report.steps.append(step)
    lowered, lower_report = lower(prepared, target, preference, fp16, keep_io_float32, site_forms)
    report.steps.extend(lower_report.steps)
    record_lowering(lowered, target, lower_report)
    lowered.metadata_props["linkedonnx.form_choice"] = json.dumps(choice)
    return _keep_output_types(ir.to_proto(lowered), model, fp16 and not keep_io_float32), report


def check_options(
    target: str,
    fp16: bool = False,
    keep_io_float32: bool = True,
    tune: bool | None = None,
    batch: int | None = None,
    form: str | None = None,
) -> None:
    """Raise BadInputError for a bad :func:`optimize` option or one that would be ignored."""
    if target not in PROVIDERS:
        raise BadInputError(
            f"unknown target {target!r}; expected one of {', '.join(provider_names())}"
        )
    if not keep_io_float32 and not fp16:
        raise BadInputError(
            "--fp16-io makes the inputs/outputs of a --fp16 model float16; add --fp16"
        )
    if tune and get_provider(target).lowering != "cpu":
        raise BadInputError(
            f"--tune times lowering forms on the CPU; --provider {target} inlines them"
        )
    if tune and form is not None:
        raise BadInputError(f"--form {form} forces one lowering form; --tune would choose one")
    if form is not None and form not in FORMS:
        raise BadInputError(f"unknown form {form!r}; expected one of {', '.join(FORMS)}")
    if batch is not None and batch < 1:
        raise BadInputError(f"batch must be at least 1, got {batch}")
    if batch is not None and not measures(target, tune, form):
        why = f"--form {form}" if form else "--no-tune" if tune is False else f"--provider {target}"
        raise BadInputError(f"--batch names the batch forms are timed at; {why} times nothing")


def _measure(
    prepared: ir.Model, batch: int | None, thorough: bool, timer: Timer | None, provider: str
) -> tuple[dict[str, str], dict, StepReport]:
    """The measured choice of every linked site's form (see site_search), timed on
    ``provider``'s runner: searched at ``batch`` and checked as a whole model there (None:
    searched at DEFAULT_BATCH, checked at batches 1 and 32). Returns the site forms, the
    ``linkedonnx.form_choice`` record and the report step."""
    import time

    from linkedonnx.passes.form_check import CHECK_BATCHES
    from linkedonnx.passes.site_search import choose_site_forms

    start = time.perf_counter()
    proto = ir.to_proto(prepared)

    def lower_sites(site_forms: dict[str, str]) -> tuple[onnx.ModelProto, dict[str, str]]:
        lowered, _ = lower(ir.from_proto(proto), "cpu", site_forms=site_forms)
        return ir.to_proto(lowered), json.loads(lowered.metadata_props["linkedonnx.lowered_sites"])

    found = choose_site_forms(
        proto,
        lower_sites,
        batch or DEFAULT_BATCH,
        check_at=CHECK_BATCHES if batch is None else (batch,),
        thorough=thorough,
        timer=timer,
        provider=provider,
    )
    step = StepReport("ChooseForms", False, found.counts(), time.perf_counter() - start)
    return found.site_forms, {**found.metadata(), "measured": True, "provider": provider}, step


def record_lowering(model: ir.Model, target: str, report: PipelineReport) -> None:
    """Record in ``model``'s metadata what lowering made of it: ``linkedonnx.form`` =
    ``lowered`` (no longer ``functions``), ``linkedonnx.lowered_forms`` = JSON
    ``{"<kind>:<form>": nodes}`` from the lowering step of ``report`` and
    ``linkedonnx.target`` = ``target``."""
    forms: dict[str, int] = {}
    for step in report.steps:
        if step.name.startswith("LowerFor"):
            forms.update({k: v for k, v in step.counts.items() if not k.startswith("skipped")})
    model.metadata_props["linkedonnx.form"] = "lowered"
    model.metadata_props["linkedonnx.lowered_forms"] = json.dumps(dict(sorted(forms.items())))
    model.metadata_props["linkedonnx.target"] = target


def _keep_output_types(
    out: onnx.ModelProto, original: onnx.ModelProto, changed_dtype: bool
) -> onnx.ModelProto:
    """Give graph outputs that lost their type (merged duplicates) the original's type."""
    before = {o.name: o for o in original.graph.output}
    for value in out.graph.output:
        if not value.type.HasField("tensor_type") and value.name in before:
            value.type.CopyFrom(before[value.name].type)
            if changed_dtype:
                value.type.tensor_type.elem_type = onnx.TensorProto.FLOAT16
    return out


def op_counts(model: onnx.ModelProto) -> dict[str, int]:
    """Nodes of the main graph by op_type."""
    counts: dict[str, int] = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items()))


def optimize_file(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    json_path: str | os.PathLike[str] | None = None,
    *,
    external_data: bool = False,
    **options: Unpack[Options],
) -> tuple[onnx.ModelProto, PipelineReport]:
    """Optimize the ONNX file ``source`` into ``output`` (atomic) and write the JSON
    report to ``json_path`` when given (``options``: those of :func:`optimize`).

    Raises BadInputError (one line, nothing written, input untouched) when an output path
    names the input, the input is not a loadable ONNX model (missing, not ONNX,
    truncated, external data missing, fails the ONNX checker, ONNX Runtime cannot load
    it; see :func:`linkedonnx.onnx_read.read_model`), or an option is bad; where the
    read step stops the passes (an opset upgrade that fails or changes the outputs) the
    file is written unchanged; RuntimeError (a bug of ours) when the result
    fails the ONNX checker, keeps a linkedonnx node or ONNX Runtime cannot load it.
    The output gets external data with ``external_data`` or when it is too large for one
    protobuf (see :func:`linkedonnx.onnx_io.save_model`); a large model is then checked
    and loaded from the written file. Returns (model, report).
    """
    from linkedonnx.runtime.session import make_session

    source, output = Path(source), Path(output)
    refuse_overwriting_input(output, source)
    if json_path is not None:
        refuse_overwriting_input(Path(json_path), source, output)
    checked = {k: v for k, v in options.items() if k != "freeze_inputs"}  # always valid
    check_options(str(checked.pop("target", "cpu")), **checked)  # type: ignore[arg-type]
    read = read_model(source)
    if read.stopped is not None:
        optimized, report = read.given, PipelineReport("optimize")
    else:
        optimized, report = optimize(read.model, **options)
    report.steps.insert(0, read.step())
    large = needs_external_data(optimized)
    verify(optimized, in_memory=not large)

    def loads(written: Path) -> None:  # a large model is loaded from its written file
        try:
            make_session(written, "cpu", threads=1)
        except BadInputError as exc:
            raise RuntimeError(f"the optimized model does not load: {exc}") from exc

    save_model(optimized, output, inputs=(source,), external_data=external_data, check=large,
               check_written=loads if large else None)  # fmt: skip
    if json_path is not None:
        data = {
            "input": str(source),
            "output": str(output),
            "target": options.get("target", "cpu"),
            "fp16": options.get("fp16", False),
            "ops_before": op_counts(read.given),
            "ops_after": op_counts(optimized),
            **report.to_dict(),
        }
        write_text_atomic(json_path, report_text(data))
    return optimized, report


def verify(model: onnx.ModelProto, in_memory: bool = True) -> None:
    """Raise RuntimeError unless ``model`` passes the full ONNX check, has no linkedonnx
    node or function left, and loads in a plain ONNX Runtime CPU session. With
    ``in_memory`` False (a model too large to serialize) only the node check runs here:
    the caller checks and loads the written file."""
    from linkedonnx.runtime.session import make_session

    if in_memory:
        check_full(model, "the optimized model")
    if count_linked_nodes(model) or any(f.domain == DOMAIN for f in model.functions):
        raise RuntimeError("the optimized model still holds linkedonnx nodes")
    if not in_memory:
        return
    try:
        make_session(model, "cpu", threads=1)
    except BadInputError as exc:
        raise RuntimeError(f"the optimized model does not load: {exc}") from exc
