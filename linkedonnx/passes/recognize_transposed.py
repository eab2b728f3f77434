"""Move linked functions out of channels-last islands: cancel the Transposes around them.

``Transpose(Linked(Transpose(x, p), axis=a), q)`` with ``q`` the inverse of ``p`` ->
``Linked(x, axis=p[a])`` (pure data movement, exact). A Neg between the inner
Transpose and the function (a mirrored-half-first crelu) is moved before it too:
``Neg(Transpose(x, p)) == Transpose(Neg(x), p)``.

This is what turns tf2onnx's NHWC ``tf.nn.crelu`` (Transpose, Neg, Concat on the last
axis, Relu, Transpose back) into one ``LinkedRelu(axis=1)`` on the NCHW tensor, once
:mod:`recognize_relu` has found the crelu. LinkedPRelu is left alone: its slopes are
laid out for the transposed tensor: the family covers the registered kinds without
slopes. A function whose output is read by anything other
than the outer Transpose stays (moving it would compute it twice).
"""

from __future__ import annotations

from typing import Any

import onnx_ir as ir
from onnxscript.rewriter import pattern as P

from linkedonnx import DOMAIN
from linkedonnx.functions import op_type
from linkedonnx.kinds import KINDS, LinkedKind
from linkedonnx.passes.graph_utils import attr_value
from linkedonnx.passes.recognize_base import LinkedRuleBase


def movable(kind: LinkedKind) -> bool:
    """True when ``kind``'s function is elementwise apart from the Concat (no
    per-channel data such as slopes), so Transposes around it cancel."""
    return not kind.has_slopes


class CancelTransposesRule(LinkedRuleBase):
    """Transpose(Linked(Transpose(x))) with inverse permutations -> Linked(x)."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"{op_type(kind)}(transposes cancelled)", kind)

    def pattern(self, op: Any, x: Any) -> Any:
        t_in = op.Transpose(x, _outputs=["t_in"])
        inner = P.OrValue([t_in, op.Neg(t_in)], tag_var="negated", tag_values=[False, True])
        linked = getattr(op, op_type(self.kind))(inner, _domain=DOMAIN, _outputs=["lk"])
        return op.Transpose(linked, _outputs=["t_out"])

    def check(
        self, context: Any, t_in: ir.Value, t_out: ir.Value, lk: ir.Value, **_: Any
    ) -> P.MatchResult:
        result = P.MatchResult()
        if len(lk.uses()) != 1 or lk.is_graph_output():
            return result.fail(
                "the linked output is also read elsewhere; moving it would duplicate it"
            )
        p = attr_value(t_in.producer(), "perm")
        q = attr_value(t_out.producer(), "perm")
        if p is None or q is None:
            return result.fail("Transpose without an explicit perm")
        p, q = list(p), list(q)
        if len(p) != len(q) or sorted(p) != list(range(len(p))):
            return result.fail("permutations of different ranks")
        if [p[i] for i in q] != list(range(len(p))):
            return result.fail("the outer Transpose does not undo the inner one")
        axis = attr_value(lk.producer(), "axis")
        if not isinstance(axis, int) or not -len(p) <= axis < len(p):
            return result.fail("linked node without a valid axis")
        return result

    def rewrite(
        self, op: Any, x: ir.Value, t_in: ir.Value, lk: ir.Value, negated: bool, **_: Any
    ) -> ir.Value:
        p = list(attr_value(t_in.producer(), "perm"))
        axis = int(attr_value(lk.producer(), "axis"))
        source = op.Neg(x) if negated else x
        return self.emit(op, self.kind, [source], p[axis % len(p)])


def rules() -> list[P.RewriteRule]:
    """The family's rules, one per movable registered kind, in the order they are tried."""
    return [CancelTransposesRule.kind_rule(k) for k in KINDS.values() if movable(k)]
