"""AbsorbMinFirstPass: min-max LK-ReLU with the min half first, as plain
``LinkedReluMinMax`` with its consumers' input channels swapped (no torch here).

Recognition writes ``Concat(min(x, 0), max(x, 0))`` as ``Neg(LinkedReluMinMax(Neg(x)))``
(exact: the function of -x is ``[max(-x, 0), min(-x, 0)] = -[min(x, 0), max(x, 0)]``).
Both Negs break ONNX Runtime's conv chains and keep the lowering forms from applying.
When every consumer of the outer Neg is linear in it (Conv, Gemm, MatMul, a Flatten
before a Gemm/MatMul) with a constant weight, ``W·[min, max] = W'·[max, min]`` with the
two halves of W's input channels swapped: the node becomes ``LinkedReluMinMax(x)`` and
the consumers read it with W' (a permutation: exact), so it lowers like the max-first
form. Otherwise (a consumer that is not linear, a graph output) the three nodes become
``Concat(Min(x, 0), Relu(x))``, the standard ops of the max-first form in the other
order, so no Neg is left either way.
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from linkedonnx.passes.base import CountingPass
from linkedonnx.passes.graph_utils import const_array
from linkedonnx.passes.ir_helpers import Namer, attr_int, initializer, new_node
from linkedonnx.passes.lowering.build import record_z
from linkedonnx.passes.lowering.result import NotApplicable
from linkedonnx.passes.lowering.site import (
    LinearUse,
    LinkedSite,
    is_linked,
    linear_uses,
    linked_kind,
    site_of,
)


def _is_neg(node: ir.Node | None) -> bool:
    return node is not None and node.op_type == "Neg" and node.domain in ("", "ai.onnx")


def _outer_site(node: ir.Node) -> tuple[LinkedSite, ir.Node, ir.Node]:
    """For ``Neg(LinkedReluMinMax(Neg(x)))``: the site seen from outside (z = x, y = the
    outer Neg's output), the inner and the outer Neg; raises NotApplicable."""
    inner = node.inputs[0].producer() if node.inputs[0] is not None else None
    if not _is_neg(inner):
        raise NotApplicable("the input is not a Neg")
    y = node.outputs[0]
    uses = list(y.uses())
    if y.is_graph_output() or len(uses) != 1 or not _is_neg(uses[0].node):
        raise NotApplicable("the output does not feed one Neg only")
    outer = uses[0].node
    site = site_of(node)
    site.z, site.y = inner.inputs[0], outer.outputs[0]
    return site, inner, outer


def _swapped(use: LinearUse) -> np.ndarray:
    """The consumer's weight (as ``use`` views it) with the two halves of its input
    channels swapped, reshaped to the weight's stored shape."""
    w = use.weight
    k = w.shape[use.in_axis]
    if k % 2:
        raise NotApplicable("the consumer weight has an odd input size")
    order = np.concatenate([np.arange(k // 2, k), np.arange(k // 2)])
    stored = const_array(use.node.inputs[1])
    assert stored is not None  # linear_uses found a constant weight
    return np.take(w, order, axis=use.in_axis).reshape(stored.shape)


class AbsorbMinFirstPass(CountingPass):
    """Rewrite ``Neg(LinkedReluMinMax(Neg(x)))`` with linear consumers as
    ``LinkedReluMinMax(x)`` and half-swapped consumer weights (counts ``absorbed``), and
    otherwise as ``Concat(Min(x, 0), Relu(x))`` (counts ``flattened: <reason>``)."""

    name = "AbsorbMinFirst"

    def run(self, model: ir.Model) -> bool:
        graph = model.graph
        namer = Namer(graph)
        for node in [n for n in graph if is_linked(n) and linked_kind(n) == "relu-minmax"]:
            try:
                site, inner, outer = _outer_site(node)
            except NotApplicable:
                continue
            try:
                uses = linear_uses(site)
                weights = [_swapped(use) for use in uses]
            except NotApplicable as exc:
                self._flatten(graph, namer, site, inner, outer)
                self.count(f"flattened: {exc}")
                continue
            for use, w in zip(uses, weights, strict=True):
                base = use.node.name or "consumer"
                use.node.replace_input_with(1, initializer(graph, namer, w, f"{base}_w_swapped"))
            node.replace_input_with(0, site.z)
            site.y.replace_all_uses_with(node.outputs[0])
            graph.remove(outer, safe=True)
            if not inner.outputs[0].uses() and not inner.outputs[0].is_graph_output():
                graph.remove(inner, safe=True)
            self.count("absorbed")
        return bool(self.counts)

    @staticmethod
    def _flatten(
        graph: ir.Graph, namer: Namer, site: LinkedSite, inner: ir.Node, outer: ir.Node
    ) -> None:
        """Replace inner Neg, linked node and outer Neg by Concat(Min(x, 0), Relu(x))."""
        x, node = site.z, site.node
        base = node.name or "lk"
        dtype = x.dtype.numpy() if x.dtype is not None else np.float32
        zero = initializer(graph, namer, np.zeros((), dtype), f"{base}_zero")
        low = new_node(namer, "Min", [x, zero], base=base, source=node)
        high = new_node(namer, "Relu", [x], base=base, source=node)
        cat_attrs = {"axis": attr_int(node, "axis", 1)}
        cat = new_node(
            namer, "Concat", [low.outputs[0], high.outputs[0]], cat_attrs, base=base, source=node
        )
        for n in (low, high):
            n.outputs[0].type, n.outputs[0].shape = x.type, x.shape
        y = site.y
        cat.outputs[0].type, cat.outputs[0].shape = y.type, y.shape
        graph.insert_before(outer, [low, high, cat])
        name = y.name
        y.replace_all_uses_with(cat.outputs[0], replace_graph_outputs=True)
        graph.remove([outer, node], safe=True)
        if not inner.outputs[0].uses() and not inner.outputs[0].is_graph_output():
            graph.remove(inner, safe=True)
        cat.outputs[0].name = name
        record_z(site)
