"""The signed family: min-max LK-ReLU as ``linkedonnx::LinkedReluMinMax``, for every
kind listing "signed" among its recognition families (its halves of ``sigma*x``, the
whole negated or not).

``Concat(h1, h2)`` where h1 means max(x, 0) and h2 min(x, 0), however spelled (Relu,
Max/Clip/Where against zero, ``-relu(-x)``, ``Min`` with zeros of any shape that does not
enlarge x ...; see :mod:`linkedonnx.passes.half_semantics`) -> ``LinkedReluMinMax(x)``.
The same pair for ``-x``, or negated, or both, is exact too:

- ``Concat(min(x, 0), max(x, 0))`` -> ``Neg(LinkedReluMinMax(Neg(x)))`` (the function of
  -x is [max(-x, 0), min(-x, 0)] = -[min(x, 0), max(x, 0)]);
- ``Concat(max(-x, 0), min(-x, 0))`` -> ``LinkedReluMinMax(Neg(x))``;
- ``Concat(min(-x, 0), max(-x, 0))`` -> ``Neg(LinkedReluMinMax(x))``.

Min or Max against a non-zero constant, or against a zero tensor that would broadcast
x to a larger shape, does not match.
"""

from __future__ import annotations

from onnxscript.rewriter import pattern as P

from linkedonnx.functions import op_type
from linkedonnx.kinds import LinkedKind
from linkedonnx.passes.recognize_base import HalvesRule

#: (sigma, tau) of each rule -> its name's tail: the halves of sigma*x, output times tau.
RULE_NAMES = {
    (1, 1): "minmax",
    (-1, -1): "min half first",
    (-1, 1): "minmax of the negation",
    (1, -1): "min half first, of the negation",
}


class SignedRule(HalvesRule):
    """``tau * Concat(h1(sigma*x), h2(sigma*x))`` for the kind's halves h1, h2."""

    def __init__(self, kind: str, sigma: int, tau: int) -> None:
        name = f"{op_type(kind)}({RULE_NAMES[(sigma, tau)]})"
        super().__init__(name, kind, sigma=sigma, tau=tau)


def rules(kind: LinkedKind) -> list[P.RewriteRule]:
    """The family's rules for ``kind``, in the order they are tried."""
    return [SignedRule.kind_rule(kind, sigma=s, tau=t) for s, t in RULE_NAMES]
