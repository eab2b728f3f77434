"""Graph edits the lowering forms share (no torch here): the activation halves as
standard ops, and a linear consumer rewritten over two inputs."""

from __future__ import annotations

import json

import numpy as np
import onnx_ir as ir

from linkedonnx.kinds import KINDS
from linkedonnx.kinds.spelling import Op, X, postorder
from linkedonnx.passes.ir_helpers import SCOPE_KEY, Z_KEY, Namer, initializer, new_node
from linkedonnx.passes.lowering.site import LinearUse, LinkedSite


def record_z(site: LinkedSite, channels: tuple[int, int] | None = None) -> None:
    """Record where the site's input z lives once its linked node is lowered: ``Z_KEY``
    metadata on the node whose output[0] holds z (the whole output, or ``channels`` of it
    on axis 1), naming the linked node's module path. Nothing when z has no producer."""
    producer = site.z.producer()
    if producer is None or producer.outputs[0] is not site.z:
        return
    where = {
        "scope": site.node.metadata_props.get(SCOPE_KEY),
        "channels": list(channels) if channels is not None else None,
    }
    producer.metadata_props[Z_KEY] = json.dumps(where)


def relu_of(namer: Namer, site: LinkedSite, x: ir.Value) -> ir.Node:
    """A new Relu of ``x`` typed like the site's Z (not inserted)."""
    node = new_node(namer, "Relu", [x], base=site.node.name or "lk", source=site.node)
    node.outputs[0].type, node.outputs[0].shape = site.z.type, site.z.shape
    return node


def activation_of(
    graph: ir.Graph,
    namer: Namer,
    site: LinkedSite,
    x: ir.Value,
    inputs: dict[str, ir.Value] | None = None,
) -> list[ir.Node]:
    """New nodes computing the site kind's elementwise activation
    (``lowering.elementwise``) of ``x``, in order, the last one's output the result, each
    typed like the site's Z (not inserted). ``inputs`` gives the tree's other named
    inputs (a PReLU's slope); its float constants become initializers of Z's dtype."""
    tree = KINDS[site.kind].lowering.elementwise
    base = site.node.name or "lk"
    dtype = site.z.dtype.numpy() if site.z.dtype is not None else np.float32
    values: dict[int, ir.Value] = {}
    named = {X: x, **(inputs or {})}
    nodes: list[ir.Node] = []

    def value_of(item: Op | str | float) -> ir.Value:
        if isinstance(item, Op):
            return values[id(item)]
        if isinstance(item, str):
            return named[item]
        return initializer(graph, namer, np.array([item], dtype=dtype), f"{base}_const")

    for op in postorder(tree):
        node = new_node(
            namer,
            op.op_type,
            [value_of(i) for i in op.inputs],
            dict(op.attributes) or None,
            base=base,
            source=site.node,
        )
        node.outputs[0].type, node.outputs[0].shape = site.z.type, site.z.shape
        values[id(op)] = node.outputs[0]
        nodes.append(node)
    return nodes


def rewrite_linear_use(
    graph: ir.Graph,
    namer: Namer,
    use: LinearUse,
    first: ir.Value,
    second: ir.Value,
    w_first: np.ndarray,
    w_second: np.ndarray,
) -> None:
    """Replace consumer ``use.node`` (reading Y) by op(first, w_first) + op(second, w_second);
    the bias and attributes stay on the first op."""
    node = use.node
    base = node.name or "consumer"
    dtype = use.weight.dtype
    if use.flatten is not None:  # back to the consumer's 2-D layout; flatten each half
        rows = use.weight.shape[0] if use.in_axis == 1 else -1
        cols = -1 if use.in_axis == 1 else use.weight.shape[-1]
        w_first, w_second = w_first.reshape(rows, cols), w_second.reshape(rows, cols)
        flats = []
        extra = list(use.flatten.inputs[1:])
        if use.half_shape is not None:
            extra = [initializer(graph, namer, use.half_shape, f"{base}_half_shape")]
        flat_base = use.flatten.name or "flatten"
        for half in (first, second):
            flat = new_node(
                namer,
                use.flatten.op_type,
                [half, *extra],
                dict(use.flatten.attributes.items()),
                name=f"{flat_base}_half",
                output=f"{flat_base}_half_out",
                source=use.flatten,
            )
            flats.append(flat)
        graph.insert_before(node, flats)
        first, second = flats[0].outputs[0], flats[1].outputs[0]
    w1 = initializer(graph, namer, w_first.astype(dtype), f"{base}_w_pos")
    w2 = initializer(graph, namer, w_second.astype(dtype), f"{base}_w_neg")
    attrs = {name: attr for name, attr in node.attributes.items()}
    rest = list(node.inputs[2:])
    second_attrs = dict(attrs)
    if node.op_type == "Gemm":
        second_attrs.pop("beta", None)
    a = new_node(
        namer,
        node.op_type,
        [first, w1, *rest],
        attrs,
        name=f"{base}_pos",
        output=f"{base}_pos_out",
        source=node,
    )
    b = new_node(
        namer,
        node.op_type,
        [second, w2],
        second_attrs,
        name=f"{base}_neg",
        output=f"{base}_neg_out",
        source=node,
    )
    add = new_node(
        namer, "Add", [b.outputs[0], a.outputs[0]], name=f"{base}_sum", output=None, source=node
    )
    out = node.outputs[0]
    name = out.name
    add.outputs[0].type, add.outputs[0].shape = out.type, out.shape
    graph.insert_before(node, [a, b, add])
    out.replace_all_uses_with(add.outputs[0], replace_graph_outputs=True)
    graph.remove(node, safe=True)
    if use.flatten is not None:
        graph.remove(use.flatten, safe=True)
    add.outputs[0].name = name
