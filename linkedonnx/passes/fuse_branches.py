"""Fuse duplicate weight-shared branches: two Conv, Gemm or MatMul nodes reading the
same input whose weights (and biases) are equal or exact negations.

Weights are compared by *value*, exactly (same dtype, shape and every element), so the
same tensor, equal tensors stored under two names and ``-W`` folded into a new
initializer by an exporter are all found. The later node of a pair becomes:

- a reuse of the earlier one's output when weights and biases are equal;
- ``Neg(earlier output)`` when the weights are negated and the bias is negated too
  (or both nodes have none): ``op(x, -W, -b) == -op(x, W, b)`` since negation is exact.

Attributes must be identical (Gemm's alpha/beta/transA/transB included), so the
effective weights compare correctly. Fusing repeats until nothing changes, so chains of
duplicated layers collapse layer by layer. The recognition rules then see
``Relu(z), Relu(Neg(z)), Concat`` and emit ``LinkedRelu(z)``.
"""

from __future__ import annotations

import onnx_ir as ir

from linkedonnx.passes.base import CountingPass
from linkedonnx.passes.graph_utils import (
    arrays_equal,
    arrays_negated,
    const_array,
    overridable_reason,
)
from linkedonnx.passes.ir_helpers import copy_provenance

#: Op types whose second input is a weight and optional third a bias.
FUSABLE_OPS = ("Conv", "Gemm", "MatMul")


def _attributes(node: ir.Node) -> dict[str, object]:
    """A node's attributes as comparable Python values."""
    out: dict[str, object] = {}
    for name, attr in node.attributes.items():
        value = attr.value
        out[name] = tuple(value) if isinstance(value, (list, tuple)) else value
    return out


def _input(node: ir.Node, i: int) -> ir.Value | None:
    return node.inputs[i] if len(node.inputs) > i else None


def _relation(a: ir.Value | None, b: ir.Value | None) -> str | None:
    """How constant ``b`` relates to ``a``: 'same', 'equal', 'negated' or None.
    Two absent values are 'same'."""
    if a is None and b is None:
        return "same"
    if a is None or b is None:
        return None
    if a is b:
        return "same"
    wa, wb = const_array(a), const_array(b)
    if arrays_equal(wa, wb):
        return "equal"
    if arrays_negated(wa, wb):
        return "negated"
    return None


def branch_relation(first: ir.Node, second: ir.Node) -> str | None:
    """Return 'same', 'equal' or 'negated' when ``second`` computes the same as (or the
    negation of) ``first`` exactly; None otherwise. Both must read the same data input."""
    if (first.domain, first.op_type) != (second.domain, second.op_type):
        return None
    if first.op_type not in FUSABLE_OPS or first.domain not in ("", "ai.onnx"):
        return None
    if len(first.inputs) != len(second.inputs) or len(first.outputs) != len(second.outputs):
        return None
    if first.inputs[0] is None or first.inputs[0] is not second.inputs[0]:
        return None
    if _attributes(first) != _attributes(second):
        return None
    weight = _relation(_input(first, 1), _input(second, 1))
    if weight is None:
        return None
    bias = _relation(_input(first, 2), _input(second, 2))
    if bias is None:
        return None
    both_absent = _input(first, 2) is None and _input(second, 2) is None
    if weight == "negated":
        return "negated" if (bias == "negated" or both_absent) else None
    if bias == "negated":  # equal weights, negated bias: not a plain reuse
        return None
    return "equal" if "equal" in (weight, bias) else "same"


class FuseWeightSharedBranchesPass(CountingPass):
    """Make duplicate (or negated) Conv/Gemm/MatMul branches reuse one computation.

    Counts ``fused_<same|equal|negated>_<op>`` for each fused node, and ``skipped <op>
    '<a>' and '<b>': <reason>`` once for two branches over one input that were not
    compared because a weight or bias is a graph input (a caller may override it).
    """

    def __init__(self, max_rounds: int = 100) -> None:
        super().__init__()
        self.max_rounds = max_rounds
        self._skipped: dict[str, None] = {}

    def run(self, model: ir.Model) -> bool:
        self._skipped: dict[str, None] = {}
        changed = False
        for _ in range(self.max_rounds):
            if not self._fuse_once(model.graph):
                break
            changed = True
        for key in self._skipped:
            self.count(key)
        return changed

    def _note_overridable(self, first: ir.Node, second: ir.Node) -> None:
        """Remember a pair of like branches left alone because a weight or bias that
        differs between them is a graph input (its value may change at run time)."""
        if (first.domain, first.op_type) != (second.domain, second.op_type):
            return
        if len(first.inputs) != len(second.inputs) or _attributes(first) != _attributes(second):
            return
        for i in (1, 2):
            a, b = _input(first, i), _input(second, i)
            if a is b:
                continue
            for node, value in ((first, a), (second, b)):
                reason = overridable_reason(value, f"{node.op_type} {node.name!r} input")
                if reason is not None:
                    key = f"skipped {first.op_type} {first.name!r} and {second.name!r}: {reason}"
                    self._skipped[key] = None
                    return

    def _fuse_once(self, graph: ir.Graph) -> bool:
        order = {node: i for i, node in enumerate(graph)}
        for node in list(graph):
            if node.op_type not in FUSABLE_OPS or not node.inputs or node.inputs[0] is None:
                continue
            data = node.inputs[0]
            candidates = sorted(
                {
                    user
                    for user, idx in data.uses()
                    if idx == 0 and user is not node and user.op_type == node.op_type
                },
                key=lambda n: order.get(n, -1),
            )
            for other in candidates:
                if order.get(other, -1) <= order[node]:
                    continue
                relation = branch_relation(node, other)
                if relation is None:
                    self._note_overridable(node, other)
                    continue
                self._replace(graph, node, other, relation)
                self.count(f"fused_{relation}_{node.op_type.lower()}")
                return True
        return False

    @staticmethod
    def _replace(graph: ir.Graph, first: ir.Node, second: ir.Node, relation: str) -> None:
        """Redirect ``second``'s users to ``first``'s output (or its negation) and drop it."""
        old, new = second.outputs[0], first.outputs[0]
        if relation == "negated":
            neg = copy_provenance(second, ir.node("Neg", [new]))
            neg.outputs[0].name = f"{old.name}_fused_neg" if old.name else None
            neg.outputs[0].shape = old.shape
            neg.outputs[0].type = old.type
            graph.insert_after(first, neg)
            new = neg.outputs[0]
        if old.is_graph_output():
            # Keep the graph output's name and slot: route it through an Identity.
            ident = copy_provenance(second, ir.node("Identity", [new]))
            graph.insert_after(new.producer(), ident)
            out = ident.outputs[0]
            out.shape, out.type = old.shape, old.type
            for i, g_out in enumerate(graph.outputs):
                if g_out is old:
                    graph.outputs[i] = out
            name = old.name
            old.name = None
            out.name = name
            old.replace_all_uses_with(out)
        else:
            old.replace_all_uses_with(new)
        graph.remove(second, safe=True)
