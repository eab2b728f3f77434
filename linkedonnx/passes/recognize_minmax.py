"""Recognize min-max LK-ReLU spellings as ``linkedonnx::LinkedReluMinMax``.

- ``Concat(R(x), M(x))`` -> ``LinkedReluMinMax(x)``, where R is a max(x, 0) spelling
  (Relu, Max with zero, torch's ``Where(Less(x, 0), 0, x)``) and M a min(x, 0) spelling
  (``Min`` with a zero scalar or a full-shape zero tensor, either operand order, or
  ``Clip(x, , 0)``);
- ``Concat(M(x), R(x))`` -> ``Neg(LinkedReluMinMax(Neg(x)))`` (exact: the function
  of -x is [max(-x, 0), min(-x, 0)] = -[min(x, 0), max(x, 0)]).

Min or Max against a non-zero constant, or against a zero tensor that would broadcast
x to a larger shape, does not match.
"""

from __future__ import annotations

from typing import Any

import onnx_ir as ir
from onnxscript.rewriter import pattern as P

from linkedonnx.passes.recognize_base import (
    MIN_FORMS,
    LinkedRuleBase,
    check_min_half,
    check_relu_half,
    min_half,
    relu_half,
)


class MinMaxRule(LinkedRuleBase):
    """Concat of max(x, 0) and min(x, 0), either first."""

    def __init__(self, min_first: bool, min_form: str) -> None:
        super().__init__(
            "LinkedReluMinMax(min half first)" if min_first else "LinkedReluMinMax(minmax)"
        )
        self.min_first = min_first
        self.min_form = min_form

    def pattern(self, op: Any, x: Any) -> Any:
        hi = relu_half(op, x, "hi")
        lo = min_half(op, x, "lo", self.min_form)
        return op.Concat(*((lo, hi) if self.min_first else (hi, lo)), _outputs=["out"])

    def check(self, context: Any, x: ir.Value, **bindings: Any) -> P.MatchResult:
        result = P.MatchResult()
        reason = check_relu_half(bindings, "hi", x) or check_min_half(bindings, "lo", x)
        return result.fail(reason) if reason else result

    def rewrite(self, op: Any, x: ir.Value, out: ir.Value, **_: Any) -> ir.Value:
        axis = self.axis_of(out)
        if not self.min_first:
            return self.emit(op, "relu-minmax", [x], axis)
        return op.Neg(self.emit(op, "relu-minmax", [op.Neg(x)], axis))


#: The rules of this family, in the order they are tried.
RULES = [
    MinMaxRule.rule(min_first=first, min_form=form) for first in (False, True) for form in MIN_FORMS
]
