"""Recognize mirrored PReLU as ``linkedonnx::LinkedPRelu``.

``Concat(P(x, a), P(Neg(x), b))`` -> ``LinkedPRelu(x, a, b)`` and
``Concat(P(Neg(x), b), P(x, a))`` -> ``LinkedPRelu(Neg(x), b, a)``, where P is
``PRelu``, torch's ``Where(Less(x, 0), x*s, x)`` or any other spelling of the grammar of
:mod:`linkedonnx.passes.half_semantics`. The slopes are kept as they are
(they broadcast to x exactly as in the flat graph).
"""

from __future__ import annotations

import onnx_ir as ir

from linkedonnx.passes.half_semantics import Form, HalvesMatch, prelu_form
from linkedonnx.passes.recognize_base import MirrorRule


class MirrorPReluRule(MirrorRule):
    """Concat of prelu(x, a) and prelu(-x, b), either first; the slopes go to the call."""

    kind = "prelu"

    def known_pair(
        self, first_slope: ir.Value | None, second_slope: ir.Value | None
    ) -> tuple[Form, Form] | None:
        if first_slope is None or second_slope is None:
            return None
        return prelu_form(self.sigma, first_slope), prelu_form(-self.sigma, second_slope)

    def call_inputs(self, source: ir.Value, found: HalvesMatch) -> list[ir.Value]:
        assert found.first_slope is not None and found.second_slope is not None
        return [source, found.first_slope, found.second_slope]


#: The rules of this family, in the order they are tried.
RULES = MirrorPReluRule.rules()
