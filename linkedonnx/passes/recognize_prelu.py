"""Recognize mirrored PReLU as ``linkedonnx::LinkedPRelu``.

``Concat(P(x, a), P(Neg(x), b))`` -> ``LinkedPRelu(x, a, b)`` and
``Concat(P(Neg(x), b), P(x, a))`` -> ``LinkedPRelu(Neg(x), b, a)``, where P is
``PRelu`` or torch's ``Where(Less(x, 0), x*s, x)``. The slopes are kept as they are
(they broadcast to x exactly as in the flat graph).
"""

from __future__ import annotations

from typing import Any

import onnx_ir as ir
from onnxscript.rewriter import pattern as P

from linkedonnx.passes.recognize_base import LinkedRuleBase, check_prelu_half, prelu_half


class MirrorPReluRule(LinkedRuleBase):
    """Concat of prelu_a(x) and prelu_b(-x), either first."""

    def __init__(self, neg_first: bool) -> None:
        super().__init__(
            "LinkedPRelu(mirror, mirrored half first)" if neg_first else "LinkedPRelu(mirror)"
        )
        self.neg_first = neg_first

    def pattern(self, op: Any, x: Any) -> Any:
        pos = prelu_half(op, x, "pos")
        neg = prelu_half(op, op.Neg(x), "neg")
        return op.Concat(*((neg, pos) if self.neg_first else (pos, neg)), _outputs=["out"])

    def check(self, context: Any, x: ir.Value, **bindings: Any) -> P.MatchResult:
        result = P.MatchResult()
        for prefix in ("pos", "neg"):
            reason = check_prelu_half(bindings, prefix, x)
            if reason:
                return result.fail(reason)
        return result

    def rewrite(self, op: Any, x: ir.Value, out: ir.Value, **bindings: Any) -> ir.Value:
        a, b = bindings["pos_slope"], bindings["neg_slope"]
        axis = self.axis_of(out)
        if self.neg_first:
            return self.emit(op, "prelu", [op.Neg(x), b, a], axis)
        return self.emit(op, "prelu", [x, a, b], axis)


#: The rules of this family, in the order they are tried.
RULES = [MirrorPReluRule.rule(neg_first=False), MirrorPReluRule.rule(neg_first=True)]
