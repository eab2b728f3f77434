"""The ``convert`` pipeline: an ONNX model from any exporter -> linkedonnx function form.

Steps: shape inference (best effort, for the rules' broadcasting checks), then rounds of
branch fusion -> duplicate-node merging -> recognition until nothing changes, then
attaching the FunctionProtos, removing what became unused (nodes, initializers,
functions, opset imports) and a topological sort. Every step is output-preserving.

API: :func:`convert` (model or path -> (ModelProto, PipelineReport)),
:func:`convert_file` (file -> file, with an optional JSON report) and
:func:`convert_passes` (the pass list, reused by ``optimize``). No torch here.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import onnx
import onnx_ir as ir
from onnx_ir.passes import PassBase
from onnx_ir.passes.common import (
    CommonSubexpressionEliminationPass,
    RemoveUnusedFunctionsPass,
    RemoveUnusedNodesPass,
    RemoveUnusedOpsetsPass,
    ShapeInferencePass,
    TopologicalSortPass,
)

from linkedonnx.atomic import refuse_overwriting_input, write_text_atomic
from linkedonnx.functions import count_linked_nodes
from linkedonnx.onnx_io import (
    MIN_OPSET,
    check_full,
    file_if_large,
    load_model,
    needs_external_data,
    save_model,
)
from linkedonnx.passes.attach_functions import AttachFunctionsPass
from linkedonnx.passes.base import CountingPass, PipelineReport, run_pipeline
from linkedonnx.passes.freeze_inputs import FreezeInputsPass
from linkedonnx.passes.fuse_branches import FuseWeightSharedBranchesPass
from linkedonnx.passes.recognize_linked import RecognizeLinkedPass
from linkedonnx.report_json import report_text


class InferShapesPass(CountingPass):
    """onnx shape inference, best effort: a model it cannot infer is left unchanged
    (the rules then only accept zero scalars, never full-shape zero tensors)."""

    def run(self, model: ir.Model) -> bool:
        try:
            result = ShapeInferencePass()(model)
        except Exception:
            self.count("shape_inference_failed")
            return False
        return result.modified


class FuseAndRecognizePass(CountingPass):
    """Rounds of branch fusion, duplicate-node merging and recognition until a round
    changes nothing (at most ``max_rounds``). Counts are the sub-passes' counts summed,
    plus ``merged_duplicate_nodes`` for what CSE removed."""

    def __init__(self, max_rounds: int = 10) -> None:
        super().__init__()
        self.max_rounds = max_rounds

    def run(self, model: ir.Model) -> bool:
        fuse, cse, recognize = (
            FuseWeightSharedBranchesPass(),
            CommonSubexpressionEliminationPass(),
            RecognizeLinkedPass(),
        )
        changed = False
        for _ in range(self.max_rounds):
            round_changed = fuse(model).modified
            self.counts.update(fuse.counts)
            before = _node_count(model.graph)
            if cse(model).modified:
                merged = before - _node_count(model.graph)
                if merged > 0:
                    self.count("merged_duplicate_nodes", merged)
                    round_changed = True
            if recognize(model).modified:
                self.counts.update(recognize.counts)
                round_changed = True
            if not round_changed:
                break
            changed = True
        return changed


def _node_count(graph: ir.Graph) -> int:
    return sum(1 for _ in ir.traversal.RecursiveGraphIterator(graph))


def convert_passes(max_rounds: int = 10, freeze_inputs: bool = False) -> list[PassBase]:
    """The passes of the convert pipeline, in order (fresh instances); with
    ``freeze_inputs`` first :class:`FreezeInputsPass` (initializers out of the inputs)."""
    return [
        *([FreezeInputsPass()] if freeze_inputs else []),
        InferShapesPass(),
        FuseAndRecognizePass(max_rounds),
        AttachFunctionsPass(),
        RemoveUnusedNodesPass(),
        RemoveUnusedFunctionsPass(),
        RemoveUnusedOpsetsPass(),
        TopologicalSortPass(),
    ]


def rule_counts(report: PipelineReport) -> dict[str, int]:
    """Counts of every step of ``report`` merged into one mapping (rule/pass -> count)."""
    totals: Counter[str] = Counter()
    for step in report.steps:
        totals.update(step.counts)
    return {k: v for k, v in totals.items() if v}


def convert(
    model: onnx.ModelProto | str | os.PathLike[str],
    *,
    max_rounds: int = 10,
    freeze_inputs: bool = False,
) -> tuple[onnx.ModelProto, PipelineReport]:
    """Convert ``model`` (a ModelProto, left untouched, or a path) to function form.

    An initializer listed among the graph inputs is not constant for any rule; with
    ``freeze_inputs`` such initializers are first taken out of the inputs (reported).

    Returns (converted ModelProto, PipelineReport). Raises BadInputError for an
    unreadable or invalid file, or one older than ``MIN_OPSET``.
    """
    if not isinstance(model, onnx.ModelProto):
        model = load_model(model, min_opset=MIN_OPSET)
    ir_model = ir.serde.deserialize_model(model)  # a copy: the caller's proto is not changed
    ir_model, report = run_pipeline(ir_model, convert_passes(max_rounds, freeze_inputs), "convert")
    return ir.serde.serialize_model(ir_model), report


def report_dict(
    report: PipelineReport,
    model: onnx.ModelProto,
    source: str | os.PathLike[str] | None = None,
    output: str | os.PathLike[str] | None = None,
) -> dict:
    """The JSON report: the pipeline's steps, the merged rule counts and the linked nodes
    of the result (and the file names when given)."""
    data = report.to_dict()
    data["rules"] = rule_counts(report)
    data["linked_nodes"] = count_linked_nodes(model)
    if source is not None:
        data["input"] = str(source)
    if output is not None:
        data["output"] = str(output)
    return data


def convert_file(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    json_path: str | os.PathLike[str] | None = None,
    *,
    check_runtime: bool = True,
    freeze_inputs: bool = False,
    external_data: bool = False,
) -> tuple[onnx.ModelProto, PipelineReport]:
    """Convert the ONNX file ``source`` into ``output`` (written atomically), and write the
    JSON report to ``json_path`` when given (``freeze_inputs``: see :func:`convert`).

    Raises BadInputError (one line, nothing written) when an output path names the
    input, the input is not a loadable ONNX model (missing, not ONNX, truncated,
    external data missing, opset older than ``MIN_OPSET``) or, with
    ``check_runtime``, ONNX Runtime cannot load it; RuntimeError (a bug of ours) when the
    result fails ``onnx.checker``'s full check. The output gets external data with
    ``external_data`` or when it is too large for one protobuf (see
    :func:`linkedonnx.onnx_io.save_model`; the check then runs on the written file).
    Returns (model, report).
    """
    source, output = Path(source), Path(output)
    refuse_overwriting_input(output, source)
    if json_path is not None:
        refuse_overwriting_input(Path(json_path), source, output)
    model = load_model(source, min_opset=MIN_OPSET)
    if check_runtime:
        _check_runtime_loads(file_if_large(model, source))
    converted, report = convert(model, freeze_inputs=freeze_inputs)
    large = needs_external_data(converted)
    if not large:  # a failure is a bug of ours, not the user's input
        check_full(converted, "the converted model")
    save_model(converted, output, inputs=(source,), external_data=external_data, check=large)
    if json_path is not None:
        data = report_dict(report, converted, source, output)
        write_text_atomic(json_path, report_text(data))
    return converted, report


def _check_runtime_loads(model: onnx.ModelProto | Path) -> None:
    """Raise BadInputError when ONNX Runtime (CPU) cannot create a session for ``model``."""
    from linkedonnx.runtime.session import make_session

    make_session(model, "cpu", threads=1, optimization="disable")


__all__: Sequence[str] = [
    "AttachFunctionsPass",
    "FuseAndRecognizePass",
    "InferShapesPass",
    "convert",
    "convert_file",
    "convert_passes",
    "report_dict",
    "rule_counts",
]
