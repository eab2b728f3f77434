"""Attach the FunctionProtos that a model's ``linkedonnx`` calls need, in onnx_ir form,
with their body opset aligned to the model's default opset (no torch here)."""

from __future__ import annotations

import functools

import onnx
import onnx_ir as ir

from linkedonnx import DOMAIN
from linkedonnx.functions import BODY_OPSET, DOMAIN_VERSION, KIND_OF_OP, function_proto
from linkedonnx.passes.base import CountingPass

#: Oldest IR version that allows model-local functions.
MIN_IR_VERSION_FOR_FUNCTIONS = 8


@functools.cache
def usable_at(kind: str, opset: int) -> bool:
    """True when every op in the body of the function of ``kind`` exists, unchanged in
    meaning for float tensors, at default-domain ``opset`` (LinkedReluMinMax's CastLike
    arrived in opset 15; older opsets get its body of older ops)."""
    if opset < 1:
        return False
    for node in function_proto(kind, opset).node:
        if node.domain not in ("", "ai.onnx"):
            return False
        try:
            onnx.defs.get_schema(node.op_type, opset, "")
        except onnx.defs.SchemaError:
            return False
    return True


def model_opset(model: ir.Model) -> int:
    """The model's default-domain opset version (0 when none is imported)."""
    return int(model.opset_imports.get("", model.opset_imports.get("ai.onnx", 0)))


def _called_ops(graph: ir.Graph | ir.Function) -> set[str]:
    ops: set[str] = set()
    for node in ir.traversal.RecursiveGraphIterator(graph):
        if node.domain == DOMAIN:
            ops.add(node.op_type)
    return ops


class AttachFunctionsPass(CountingPass):
    """Add the linked FunctionProtos the graph calls (once each), import the linkedonnx
    domain, make each attached body import the model's default opset (when its ops exist
    there) and raise the IR version to one that allows functions.

    Counts ``attached:<FunctionName>``.
    """

    def run(self, model: ir.Model) -> bool:
        used = sorted(op for op in _called_ops(model.graph) if op in KIND_OF_OP)
        if not used:
            return False
        changed = False
        opset = model_opset(model) or BODY_OPSET
        for op in used:
            key = (DOMAIN, op, "")
            if key not in model.functions:
                proto = function_proto(KIND_OF_OP[op], opset)
                function = ir.serde.deserialize_function(proto)
                model.functions[function.identifier()] = function
                self.count(f"attached:{op}")
                changed = True
            function = model.functions[key]
            if function.opset_imports.get("") != opset and usable_at(KIND_OF_OP[op], opset):
                function.opset_imports[""] = opset
                changed = True
        if model.opset_imports.get(DOMAIN) != DOMAIN_VERSION:
            model.opset_imports[DOMAIN] = DOMAIN_VERSION
            changed = True
        if model.ir_version < MIN_IR_VERSION_FOR_FUNCTIONS:
            model.ir_version = MIN_IR_VERSION_FOR_FUNCTIONS
            changed = True
        return changed
