"""Weights listed among the graph inputs (older exporters' keep_initializers_as_inputs):
find them, or move them out of the inputs so they are constants (no torch here)."""

from __future__ import annotations

import onnx


def initializer_inputs(model: onnx.ModelProto) -> list[str]:
    """Names of graph inputs that also have an initializer (overridable weights)."""
    initializers = {init.name for init in model.graph.initializer}
    return [value.name for value in model.graph.input if value.name in initializers]


def freeze_initializer_inputs(model: onnx.ModelProto) -> tuple[onnx.ModelProto, list[str]]:
    """Return a copy of ``model`` whose initializers are no longer graph inputs, and the
    names that were moved (empty when there were none)."""
    names = initializer_inputs(model)
    if not names:
        return model, []
    frozen = onnx.ModelProto()
    frozen.CopyFrom(model)
    moved = set(names)
    kept = [value for value in frozen.graph.input if value.name not in moved]
    del frozen.graph.input[:]
    frozen.graph.input.extend(kept)
    return frozen, names
