"""Recognize mirrored SELU as ``linkedonnx::LinkedSelu``.

``Concat(h1, h2)`` where h1 means selu(x) and h2 selu(-x) (``Selu`` of ``±x`` spelled
any way of :mod:`linkedonnx.passes.half_semantics`, e.g. ``Selu(Mul(x, -1))``) ->
``LinkedSelu(x)``; with selu(-x) first -> ``LinkedSelu(Neg(x))``. Only Selu nodes whose
alpha and gamma equal the function's (the ONNX defaults) match.
"""

from __future__ import annotations

import onnx_ir as ir

from linkedonnx.passes.half_semantics import SELU_ALPHA, SELU_GAMMA, Form, selu_form
from linkedonnx.passes.recognize_base import HalvesRule


class MirrorSeluRule(HalvesRule):
    """Concat of selu(x) and selu(-x), either first."""

    kind = "selu"

    def __init__(self, neg_first: bool) -> None:
        super().__init__(
            "LinkedSelu(mirror, mirrored half first)" if neg_first else "LinkedSelu(mirror)",
            sigma=-1 if neg_first else 1,
        )

    def known_pair(self, *_: ir.Value | None) -> tuple[Form, Form]:
        return selu_form(self.sigma), selu_form(-self.sigma)


__all__ = ["RULES", "SELU_ALPHA", "SELU_GAMMA", "MirrorSeluRule"]

#: The rules of this family, in the order they are tried.
RULES = [MirrorSeluRule.rule(neg_first=False), MirrorSeluRule.rule(neg_first=True)]
