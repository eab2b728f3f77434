"""Site analysis for the lowering forms (no torch here): what a linked node reads and
feeds, whether its consumers are linear in its output, and the per-channel
coefficients of its two halves. Every check that fails raises
:class:`~linkedonnx.passes.lowering.result.NotApplicable` with a one-line reason;
nothing here changes the graph."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx_ir as ir

from linkedonnx import DOMAIN
from linkedonnx.functions import KIND_OF_OP
from linkedonnx.kinds import KINDS
from linkedonnx.passes.graph_utils import const_array, overridable_reason
from linkedonnx.passes.ir_helpers import attr_int
from linkedonnx.passes.lowering.result import NotApplicable


def is_linked(node: ir.Node) -> bool:
    """Whether ``node`` calls one of the linkedonnx functions."""
    return node.domain == DOMAIN and node.op_type in KIND_OF_OP


def linked_kind(node: ir.Node) -> str:
    """Return the activation kind ('relu', 'prelu', ...) of a linked node."""
    return KIND_OF_OP[node.op_type]


def refuse_overridable(value: ir.Value | None, what: str) -> None:
    """Raise NotApplicable naming ``value`` when it is an initializer that is also a graph
    input: a form must not bake in a value the caller may override."""
    reason = overridable_reason(value, what)
    if reason is not None:
        raise NotApplicable(reason)


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
    if KINDS[kind].has_slopes:
        a, b = const_array(node.inputs[1]), const_array(node.inputs[2])
        if a is not None and b is not None:
            slopes = (a, b)
    return LinkedSite(
        node, kind, attr_int(node, "axis", 1), node.inputs[0], node.outputs[0], slopes
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


def prelu_slopes(site: LinkedSite, channels: int, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """The two per-channel slope vectors of a linked PReLU site.

    Raises NotApplicable when the slopes are not constant or not per-channel."""
    if site.slopes is None:
        for value in site.node.inputs[1:3]:
            refuse_overridable(value, f"{site.node.op_type} {site.node.name!r} slope")
        raise NotApplicable("prelu slopes are not constant")
    a = _channel_vector(site.slopes[0], channels, site.axis, rank)
    b = _channel_vector(site.slopes[1], channels, site.axis, rank)
    if a is None or b is None:
        raise NotApplicable("prelu slopes are not per-channel along the linked axis")
    return a, b


def half_coefficients(
    site: LinkedSite, channels: int, rank: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-channel (alpha1, beta1, alpha2, beta2) with h_i = alpha_i*r+ + beta_i*r-: the
    kind's ``lowering.coefficients``, or its slopes (PReLU).

    Raises NotApplicable for a kind that is not piecewise linear."""
    one = np.ones(channels, np.float64)
    kind = KINDS[site.kind]
    if kind.has_slopes:
        a, b = (v.astype(np.float64) for v in prelu_slopes(site, channels, rank))
        # PRelu(x, s) = relu(x) - s*relu(-x)
        return one, -a, -b, one
    if kind.lowering.coefficients is None:
        raise NotApplicable(f"{site.kind} is not piecewise linear")
    (a1, b1), (a2, b2) = kind.lowering.coefficients
    return a1 * one, b1 * one, a2 * one, b2 * one


@dataclass
class LinearUse:
    """A consumer of Y that is linear in Y along the linked axis."""

    node: ir.Node
    weight: np.ndarray  # the consumer's weight (2-D weights after a Flatten: [M, 2C, S])
    in_axis: int  # axis of ``weight`` indexing the input (channel) dimension
    rank: int  # rank of Y
    flatten: ir.Node | None = None  # a Flatten/Reshape between Y and a Gemm/MatMul
    half_shape: np.ndarray | None = None  # the Reshape target of one half, when it changes


def channels_and_rank(site: LinkedSite) -> tuple[int | None, int]:
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
            if w is not None and attr_int(use.node, "group", 1) == 1:
                return w.shape[1] // 2, w.ndim
    return None, len(site.z.shape) if site.z.shape is not None else 0


def _flattened_use(site: LinkedSite, node: ir.Node) -> LinearUse:
    """Y -> Flatten(axis 1) or Reshape([0 or N, -1] or [-1, K]) -> one Gemm/MatMul with a
    constant weight: a linear use whose weight is viewed as [.., 2C, S, ..] around the
    channels."""
    shape = None
    if node.op_type == "Flatten":
        if attr_int(node, "axis", 1) != 1:
            raise NotApplicable("consumer Flatten does not flatten from axis 1")
    else:
        shape = None
        if len(node.inputs) > 1:
            refuse_overridable(node.inputs[1], f"consumer Reshape {node.name!r} shape")
            shape = const_array(node.inputs[1])
        if (
            shape is None
            or shape.shape != (2,)
            or not (
                (int(shape[1]) == -1 and int(shape[0]) >= 0)
                or (int(shape[0]) == -1 and int(shape[1]) > 0)
            )
        ):
            raise NotApplicable("consumer Reshape is not a flatten to [N, -1] or [-1, K]")
    if site.axis not in (1, -3, -2, -1) or (site.axis < 0 and site.z.shape is None):
        raise NotApplicable("the linked axis is not the flattened channel axis")
    rank_known = site.z.shape is not None
    if rank_known and site.axis % len(site.z.shape) != 1:
        raise NotApplicable("the linked axis is not the flattened channel axis")
    out = node.outputs[0]
    users = list(out.uses())
    if out.is_graph_output() or len(users) != 1 or users[0].idx != 0:
        raise NotApplicable("the flattened output has other consumers")
    gemm = users[0].node
    if gemm.op_type not in ("Gemm", "MatMul") or gemm.domain not in ("", "ai.onnx"):
        raise NotApplicable(f"the flattened output feeds {gemm.op_type}, not Gemm/MatMul")
    refuse_overridable(gemm.inputs[1], f"{gemm.op_type} {gemm.name!r} weight")
    w = const_array(gemm.inputs[1])
    if w is None or w.ndim != 2 or (gemm.op_type == "Gemm" and attr_int(gemm, "transA", 0)):
        raise NotApplicable("the Gemm/MatMul after the flatten has no constant 2-D weight")
    channels, zrank = channels_and_rank(site)
    trans = gemm.op_type == "Gemm" and attr_int(gemm, "transB", 0) == 1
    k = w.shape[1] if trans else w.shape[0]
    if channels is None or k % (2 * channels):
        raise NotApplicable("the flattened size is not a multiple of the channel count")
    spatial = k // (2 * channels)
    half_shape = None
    if shape is not None and int(shape[0]) == -1:
        if int(shape[1]) != k:
            raise NotApplicable("the Reshape's row size differs from the dense layer's input size")
        half_shape = np.array([-1, k // 2], np.int64)
    if trans:
        view = w.reshape(w.shape[0], 2 * channels, spatial)
        return LinearUse(gemm, view, 1, zrank, node, half_shape)
    view = w.reshape(2 * channels, spatial, w.shape[1])
    return LinearUse(gemm, view, 0, zrank, node, half_shape)


def linear_uses(site: LinkedSite) -> list[LinearUse]:
    """The consumers of Y, if every one is Conv/Gemm/MatMul reading Y as data with a
    constant weight and the linked axis as its reduction axis.

    Raises NotApplicable naming the first consumer that is not."""
    uses = list(site.y.uses())
    if not uses:
        raise NotApplicable("the output has no consumer")
    if site.y.is_graph_output():
        raise NotApplicable("the output is a graph output")
    found: list[LinearUse] = []
    for use in uses:
        node, idx = use.node, use.idx
        if idx != 0 or node.domain not in ("", "ai.onnx"):
            raise NotApplicable(f"consumer {node.op_type} does not read it as data")
        if node.op_type in ("Conv", "Gemm", "MatMul"):
            refuse_overridable(node.inputs[1], f"consumer {node.op_type} {node.name!r} weight")
        if node.op_type == "Conv":
            w = const_array(node.inputs[1])
            if w is None or attr_int(node, "group", 1) != 1:
                raise NotApplicable("consumer Conv has no constant weight or is grouped")
            if site.axis not in (1, 1 - w.ndim):
                raise NotApplicable("the linked axis is not the consumer Conv's channel axis")
            found.append(LinearUse(node, w, 1, w.ndim))
        elif node.op_type == "Gemm":
            w = const_array(node.inputs[1])
            if w is None or attr_int(node, "transA", 0) != 0:
                raise NotApplicable("consumer Gemm has no constant weight or transposes A")
            if site.axis not in (1, -1):
                raise NotApplicable("the linked axis is not the consumer Gemm's reduction axis")
            found.append(LinearUse(node, w, 1 if attr_int(node, "transB", 0) else 0, 2))
        elif node.op_type == "MatMul":
            w = const_array(node.inputs[1])
            if w is None or w.ndim != 2:
                raise NotApplicable("consumer MatMul has no constant 2-D weight")
            rank = len(site.y.shape) if site.y.shape is not None else None
            if not (site.axis == -1 or (rank is not None and site.axis == rank - 1)):
                raise NotApplicable("the linked axis is not the consumer MatMul's reduction axis")
            found.append(LinearUse(node, w, 0, rank or 2))
        elif node.op_type in ("Flatten", "Reshape"):
            found.append(_flattened_use(site, node))
        else:
            raise NotApplicable(f"consumer {node.op_type} is not linear (Conv/Gemm/MatMul)")
    return found


def _split_weight(use: LinearUse) -> tuple[np.ndarray, np.ndarray]:
    w = use.weight
    k = w.shape[use.in_axis]
    if k % 2:
        raise NotApplicable("the consumer weight has an odd input size")
    half = k // 2
    first = np.take(w, np.arange(half), axis=use.in_axis)
    second = np.take(w, np.arange(half, k), axis=use.in_axis)
    return first, second


def _scale(w: np.ndarray, coeff: np.ndarray, in_axis: int) -> np.ndarray:
    shape = [1] * w.ndim
    shape[in_axis] = coeff.size
    return w.astype(np.float64) * coeff.reshape(shape)


Plan = tuple[list[LinearUse], list[tuple[np.ndarray, np.ndarray]]]


def halves_plan(site: LinkedSite) -> Plan:
    """Consumers split over the two halves as they are: W·Y = Wa·h1 + Wb·h2; returns the
    uses and (Wa, Wb) per use. Raises NotApplicable."""
    uses = linear_uses(site)
    return uses, [_split_weight(use) for use in uses]


def linear_plan(site: LinkedSite) -> Plan:
    """Consumers rewritten over relu(Z) and relu(-Z): weights (P, Q) per use, from the
    halves' split weights and the kind's half coefficients. Raises NotApplicable."""
    uses, halves = halves_plan(site)
    plans = []
    for use, (wa, wb) in zip(uses, halves, strict=True):
        a1, b1, a2, b2 = half_coefficients(site, wa.shape[use.in_axis], use.rank)
        p = _scale(wa, a1, use.in_axis) + _scale(wb, a2, use.in_axis)
        q = _scale(wa, b1, use.in_axis) + _scale(wb, b2, use.in_axis)
        plans.append((p, q))
    return uses, plans
