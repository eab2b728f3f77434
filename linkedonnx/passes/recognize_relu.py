"""Recognize mirror LK-ReLU (CReLU) spellings as ``linkedonnx::LinkedRelu``.

- ``Concat(R(x), R(Neg(x)))`` -> ``LinkedRelu(x)`` where R is any max(., 0) spelling
  (Relu, Max with zero, torch's ``Where(Less(x, 0), 0, x)``);
- ``Concat(R(Neg(x)), R(x))`` -> ``LinkedRelu(Neg(x))`` (exact: ``-(-x) == x``);
- ``tf.nn.crelu``: ``Relu(Concat(x, Neg(x)))`` -> ``LinkedRelu(x)`` and
  ``Relu(Concat(Neg(x), x))`` -> ``LinkedRelu(Neg(x))``, on any axis.

Every rewrite is exactly output-preserving. Concats with a third input, halves of
different tensors or non-zero thresholds do not match.
"""

from __future__ import annotations

from typing import Any

import onnx_ir as ir
from onnxscript.rewriter import pattern as P

from linkedonnx.passes.recognize_base import LinkedRuleBase, check_relu_half, relu_half


class MirrorReluRule(LinkedRuleBase):
    """Concat of max(x, 0) and max(-x, 0) halves, either first."""

    def __init__(self, neg_first: bool) -> None:
        super().__init__(
            "LinkedRelu(mirror, mirrored half first)" if neg_first else "LinkedRelu(mirror)"
        )
        self.neg_first = neg_first

    def pattern(self, op: Any, x: Any) -> Any:
        pos = relu_half(op, x, "pos")
        neg = relu_half(op, op.Neg(x), "neg")
        return op.Concat(*((neg, pos) if self.neg_first else (pos, neg)), _outputs=["out"])

    def check(self, context: Any, x: ir.Value, **bindings: Any) -> P.MatchResult:
        result = P.MatchResult()
        for prefix in ("pos", "neg"):
            reason = check_relu_half(bindings, prefix, x)
            if reason:
                return result.fail(reason)
        return result

    def rewrite(self, op: Any, x: ir.Value, out: ir.Value, **_: Any) -> ir.Value:
        source = op.Neg(x) if self.neg_first else x
        return self.emit(op, "relu", [source], self.axis_of(out))


class CReluRule(LinkedRuleBase):
    """``tf.nn.crelu``: Relu of Concat(x, -x) (or Concat(-x, x)) on any axis."""

    def __init__(self, neg_first: bool) -> None:
        super().__init__(
            "LinkedRelu(crelu, mirrored half first)" if neg_first else "LinkedRelu(crelu)"
        )
        self.neg_first = neg_first

    def pattern(self, op: Any, x: Any) -> Any:
        neg = op.Neg(x)
        parts = (neg, x) if self.neg_first else (x, neg)
        return op.Relu(op.Concat(*parts, _outputs=["cat"]))

    def rewrite(self, op: Any, x: ir.Value, cat: ir.Value, **_: Any) -> ir.Value:
        source = op.Neg(x) if self.neg_first else x
        return self.emit(op, "relu", [source], self.axis_of(cat))


#: The rules of this family, in the order they are tried.
RULES = [
    MirrorReluRule.rule(neg_first=False),
    MirrorReluRule.rule(neg_first=True),
    CReluRule.rule(neg_first=False),
    CReluRule.rule(neg_first=True),
]
