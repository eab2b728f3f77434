"""Inline the linkedonnx functions of a model: standard ONNX ops only. ONNX side (no
torch): the exporter's --inline and the export benchmark use it through
:mod:`linkedonnx.export`, and anything torch-free can import it from here."""

from __future__ import annotations

import onnx
import onnx.inliner

from linkedonnx import DOMAIN


def inline_linked_functions(model: onnx.ModelProto) -> onnx.ModelProto:
    """Return a copy of ``model`` with every call of a linkedonnx function replaced by its
    body, the linkedonnx FunctionProtos removed, and the linkedonnx opset import dropped
    when nothing uses it any more. Other model-local functions are kept.

    The function bodies must import the model's default opset (see
    ``linkedonnx.passes.attach_functions.AttachFunctionsPass``), or onnx's inliner leaves the calls in place; a
    ValueError says so.
    """
    ids = [(f.domain, f.name) for f in model.functions if f.domain == DOMAIN]
    if ids:
        inlined = onnx.inliner.inline_selected_functions(model, ids)
    else:
        inlined = onnx.ModelProto()
        inlined.CopyFrom(model)
    left = [f for f in inlined.functions if f.domain != DOMAIN]
    del inlined.functions[:]
    inlined.functions.extend(left)
    if _domain_used(inlined, DOMAIN):
        raise ValueError("linkedonnx calls remain after inlining (function opset mismatch?)")
    kept = [o for o in inlined.opset_import if o.domain != DOMAIN]
    del inlined.opset_import[:]
    inlined.opset_import.extend(kept)
    return inlined


def _domain_used(model: onnx.ModelProto, domain: str) -> bool:
    """True when a node of the main graph or of a kept function is in ``domain``."""
    nodes = [*model.graph.node, *(n for f in model.functions for n in f.node)]
    return any(node.domain == domain for node in nodes)
