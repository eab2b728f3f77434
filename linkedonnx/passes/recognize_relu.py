"""Recognize mirror LK-ReLU (CReLU) spellings as ``linkedonnx::LinkedRelu``.

- ``Concat(h1, h2)`` where h1 means relu(x) and h2 relu(-x), however spelled (any chain
  of the grammar of :mod:`linkedonnx.passes.half_semantics`: Relu, Max/Clip/Where against
  zero, ``Sub(Relu(x), x)`` ...) -> ``LinkedRelu(x)``;
- the same with relu(-x) first -> ``LinkedRelu(Neg(x))`` (exact: ``-(-x) == x``);
- ``tf.nn.crelu``: ``Relu(Concat(x, Neg(x)))`` -> ``LinkedRelu(x)`` and
  ``Relu(Concat(Neg(x), x))`` -> ``LinkedRelu(Neg(x))``, on any axis.

Every rewrite is exactly output-preserving. Concats with a third input, halves of
different tensors or non-zero thresholds do not match.
"""

from __future__ import annotations

from typing import Any

import onnx_ir as ir

from linkedonnx.passes.half_semantics import relu_form
from linkedonnx.passes.recognize_base import LinkedRuleBase, MirrorRule


class MirrorReluRule(MirrorRule):
    """Concat of relu(z) and relu(-z), either first."""

    kind = "relu"
    half = staticmethod(relu_form)


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
    *MirrorReluRule.rules(),
    CReluRule.rule(neg_first=False),
    CReluRule.rule(neg_first=True),
]
