"""The standard-op forms a linked function node can be lowered to (no torch here).

A linked node ``Y = Linked*(Z, axis)`` computes ``Y = concat([h1(Z), h2(Z)], axis)``.
Each form rewrites one node (and, for some forms, its producer or consumers) into
plain ONNX ops, exact up to float32 rounding (split and dw reorder the consumer's sums):

- ``inline``: the function body (Relu, Neg, Relu, Concat...). Always applies; done by
  :class:`linkedonnx.passes.lower_inline.InlineLinkedPass` at the end of a pipeline.
- ``stacked``: the producer Conv/Gemm of ``Z`` gets weights ``[W; -W]`` and bias
  ``[b; -b]`` so one layer emits ``[Z; -Z]``; the activation is then applied
  elementwise (Relu, Selu, x*Sigmoid(x), PRelu with stacked slopes): no Concat, no Neg.
- ``split``: no Concat: every consumer (Conv, Gemm, MatMul, or a Flatten feeding a
  Gemm/MatMul: all linear in ``Y``) is rewritten over the halves. For the piecewise-linear kinds (relu, relu-minmax,
  prelu) ``h1, h2`` are per-channel combinations of ``r+ = relu(Z)`` and
  ``r- = relu(-Z) = r+ - Z``, so ``W·Y = (P+Q)·r+ - Q·Z`` : two convs, one Relu,
  no negation op (ORT fuses the Add into the second conv).
- ``dw``: ``-Z`` as a depthwise 1x1 conv with weight -1 (stays in ORT's NCHWc layout),
  then ``r+, r- = Relu(Z), Relu(-Z)`` (or for Swish ``Z*Sigmoid(Z)`` and the same of
  ``-Z``); consumers split as ``P·r+ + Q·r-`` (Swish: ``Wa·h1 + Wb·h2``) or, when they
  are not all linear, ``Concat(h1, h2)`` (mirror ReLU and Swish only).

Each ``apply_*`` function returns ``None`` when it rewrote the node, or a one-line
reason why the form does not apply (the node is left untouched).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnx_ir as ir

from linkedonnx import DOMAIN
from linkedonnx.functions import KIND_OF_OP

#: Every form, in the order they are tried when no preference is given.
FORMS = ("split", "dw", "stacked", "inline")
LINEAR_KINDS = ("relu", "relu-minmax", "prelu")


def is_linked(node: ir.Node) -> bool:
    """Whether ``node`` calls one of the linkedonnx functions."""
    return node.domain == DOMAIN and node.op_type in KIND_OF_OP


def linked_kind(node: ir.Node) -> str:
    """Return the activation kind ('relu', 'prelu', ...) of a linked node."""
    return KIND_OF_OP[node.op_type]


def const_array(value: ir.Value | None) -> np.ndarray | None:
    """Return the constant value of ``value`` (initializer or Constant output) or None."""
    if value is None:
        return None
    tensor = value.const_value
    if tensor is None:
        tensor = ir.convenience.get_const_tensor(value)
    return None if tensor is None else np.asarray(tensor.numpy())


def _attr_int(node: ir.Node, name: str, default: int) -> int:
    attr = node.attributes.get(name)
    return default if attr is None else int(attr.as_int())


def _attr_float(node: ir.Node, name: str, default: float) -> float:
    attr = node.attributes.get(name)
    return default if attr is None else float(attr.as_float())


class Namer:
    """Unique value names for new initializers and values in one graph."""

    def __init__(self, graph: ir.Graph) -> None:
        self.used: set[str] = {v.name for v in graph.initializers.values() if v.name}
        self.used |= {v.name for v in graph.inputs if v.name}
        for node in graph:
            self.used |= {v.name for v in node.outputs if v.name}

    def __call__(self, base: str) -> str:
        """Return ``base`` or ``base_N``, never a name already used."""
        name, i = base, 0
        while name in self.used:
            i += 1
            name = f"{base}_{i}"
        self.used.add(name)
        return name


def _initializer(graph: ir.Graph, namer: Namer, array: np.ndarray, base: str) -> ir.Value:
    value = ir.Value(name=namer(base), const_value=ir.tensor(np.ascontiguousarray(array)))
    value.type = ir.TensorType(ir.DataType.from_numpy(array.dtype))
    value.shape = ir.Shape(array.shape)
    graph.register_initializer(value)
    return value


def _new_node(
    graph: ir.Graph,
    namer: Namer,
    op_type: str,
    inputs: list[ir.Value | None],
    attributes: dict | None = None,
    base: str = "lk",
) -> ir.Node:
    node = ir.node(op_type, inputs, attributes or {}, name=namer(f"{base}_{op_type}"))
    node.outputs[0].name = namer(f"{base}_{op_type.lower()}")
    return node


@dataclass
class LinkedSite:
    """A linked node and what the forms need to know about it."""

    node: ir.Node
    kind: str
    axis: int
    z: ir.Value
    y: ir.Value
    slopes: tuple[np.ndarray, np.ndarray] | None  # prelu: per-channel (a, b), or None


def site_of(node: ir.Node) -> LinkedSite:
    """Describe a linked node: kind, axis, input Z, output Y, prelu slopes if constant."""
    kind = linked_kind(node)
    slopes = None
    if kind == "prelu":
        a, b = const_array(node.inputs[1]), const_array(node.inputs[2])
        if a is not None and b is not None:
            slopes = (a, b)
    return LinkedSite(
        node, kind, _attr_int(node, "axis", 1), node.inputs[0], node.outputs[0], slopes
    )


def _channel_vector(slope: np.ndarray, channels: int, axis: int, rank: int) -> np.ndarray | None:
    """Return the slope as a [channels] vector when it varies only along ``axis`` of a
    rank-``rank`` tensor (broadcasting right-aligned), else None."""
    if slope.size == 1:
        return np.full(channels, slope.reshape(()), dtype=slope.dtype)
    if slope.ndim > rank:
        return None
    shape = (1,) * (rank - slope.ndim) + tuple(slope.shape)
    axis = axis % rank
    if shape[axis] != channels or any(d != 1 for i, d in enumerate(shape) if i != axis):
        return None
    return slope.reshape(channels)


def _prelu_slopes(
    site: LinkedSite, channels: int, rank: int
) -> tuple[np.ndarray, np.ndarray] | str:
    """The two per-channel slope vectors of a linked PReLU site, or why there are none."""
    if site.slopes is None:
        return "prelu slopes are not constant"
    a = _channel_vector(site.slopes[0], channels, site.axis, rank)
    b = _channel_vector(site.slopes[1], channels, site.axis, rank)
    if a is None or b is None:
        return "prelu slopes are not per-channel along the linked axis"
    return a, b


def _half_coefficients(
    site: LinkedSite, channels: int, rank: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | str:
    """Per-channel (alpha1, beta1, alpha2, beta2) with h_i = alpha_i*r+ + beta_i*r-."""
    one, zero = np.ones(channels, np.float64), np.zeros(channels, np.float64)
    if site.kind == "relu":
        return one, zero, zero, one
    if site.kind == "relu-minmax":
        return one, zero, zero, -one
    if site.kind == "prelu":
        found = _prelu_slopes(site, channels, rank)
        if isinstance(found, str):
            return found
        a, b = (v.astype(np.float64) for v in found)
        # PRelu(x, s) = relu(x) - s*relu(-x)
        return one, -a, -b, one
    return f"{site.kind} is not piecewise linear"


@dataclass
class LinearUse:
    """A consumer of Y that is linear in Y along the linked axis."""

    node: ir.Node
    weight: np.ndarray  # the consumer's weight (2-D weights after a Flatten: [M, 2C, S])
    in_axis: int  # axis of ``weight`` indexing the input (channel) dimension
    rank: int  # rank of Y
    flatten: ir.Node | None = None  # a Flatten/Reshape between Y and a Gemm/MatMul
    half_shape: np.ndarray | None = None  # the Reshape target of one half, when it changes


def _flattened_use(site: LinkedSite, node: ir.Node) -> LinearUse | str:
    """Y -> Flatten(axis 1) or Reshape([0 or N, -1] or [-1, K]) -> one Gemm/MatMul with a
    constant weight: a linear use whose weight is viewed as [.., 2C, S, ..] around the
    channels."""
    shape = None
    if node.op_type == "Flatten":
        if _attr_int(node, "axis", 1) != 1:
            return "consumer Flatten does not flatten from axis 1"
    else:
        shape = const_array(node.inputs[1]) if len(node.inputs) > 1 else None
        if (
            shape is None
            or shape.shape != (2,)
            or not (
                (int(shape[1]) == -1 and int(shape[0]) >= 0)
                or (int(shape[0]) == -1 and int(shape[1]) > 0)
            )
        ):
            return "consumer Reshape is not a flatten to [N, -1] or [-1, K]"
    if site.axis not in (1, -3, -2, -1) or (site.axis < 0 and site.z.shape is None):
        return "the linked axis is not the flattened channel axis"
    rank_known = site.z.shape is not None
    if rank_known and site.axis % len(site.z.shape) != 1:
        return "the linked axis is not the flattened channel axis"
    out = node.outputs[0]
    users = list(out.uses())
    if out.is_graph_output() or len(users) != 1 or users[0].idx != 0:
        return "the flattened output has other consumers"
    gemm = users[0].node
    if gemm.op_type not in ("Gemm", "MatMul") or gemm.domain not in ("", "ai.onnx"):
        return f"the flattened output feeds {gemm.op_type}, not Gemm/MatMul"
    w = const_array(gemm.inputs[1])
    if w is None or w.ndim != 2 or (gemm.op_type == "Gemm" and _attr_int(gemm, "transA", 0)):
        return "the Gemm/MatMul after the flatten has no constant 2-D weight"
    channels, zrank = _channels_and_rank(site)
    trans = gemm.op_type == "Gemm" and _attr_int(gemm, "transB", 0) == 1
    k = w.shape[1] if trans else w.shape[0]
    if channels is None or k % (2 * channels):
        return "the flattened size is not a multiple of the channel count"
    spatial = k // (2 * channels)
    half_shape = None
    if shape is not None and int(shape[0]) == -1:
        if int(shape[1]) != k:
            return "the Reshape's row size differs from the dense layer's input size"
        half_shape = np.array([-1, k // 2], np.int64)
    if trans:
        view = w.reshape(w.shape[0], 2 * channels, spatial)
        return LinearUse(gemm, view, 1, zrank, node, half_shape)
    view = w.reshape(2 * channels, spatial, w.shape[1])
    return LinearUse(gemm, view, 0, zrank, node, half_shape)


def _linear_uses(site: LinkedSite) -> list[LinearUse] | str:
    """The consumers of Y, if every one is Conv/Gemm/MatMul reading Y as data with a
    constant weight and the linked axis as its reduction axis; else a reason."""
    uses = list(site.y.uses())
    if not uses:
        return "the output has no consumer"
    if site.y.is_graph_output():
        return "the output is a graph output"
    found: list[LinearUse] = []
    for use in uses:
        node, idx = use.node, use.idx
        if idx != 0 or node.domain not in ("", "ai.onnx"):
            return f"consumer {node.op_type} does not read it as data"
        if node.op_type == "Conv":
            w = const_array(node.inputs[1])
            if w is None or _attr_int(node, "group", 1) != 1:
                return "consumer Conv has no constant weight or is grouped"
            if site.axis not in (1, 1 - w.ndim):
                return "the linked axis is not the consumer Conv's channel axis"
            found.append(LinearUse(node, w, 1, w.ndim))
        elif node.op_type == "Gemm":
            w = const_array(node.inputs[1])
            if w is None or _attr_int(node, "transA", 0) != 0:
                return "consumer Gemm has no constant weight or transposes A"
            if site.axis not in (1, -1):
                return "the linked axis is not the consumer Gemm's reduction axis"
            found.append(LinearUse(node, w, 1 if _attr_int(node, "transB", 0) else 0, 2))
        elif node.op_type == "MatMul":
            w = const_array(node.inputs[1])
            if w is None or w.ndim != 2:
                return "consumer MatMul has no constant 2-D weight"
            rank = len(site.y.shape) if site.y.shape is not None else None
            if not (site.axis == -1 or (rank is not None and site.axis == rank - 1)):
                return "the linked axis is not the consumer MatMul's reduction axis"
            found.append(LinearUse(node, w, 0, rank or 2))
        elif node.op_type in ("Flatten", "Reshape"):
            flat = _flattened_use(site, node)
            if isinstance(flat, str):
                return flat
            found.append(flat)
        else:
            return f"consumer {node.op_type} is not linear (Conv/Gemm/MatMul)"
    return found


def _split_weight(use: LinearUse) -> tuple[np.ndarray, np.ndarray] | str:
    w = use.weight
    k = w.shape[use.in_axis]
    if k % 2:
        return "the consumer weight has an odd input size"
    half = k // 2
    first = np.take(w, np.arange(half), axis=use.in_axis)
    second = np.take(w, np.arange(half, k), axis=use.in_axis)
    return first, second


def _scale(w: np.ndarray, coeff: np.ndarray, in_axis: int) -> np.ndarray:
    shape = [1] * w.ndim
    shape[in_axis] = coeff.size
    return w.astype(np.float64) * coeff.reshape(shape)


def _rewrite_linear_use(
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
            extra = [_initializer(graph, namer, use.half_shape, f"{base}_half_shape")]
        for half in (first, second):
            flat = ir.node(
                use.flatten.op_type,
                [half, *extra],
                dict(use.flatten.attributes.items()),
                name=namer(f"{use.flatten.name or 'flatten'}_half"),
            )
            flat.outputs[0].name = namer(f"{use.flatten.name or 'flatten'}_half_out")
            flats.append(flat)
        graph.insert_before(node, flats)
        first, second = flats[0].outputs[0], flats[1].outputs[0]
    w1 = _initializer(graph, namer, w_first.astype(dtype), f"{base}_w_pos")
    w2 = _initializer(graph, namer, w_second.astype(dtype), f"{base}_w_neg")
    attrs = {name: attr for name, attr in node.attributes.items()}
    rest = list(node.inputs[2:])
    a = ir.node(node.op_type, [first, w1, *rest], attrs, name=namer(f"{base}_pos"))
    second_attrs = dict(attrs)
    if node.op_type == "Gemm":
        second_attrs.pop("beta", None)
    b = ir.node(node.op_type, [second, w2], second_attrs, name=namer(f"{base}_neg"))
    a.outputs[0].name = namer(f"{base}_pos_out")
    b.outputs[0].name = namer(f"{base}_neg_out")
    add = ir.node("Add", [b.outputs[0], a.outputs[0]], name=namer(f"{base}_sum"))
    out = node.outputs[0]
    name = out.name
    add.outputs[0].type, add.outputs[0].shape = out.type, out.shape
    graph.insert_before(node, [a, b, add])
    out.replace_all_uses_with(add.outputs[0], replace_graph_outputs=True)
    graph.remove(node, safe=True)
    if use.flatten is not None:
        graph.remove(use.flatten, safe=True)
    add.outputs[0].name = name


def _linear_plan(site: LinkedSite) -> tuple[list, list] | str:
    """Consumers rewritten over relu(Z) and Z: weights (P, Q) per use, from the halves'
    split weights and the kind's half coefficients."""
    halves_plan = _halves_plan(site)
    if isinstance(halves_plan, str):
        return halves_plan
    uses, halves = halves_plan
    plans = []
    for use, (wa, wb) in zip(uses, halves, strict=True):
        coeffs = _half_coefficients(site, wa.shape[use.in_axis], use.rank)
        if isinstance(coeffs, str):
            return coeffs
        a1, b1, a2, b2 = coeffs
        p = _scale(wa, a1, use.in_axis) + _scale(wb, a2, use.in_axis)
        q = _scale(wa, b1, use.in_axis) + _scale(wb, b2, use.in_axis)
        plans.append((p, q))
    return uses, plans


def _relu_of(graph: ir.Graph, namer: Namer, site: LinkedSite, x: ir.Value) -> ir.Node:
    node = _new_node(graph, namer, "Relu", [x], base=site.node.name or "lk")
    node.outputs[0].type, node.outputs[0].shape = site.z.type, site.z.shape
    return node


def apply_split(graph: ir.Graph, namer: Namer, site: LinkedSite) -> str | None:
    """Rewrite consumers as (P+Q)·relu(Z) - Q·Z (no Concat, no Neg); None when done."""
    plan = _linear_plan(site)
    if isinstance(plan, str):
        return plan
    uses, plans = plan
    relu = _relu_of(graph, namer, site, site.z)
    graph.insert_before(site.node, relu)
    for use, (p, q) in zip(uses, plans, strict=True):
        _rewrite_linear_use(graph, namer, use, relu.outputs[0], site.z, p + q, -q)
    graph.remove(site.node, safe=True)
    return None


def _channels_and_rank(site: LinkedSite) -> tuple[int | None, int]:
    """The channel count of Z on the linked axis and Z's rank, from Z's shape or else
    from its producer's or consumers' weights (0 rank when unknown)."""
    if site.z.shape is not None and isinstance(site.z.shape[site.axis], int):
        return site.z.shape[site.axis], len(site.z.shape)
    producer = site.z.producer()
    if producer is not None and producer.op_type == "Conv" and producer.domain == "":
        w = const_array(producer.inputs[1])
        if w is not None:
            return w.shape[0], w.ndim
    for use in site.y.uses():
        if use.node.op_type == "Conv" and use.node.domain == "" and use.idx == 0:
            w = const_array(use.node.inputs[1])
            if w is not None and _attr_int(use.node, "group", 1) == 1:
                return w.shape[1] // 2, w.ndim
    return None, len(site.z.shape) if site.z.shape is not None else 0


def _negate_channels(graph: ir.Graph, namer: Namer, site: LinkedSite) -> ir.Node | str:
    """A depthwise 1x1 Conv with weight -1 (ORT fuses the Relu after it): returns the Conv."""
    channels, rank = _channels_and_rank(site)
    if not isinstance(channels, int) or rank < 3 or site.axis not in (1, 1 - rank):
        return "the depthwise negation needs a known channel count on axis 1 of a conv tensor"
    dtype = site.z.dtype.numpy() if site.z.dtype is not None else np.float32
    w = -np.ones((channels, 1) + (1,) * (rank - 2), dtype=dtype)
    weight = _initializer(graph, namer, w, f"{site.node.name or 'lk'}_neg_w")
    conv = _new_node(
        graph,
        namer,
        "Conv",
        [site.z, weight],
        {"group": channels, "kernel_shape": [1] * (rank - 2)},
        base=site.node.name or "lk",
    )
    conv.outputs[0].type, conv.outputs[0].shape = site.z.type, site.z.shape
    return conv


#: Kinds whose halves the dw form can build from Z and the depthwise negation -Z with
#: ops that stay in ORT's NCHWc layout (Relu; Sigmoid and Mul for Swish).
DW_KINDS = ("relu", "relu-minmax", "prelu", "swish")


def _halves_plan(site: LinkedSite) -> tuple[list, list] | str:
    """Consumers split over the two halves as they are: W·Y = Wa·h1 + Wb·h2."""
    uses = _linear_uses(site)
    if isinstance(uses, str):
        return uses
    plans = []
    for use in uses:
        halves = _split_weight(use)
        if isinstance(halves, str):
            return halves
        plans.append(halves)
    return uses, plans


def _swish_of(graph: ir.Graph, namer: Namer, site: LinkedSite, x: ir.Value) -> list[ir.Node]:
    base = site.node.name or "lk"
    sig = _new_node(graph, namer, "Sigmoid", [x], base=base)
    mul = _new_node(graph, namer, "Mul", [x, sig.outputs[0]], base=base)
    for n in (sig, mul):
        n.outputs[0].type, n.outputs[0].shape = site.z.type, site.z.shape
    return [sig, mul]


def apply_dw(graph: ir.Graph, namer: Namer, site: LinkedSite) -> str | None:
    """-Z as a depthwise 1x1 conv with weight -1, so every op stays in ORT's NCHWc layout.
    Piecewise-linear kinds: r+ = Relu(Z), r- = Relu(-Z), consumers split as P·r+ + Q·r-;
    Swish: h1 = Z*Sigmoid(Z), h2 likewise of -Z, consumers split as Wa·h1 + Wb·h2; with
    consumers that are not all linear, Concat(h1, h2) (mirror ReLU and Swish only).
    None when done, else a reason."""
    if site.kind not in DW_KINDS:
        return f"no dw form for {site.kind}"
    plan = _halves_plan(site) if site.kind == "swish" else _linear_plan(site)
    concat_ok = site.kind in ("relu", "swish")
    if isinstance(plan, str) and not concat_ok:
        return plan
    neg = _negate_channels(graph, namer, site)
    if isinstance(neg, str):
        return neg
    if site.kind == "swish":
        first_nodes = _swish_of(graph, namer, site, site.z)
        second_nodes = _swish_of(graph, namer, site, neg.outputs[0])
    else:
        first_nodes = [_relu_of(graph, namer, site, site.z)]
        second_nodes = [_relu_of(graph, namer, site, neg.outputs[0])]
    graph.insert_before(site.node, [*first_nodes, neg, *second_nodes])
    first, second = first_nodes[-1].outputs[0], second_nodes[-1].outputs[0]
    if isinstance(plan, str):  # consumers not all linear: keep a Concat of the halves
        cat = _new_node(
            graph,
            namer,
            "Concat",
            [first, second],
            {"axis": site.axis},
            base=site.node.name or "lk",
        )
        cat.outputs[0].type, cat.outputs[0].shape = site.y.type, site.y.shape
        graph.insert_before(site.node, cat)
        name = site.y.name
        site.y.replace_all_uses_with(cat.outputs[0], replace_graph_outputs=True)
        graph.remove(site.node, safe=True)
        cat.outputs[0].name = name
        return None
    uses, plans = plan
    for use, (p, q) in zip(uses, plans, strict=True):
        _rewrite_linear_use(graph, namer, use, first, second, p, q)
    graph.remove(site.node, safe=True)
    return None


def _stackable_producer(site: LinkedSite) -> tuple[ir.Node, np.ndarray, np.ndarray, int] | str:
    producer = site.z.producer()
    if producer is None or producer.domain not in ("", "ai.onnx"):
        return "the input has no standard producer"
    if len(site.z.uses()) != 1 or site.z.is_graph_output():
        return "the producer's output has other consumers"
    if producer.op_type == "Conv":
        w = const_array(producer.inputs[1])
        if w is None:
            return "the producer Conv has no constant weight"
        if site.axis not in (1, 1 - w.ndim):
            return "the linked axis is not the producer Conv's channel axis"
        out_axis = 0
    elif producer.op_type == "Gemm":
        w = const_array(producer.inputs[1])
        if w is None or site.axis not in (1, -1):
            return "the producer Gemm has no constant weight or the axis is not 1"
        out_axis = 0 if _attr_int(producer, "transB", 0) else 1
    else:
        return f"the producer is {producer.op_type}, not Conv/Gemm"
    channels = w.shape[out_axis]
    bias_in = producer.inputs[2] if len(producer.inputs) > 2 else None
    b = const_array(bias_in) if bias_in is not None else np.zeros(channels, w.dtype)
    if b is None:
        return "the producer bias is not constant"
    if b.size != channels:
        if b.size != 1:
            return "the producer bias does not have one value per channel"
        b = np.full(channels, b.reshape(()), dtype=b.dtype)
    if producer.op_type == "Gemm" and (
        _attr_float(producer, "alpha", 1.0) != 1.0 or _attr_float(producer, "beta", 1.0) != 1.0
    ):
        return "the producer Gemm scales alpha/beta"
    return producer, w, b.reshape(channels), out_axis


def apply_stacked(graph: ir.Graph, namer: Namer, site: LinkedSite) -> str | None:
    """Stack the producer's weights [W; -W] so one layer emits [Z; -Z], then apply the
    activation elementwise. None when done, else a reason."""
    found = _stackable_producer(site)
    if isinstance(found, str):
        return found
    producer, w, b, out_axis = found
    channels = w.shape[out_axis]
    uses = None
    if site.kind == "relu-minmax":
        uses = _linear_uses(site)
        if isinstance(uses, str):
            return "min-max needs linear consumers to absorb the sign: " + uses
        if any(u.weight.shape[u.in_axis] != 2 * channels for u in uses):
            return "consumer weights do not match the channel count"
    rank = len(site.z.shape) if site.z.shape is not None else (w.ndim if out_axis == 0 else 2)
    slopes = None
    if site.kind == "prelu":
        found = _prelu_slopes(site, channels, rank)
        if isinstance(found, str):
            return found
        shape = [1] * rank
        shape[site.axis % rank] = 2 * channels
        slopes = np.concatenate(found).reshape(shape[1:] if rank > 1 else shape)
    base = producer.name or "producer"
    w2 = _initializer(graph, namer, np.concatenate([w, -w], axis=out_axis), f"{base}_w_stacked")
    b2 = _initializer(graph, namer, np.concatenate([b, -b]), f"{base}_b_stacked")
    producer.replace_input_with(1, w2)
    if len(producer.inputs) > 2:
        producer.replace_input_with(2, b2)
    else:
        producer.resize_inputs(3)
        producer.replace_input_with(2, b2)
    stacked = site.z
    stacked.type = site.y.type or stacked.type
    stacked.shape = site.y.shape
    act_base = site.node.name or "lk"
    if site.kind in ("relu", "relu-minmax"):
        nodes = [_new_node(graph, namer, "Relu", [stacked], base=act_base)]
    elif site.kind == "selu":
        nodes = [_new_node(graph, namer, "Selu", [stacked], base=act_base)]
    elif site.kind == "swish":
        sig = _new_node(graph, namer, "Sigmoid", [stacked], base=act_base)
        nodes = [sig, _new_node(graph, namer, "Mul", [stacked, sig.outputs[0]], base=act_base)]
    elif site.kind == "prelu":
        assert slopes is not None
        sv = _initializer(graph, namer, slopes.astype(w.dtype), f"{act_base}_slopes_stacked")
        nodes = [_new_node(graph, namer, "PRelu", [stacked, sv], base=act_base)]
    else:
        return f"no stacked form for {site.kind}"
    for n in nodes:
        n.outputs[0].type, n.outputs[0].shape = site.y.type, site.y.shape
    graph.insert_before(site.node, nodes)
    out = nodes[-1].outputs[0]
    name = site.y.name
    if uses is not None:  # min-max: second half is -relu(-z); negate consumer weights there
        for use in uses:
            k = use.weight.shape[use.in_axis]
            sign = np.concatenate([np.ones(k // 2), -np.ones(k // 2)]).astype(use.weight.dtype)
            shape = [1] * use.weight.ndim
            shape[use.in_axis] = k
            signed = use.weight * sign.reshape(shape)
            original = const_array(use.node.inputs[1])
            assert original is not None  # checked by _linear_uses
            signed = signed.reshape(original.shape)  # a flattened use's weight is 2-D
            neww = _initializer(graph, namer, signed, f"{use.node.name or 'c'}_w_signed")
            use.node.replace_input_with(1, neww)
    site.y.replace_all_uses_with(out, replace_graph_outputs=True)
    graph.remove(site.node, safe=True)
    out.name = name
    return None


def apply_inline(graph: ir.Graph, namer: Namer, site: LinkedSite) -> str | None:
    """Leave the node for the final inlining pass (always applies)."""
    return None


#: form name -> function(graph, namer, site) -> None (done) or reason (not applicable).
APPLY: dict[str, Callable[[ir.Graph, Namer, LinkedSite], str | None]] = {
    "split": apply_split,
    "dw": apply_dw,
    "stacked": apply_stacked,
    "inline": apply_inline,
}
