"""Recognize mirrored SELU as ``linkedonnx::LinkedSelu``.

``Concat(Selu(x), Selu(Neg(x)))`` -> ``LinkedSelu(x)`` and ``Concat(Selu(Neg(x)),
Selu(x))`` -> ``LinkedSelu(Neg(x))``. Only Selu nodes whose alpha and gamma equal the
function's (the ONNX defaults) match.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx_ir as ir
from onnxscript.rewriter import pattern as P

from linkedonnx.passes.graph_utils import attr_value
from linkedonnx.passes.recognize_base import LinkedRuleBase

#: ONNX Selu defaults, which the LinkedSelu body uses.
SELU_ALPHA = np.float32(1.67326319217681884765625)
SELU_GAMMA = np.float32(1.05070102214813232421875)


def has_default_attributes(node: ir.Node) -> bool:
    """True when a Selu node's alpha and gamma (if given) equal the defaults in float32."""
    alpha = attr_value(node, "alpha", SELU_ALPHA)
    gamma = attr_value(node, "gamma", SELU_GAMMA)
    return np.float32(alpha) == SELU_ALPHA and np.float32(gamma) == SELU_GAMMA


class MirrorSeluRule(LinkedRuleBase):
    """Concat of selu(x) and selu(-x), either first."""

    def __init__(self, neg_first: bool) -> None:
        super().__init__(
            "LinkedSelu(mirror, mirrored half first)" if neg_first else "LinkedSelu(mirror)"
        )
        self.neg_first = neg_first

    def pattern(self, op: Any, x: Any) -> Any:
        pos = op.Selu(x, _outputs=["pos"])
        neg = op.Selu(op.Neg(x), _outputs=["neg"])
        return op.Concat(*((neg, pos) if self.neg_first else (pos, neg)), _outputs=["out"])

    def check(self, context: Any, pos: ir.Value, neg: ir.Value, **_: Any) -> P.MatchResult:
        result = P.MatchResult()
        for value in (pos, neg):
            if not has_default_attributes(value.producer()):
                return result.fail("Selu with non-default alpha/gamma", value.producer())
        return result

    def rewrite(self, op: Any, x: ir.Value, out: ir.Value, **_: Any) -> ir.Value:
        source = op.Neg(x) if self.neg_first else x
        return self.emit(op, "selu", [source], self.axis_of(out))


#: The rules of this family, in the order they are tried.
RULES = [MirrorSeluRule.rule(neg_first=False), MirrorSeluRule.rule(neg_first=True)]
