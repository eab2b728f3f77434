"""Recognize mirrored Swish as ``linkedonnx::LinkedSwish``.

``Concat(x*Sigmoid(x), n*Sigmoid(n))`` with ``n = Neg(x)`` (each Mul either operand
order) -> ``LinkedSwish(x)``; with the mirrored half first -> ``LinkedSwish(Neg(x))``.
Both uses of ``n`` must be the same Neg node (the convert pipeline merges duplicates
first); a gate of another tensor does not match.
"""

from __future__ import annotations

from typing import Any

import onnx_ir as ir

from linkedonnx.passes.recognize_base import LinkedRuleBase, swish_half


class MirrorSwishRule(LinkedRuleBase):
    """Concat of swish(x) and swish(-x), either first."""

    def __init__(self, neg_first: bool) -> None:
        super().__init__(
            "LinkedSwish(mirror, mirrored half first)" if neg_first else "LinkedSwish(mirror)"
        )
        self.neg_first = neg_first

    def pattern(self, op: Any, x: Any) -> Any:
        pos = swish_half(op, x, "pos")
        neg = swish_half(op, op.Neg(x), "neg")
        return op.Concat(*((neg, pos) if self.neg_first else (pos, neg)), _outputs=["out"])

    def rewrite(self, op: Any, x: ir.Value, out: ir.Value, **_: Any) -> ir.Value:
        source = op.Neg(x) if self.neg_first else x
        return self.emit(op, "swish", [source], self.axis_of(out))


#: The rules of this family, in the order they are tried.
RULES = [MirrorSwishRule.rule(neg_first=False), MirrorSwishRule.rule(neg_first=True)]
