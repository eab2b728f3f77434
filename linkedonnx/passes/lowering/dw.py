"""The ``dw`` form (no torch here): ``-Z`` as a depthwise 1x1 conv with weight -1 (it
stays in ORT's NCHWc layout), then ``r+, r- = Relu(Z), Relu(-Z)`` (Swish:
``Z*Sigmoid(Z)`` and the same of ``-Z``: any kind that is not piecewise linear applies its
own activation); consumers split as ``P·r+ + Q·r-`` (Swish: ``Wa·h1 + Wb·h2``) or, when
they are not all linear, ``Concat(h1, h2)`` (mirror ReLU and the kinds that are not
piecewise linear only). The kinds it applies to say so in the registry
(``lowering.dw``)."""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from linkedonnx.kinds import KINDS
from linkedonnx.passes.ir_helpers import Namer, initializer, new_node
from linkedonnx.passes.lowering.build import activation_of, record_z, relu_of, rewrite_linear_use
from linkedonnx.passes.lowering.result import FormResult, NotApplicable
from linkedonnx.passes.lowering.site import (
    LinkedSite,
    Plan,
    channels_and_rank,
    halves_plan,
    linear_plan,
)

#: The halves relu(z), relu(-z) as coefficients over (relu(z), relu(-z)): their Concat is
#: the output itself.
_MIRROR_RELU = ((1.0, 0.0), (0.0, 1.0))


def _negation_weight(site: LinkedSite) -> np.ndarray:
    """The [C, 1, 1...] weight -1 of the depthwise negation; raises NotApplicable."""
    channels, rank = channels_and_rank(site)
    if not isinstance(channels, int) or rank < 3 or site.axis not in (1, 1 - rank):
        raise NotApplicable(
            "the depthwise negation needs a known channel count on axis 1 of a conv tensor"
        )
    dtype = site.z.dtype.numpy() if site.z.dtype is not None else np.float32
    return -np.ones((channels, 1) + (1,) * (rank - 2), dtype=dtype)


def apply_dw(graph: ir.Graph, namer: Namer, site: LinkedSite) -> FormResult:
    """-Z as a depthwise 1x1 conv with weight -1, so every op stays in ORT's NCHWc layout.
    Piecewise-linear kinds: r+ = Relu(Z), r- = Relu(-Z), consumers split as P·r+ + Q·r-;
    Swish: h1 = Z*Sigmoid(Z), h2 likewise of -Z, consumers split as Wa·h1 + Wb·h2; with
    consumers that are not all linear, Concat(h1, h2) (mirror ReLU and Swish only).
    The result says why not when the form does not apply (graph untouched then)."""
    result = FormResult("dw")
    kind = KINDS[site.kind]
    if not kind.lowering.dw:
        return result.fail(f"no dw form for {site.kind}")
    linear = kind.has_slopes or kind.lowering.coefficients is not None
    plan: Plan | None = None
    try:
        plan = linear_plan(site) if linear else halves_plan(site)
    except NotApplicable as exc:
        # only halves that are the output's own may keep a Concat
        if linear and kind.lowering.coefficients != _MIRROR_RELU:
            return result.fail(str(exc))
    try:
        w = _negation_weight(site)
    except NotApplicable as exc:
        return result.fail(str(exc))
    base = site.node.name or "lk"
    weight = initializer(graph, namer, w, f"{base}_neg_w")
    channels = w.shape[0]
    neg = new_node(
        namer,
        "Conv",
        [site.z, weight],
        {"group": channels, "kernel_shape": [1] * (w.ndim - 2)},
        base=base,
        source=site.node,
    )
    neg.outputs[0].type, neg.outputs[0].shape = site.z.type, site.z.shape
    if not linear:
        first_nodes = activation_of(graph, namer, site, site.z)
        second_nodes = activation_of(graph, namer, site, neg.outputs[0])
    else:
        first_nodes = [relu_of(namer, site, site.z)]
        second_nodes = [relu_of(namer, site, neg.outputs[0])]
    graph.insert_before(site.node, [*first_nodes, neg, *second_nodes])
    first, second = first_nodes[-1].outputs[0], second_nodes[-1].outputs[0]
    if plan is None:  # consumers not all linear: keep a Concat of the halves
        cat = new_node(
            namer, "Concat", [first, second], {"axis": site.axis}, base=base, source=site.node
        )
        cat.outputs[0].type, cat.outputs[0].shape = site.y.type, site.y.shape
        graph.insert_before(site.node, cat)
        name = site.y.name
        site.y.replace_all_uses_with(cat.outputs[0], replace_graph_outputs=True)
        graph.remove(site.node, safe=True)
        cat.outputs[0].name = name
        record_z(site)
        return result
    uses, plans = plan
    for use, (p, q) in zip(uses, plans, strict=True):
        rewrite_linear_use(graph, namer, use, first, second, p, q)
    graph.remove(site.node, safe=True)
    record_z(site)
    return result
