"""The crelu family: ``tf.nn.crelu`` as ``linkedonnx::LinkedRelu`` (the mirror spellings
of LK-ReLU are the mirror family's, :mod:`linkedonnx.passes.recognize_mirror`).

- ``tf.nn.crelu``: ``Relu(Concat(x, Neg(x)))`` -> ``LinkedRelu(x)`` and
  ``Relu(Concat(Neg(x), x))`` -> ``LinkedRelu(Neg(x))``, on any axis.

Every rewrite is exactly output-preserving. Concats with a third input, halves of
different tensors or non-zero thresholds do not match.
"""

from __future__ import annotations

from typing import Any

import onnx_ir as ir
from onnxscript.rewriter import pattern as P

from linkedonnx.functions import op_type
from linkedonnx.kinds import LinkedKind
from linkedonnx.passes.recognize_base import LinkedRuleBase


class CReluRule(LinkedRuleBase):
    """``tf.nn.crelu``: Relu of Concat(x, -x) (or Concat(-x, x)) on any axis."""

    def __init__(self, kind: str, neg_first: bool) -> None:
        name = op_type(kind)
        super().__init__(
            f"{name}(crelu, mirrored half first)" if neg_first else f"{name}(crelu)", kind
        )
        self.neg_first = neg_first

    def pattern(self, op: Any, x: Any) -> Any:
        neg = op.Neg(x)
        parts = (neg, x) if self.neg_first else (x, neg)
        return op.Relu(op.Concat(*parts, _outputs=["cat"]))

    def rewrite(self, op: Any, x: ir.Value, cat: ir.Value, **_: Any) -> ir.Value:
        source = op.Neg(x) if self.neg_first else x
        return self.emit(op, self.kind, [source], self.axis_of(cat))


def rules(kind: LinkedKind) -> list[P.RewriteRule]:
    """The family's rules for ``kind`` (whose halves are relu(z), relu(-z)), in the order
    they are tried."""
    return [CReluRule.kind_rule(kind, neg_first=False), CReluRule.kind_rule(kind, neg_first=True)]
