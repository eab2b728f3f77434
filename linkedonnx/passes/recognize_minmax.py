"""Recognize min-max LK-ReLU as ``linkedonnx::LinkedReluMinMax``.

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

import onnx_ir as ir

from linkedonnx.passes.half_semantics import Form, relu_form
from linkedonnx.passes.recognize_base import HalvesRule

#: (sigma, tau) of each rule -> its name: the halves of sigma*x, the output times tau.
FORMS = {
    (1, 1): "LinkedReluMinMax(minmax)",
    (-1, -1): "LinkedReluMinMax(min half first)",
    (-1, 1): "LinkedReluMinMax(minmax of the negation)",
    (1, -1): "LinkedReluMinMax(min half first, of the negation)",
}


class MinMaxRule(HalvesRule):
    """``tau * Concat(max(sigma*x, 0), min(sigma*x, 0))``."""

    kind = "relu-minmax"

    def __init__(self, sigma: int, tau: int) -> None:
        super().__init__(FORMS[(sigma, tau)], sigma=sigma, tau=tau)

    def known_pair(self, *_: ir.Value | None) -> tuple[Form, Form]:
        s, t = self.sigma, self.tau
        return relu_form(s, t), relu_form(-s, -t)


#: The rules of this family, in the order they are tried.
RULES = [MinMaxRule.rule(sigma=s, tau=t) for s, t in FORMS]
