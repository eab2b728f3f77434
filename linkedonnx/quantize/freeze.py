"""Weights listed among the graph inputs (older exporters' keep_initializers_as_inputs),
as quantize sees them: their names, or a copy of the model with them frozen. The moving
itself is the passes' :class:`~linkedonnx.passes.freeze_inputs.FreezeInputsPass`, so
convert, optimize and quantize freeze alike (no torch here)."""

from __future__ import annotations

import onnx
import onnx_ir as ir

from linkedonnx.passes.freeze_inputs import FreezeInputsPass
from linkedonnx.runtime.inputs import signature


def initializer_inputs(model: onnx.ModelProto) -> list[str]:
    """Names of graph inputs that also have an initializer (overridable weights)."""
    return [sig.name for sig in signature(model) if sig.overridable]


def freeze_initializer_inputs(model: onnx.ModelProto) -> tuple[onnx.ModelProto, list[str]]:
    """Return a copy of ``model`` whose initializers are no longer graph inputs, and the
    names that were moved (``model`` itself and [] when there were none)."""
    names = initializer_inputs(model)
    if not names:
        return model, []
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    ir_model = ir.serde.deserialize_model(copy)
    FreezeInputsPass()(ir_model)
    return ir.serde.serialize_model(ir_model), names
