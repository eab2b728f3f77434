"""The ``stacked`` form (no torch here): the producer Conv/Gemm of ``Z`` gets weights
``[W; -W]`` and bias ``[b; -b]`` so one layer emits ``[Z; -Z]``; the activation is then
applied elementwise (Relu, Selu, x*Sigmoid(x), PRelu with stacked slopes): no Concat,
no Neg. Min-max ReLU negates the consumers' weights of the second half."""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from linkedonnx.kinds import KINDS
from linkedonnx.passes.graph_utils import const_array
from linkedonnx.passes.ir_helpers import Namer, attr_float, attr_int, initializer
from linkedonnx.passes.lowering.build import activation_of, record_z
from linkedonnx.passes.lowering.result import FormResult, NotApplicable
from linkedonnx.passes.lowering.site import (
    LinearUse,
    LinkedSite,
    linear_uses,
    prelu_slopes,
    refuse_overridable,
)


def _stackable_producer(site: LinkedSite) -> tuple[ir.Node, np.ndarray, np.ndarray, int]:
    """The producer of Z with its constant weight, per-channel bias and output axis;
    raises NotApplicable."""
    producer = site.z.producer()
    if producer is None or producer.domain not in ("", "ai.onnx"):
        raise NotApplicable("the input has no standard producer")
    if len(site.z.uses()) != 1 or site.z.is_graph_output():
        raise NotApplicable("the producer's output has other consumers")
    if producer.op_type not in ("Conv", "Gemm"):
        raise NotApplicable(f"the producer is {producer.op_type}, not Conv/Gemm")
    for i, what in ((1, "weight"), (2, "bias")):
        if len(producer.inputs) > i:
            where = f"producer {producer.op_type} {producer.name!r} {what}"
            refuse_overridable(producer.inputs[i], where)
    if producer.op_type == "Conv":
        w = const_array(producer.inputs[1])
        if w is None:
            raise NotApplicable("the producer Conv has no constant weight")
        if site.axis not in (1, 1 - w.ndim):
            raise NotApplicable("the linked axis is not the producer Conv's channel axis")
        out_axis = 0
    else:
        w = const_array(producer.inputs[1])
        if w is None or site.axis not in (1, -1):
            raise NotApplicable("the producer Gemm has no constant weight or the axis is not 1")
        out_axis = 0 if attr_int(producer, "transB", 0) else 1
    channels = w.shape[out_axis]
    bias_in = producer.inputs[2] if len(producer.inputs) > 2 else None
    b = const_array(bias_in) if bias_in is not None else np.zeros(channels, w.dtype)
    if b is None:
        raise NotApplicable("the producer bias is not constant")
    if b.size != channels:
        if b.size != 1:
            raise NotApplicable("the producer bias does not have one value per channel")
        b = np.full(channels, b.reshape(()), dtype=b.dtype)
    if producer.op_type == "Gemm" and (
        attr_float(producer, "alpha", 1.0) != 1.0 or attr_float(producer, "beta", 1.0) != 1.0
    ):
        raise NotApplicable("the producer Gemm scales alpha/beta")
    return producer, w, b.reshape(channels), out_axis


def _check(site: LinkedSite):
    """Everything the stacked form needs, or NotApplicable: (producer, W, b, out_axis,
    min-max consumer uses or None, stacked prelu slopes or None)."""
    kind = KINDS[site.kind]
    first, second = kind.halves
    if first.sigma != 1 or second.sigma != -1 or first.activation != second.activation:
        raise NotApplicable(f"no stacked form for {site.kind}")
    producer, w, b, out_axis = _stackable_producer(site)
    channels = w.shape[out_axis]
    uses: list[LinearUse] | None = None
    if second.tau != first.tau:  # the second half negated (min-max): consumers absorb it
        try:
            uses = linear_uses(site)
        except NotApplicable as exc:
            raise NotApplicable(
                f"min-max needs linear consumers to absorb the sign: {exc}"
            ) from None
        if any(u.weight.shape[u.in_axis] != 2 * channels for u in uses):
            raise NotApplicable("consumer weights do not match the channel count")
    rank = len(site.z.shape) if site.z.shape is not None else (w.ndim if out_axis == 0 else 2)
    slopes = None
    if kind.has_slopes:
        found = prelu_slopes(site, channels, rank)
        shape = [1] * rank
        shape[site.axis % rank] = 2 * channels
        slopes = np.concatenate(found).reshape(shape[1:] if rank > 1 else shape)
    return producer, w, b, out_axis, uses, slopes


def _activation(namer: Namer, site: LinkedSite, stacked: ir.Value, slopes, dtype, graph):
    """The kind's elementwise activation of [Z; -Z] (with the stacked slopes, if any)."""
    act_base = site.node.name or "lk"
    if slopes is None:
        return activation_of(graph, namer, site, stacked)
    sv = initializer(graph, namer, slopes.astype(dtype), f"{act_base}_slopes_stacked")
    return activation_of(graph, namer, site, stacked, {"slope": sv})


def _sign_second_half(graph: ir.Graph, namer: Namer, uses: list[LinearUse]) -> None:
    """Min-max: the second half is -relu(-z); negate the consumers' weights there."""
    for use in uses:
        k = use.weight.shape[use.in_axis]
        sign = np.concatenate([np.ones(k // 2), -np.ones(k // 2)]).astype(use.weight.dtype)
        shape = [1] * use.weight.ndim
        shape[use.in_axis] = k
        signed = use.weight * sign.reshape(shape)
        original = const_array(use.node.inputs[1])
        assert original is not None  # checked by linear_uses
        signed = signed.reshape(original.shape)  # a flattened use's weight is 2-D
        neww = initializer(graph, namer, signed, f"{use.node.name or 'c'}_w_signed")
        use.node.replace_input_with(1, neww)


def apply_stacked(graph: ir.Graph, namer: Namer, site: LinkedSite) -> FormResult:
    """Stack the producer's weights [W; -W] so one layer emits [Z; -Z], then apply the
    activation elementwise. The result says why not when the form does not apply (graph
    untouched then)."""
    result = FormResult("stacked")
    try:
        producer, w, b, out_axis, uses, slopes = _check(site)
    except NotApplicable as exc:
        return result.fail(str(exc))
    base = producer.name or "producer"
    channels = w.shape[out_axis]
    w2 = initializer(graph, namer, np.concatenate([w, -w], axis=out_axis), f"{base}_w_stacked")
    b2 = initializer(graph, namer, np.concatenate([b, -b]), f"{base}_b_stacked")
    producer.replace_input_with(1, w2)
    if len(producer.inputs) <= 2:
        producer.resize_inputs(3)
    producer.replace_input_with(2, b2)
    stacked = site.z
    stacked.type = site.y.type or stacked.type
    stacked.shape = site.y.shape
    nodes = _activation(namer, site, stacked, slopes, w.dtype, graph)
    for n in nodes:
        n.outputs[0].type, n.outputs[0].shape = site.y.type, site.y.shape
    graph.insert_before(site.node, nodes)
    out = nodes[-1].outputs[0]
    name = site.y.name
    if uses is not None:
        _sign_second_half(graph, namer, uses)
    site.y.replace_all_uses_with(out, replace_graph_outputs=True)
    graph.remove(site.node, safe=True)
    out.name = name
    record_z(site, (0, channels))  # the producer now emits [z; -z]
    return result
