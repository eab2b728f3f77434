"""The linked-activation ONNX functions, read from the registry of kinds (no torch here).

``FUNCTIONS`` maps each kind of :data:`linkedonnx.kinds.KINDS` to its onnxscript
function; :func:`function_proto` gives the FunctionProto to attach to a model,
:func:`make_call` a node calling it.
"""

from __future__ import annotations

import onnx

from linkedonnx import DOMAIN
from linkedonnx.kinds import BODY_OPSET, DOMAIN_VERSION, KINDS

#: kind -> its onnxscript function.
FUNCTIONS = {name: k.function for name, k in KINDS.items()}

#: Function name (op_type in the linkedonnx domain) -> activation kind.
KIND_OF_OP = {k.op_type: name for name, k in KINDS.items()}


def function_proto(kind: str, opset: int | None = None) -> onnx.FunctionProto:
    """Return the FunctionProto for activation ``kind`` (for a model whose default-domain
    opset is ``opset``, when given: older opsets may get a body of older ops, same values
    and name, importing that opset). Raise KeyError for an unknown kind."""
    body, older = KINDS[kind].body_for(opset)
    if older:
        assert opset is not None
        proto = body.to_function_proto()
        proto.name = FUNCTIONS[kind].name
        for imported in proto.opset_import:
            if imported.domain in ("", "ai.onnx"):
                imported.version = opset  # its ops are older than the model's opset
        return proto
    return body.to_function_proto()


def op_type(kind: str) -> str:
    """Return the op_type (function name) of activation ``kind`` in the linkedonnx domain."""
    return FUNCTIONS[kind].name


def make_call(
    kind: str, inputs: list[str], output: str, axis: int, name: str | None = None
) -> onnx.NodeProto:
    """Return a NodeProto calling the linked function of ``kind`` with attribute ``axis``."""
    return onnx.helper.make_node(
        op_type(kind), inputs, [output], name=name, domain=DOMAIN, axis=axis
    )


def count_linked_nodes(model: onnx.ModelProto) -> dict[str, int]:
    """Count the main graph's nodes in the linkedonnx domain, per op_type (subgraphs and
    function bodies are not looked into): op_type -> count, empty when there are none."""
    counts: dict[str, int] = {}
    for node in model.graph.node:
        if node.domain == DOMAIN:
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def attach_functions(model: onnx.ModelProto) -> onnx.ModelProto:
    """Add (once each) the FunctionProtos that the model's linkedonnx nodes call, and the
    opset imports they need. Mutates and returns ``model``."""
    used = {n.op_type for n in _all_nodes(model.graph) if n.domain == DOMAIN}
    present = {(f.domain, f.name) for f in model.functions}
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    for op_name in sorted(used):
        if (DOMAIN, op_name) not in present and op_name in KIND_OF_OP:
            model.functions.append(function_proto(KIND_OF_OP[op_name], opset))
    imports = {o.domain: o for o in model.opset_import}
    if used and DOMAIN not in imports:
        model.opset_import.append(onnx.helper.make_opsetid(DOMAIN, DOMAIN_VERSION))
    return model


def _all_nodes(graph: onnx.GraphProto):
    """Yield every node of ``graph`` and its subgraphs."""
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _all_nodes(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from _all_nodes(g)


__all__ = [
    "BODY_OPSET",
    "DOMAIN_VERSION",
    "FUNCTIONS",
    "KIND_OF_OP",
    "attach_functions",
    "count_linked_nodes",
    "function_proto",
    "make_call",
    "op_type",
]
