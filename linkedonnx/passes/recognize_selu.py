"""Recognize mirrored SELU as ``linkedonnx::LinkedSelu``.

``Concat(h1, h2)`` where h1 means selu(x) and h2 selu(-x) (``Selu`` of ``±x`` spelled
any way of :mod:`linkedonnx.passes.half_semantics`, e.g. ``Selu(Mul(x, -1))``) ->
``LinkedSelu(x)``; with selu(-x) first -> ``LinkedSelu(Neg(x))``. Only Selu nodes whose
alpha and gamma equal the function's (the ONNX defaults) match.
"""

from __future__ import annotations

from linkedonnx.passes.half_semantics import SELU_ALPHA, SELU_GAMMA, selu_form
from linkedonnx.passes.recognize_base import MirrorRule


class MirrorSeluRule(MirrorRule):
    """Concat of selu(x) and selu(-x), either first."""

    kind = "selu"
    half = staticmethod(selu_form)


__all__ = ["RULES", "SELU_ALPHA", "SELU_GAMMA", "MirrorSeluRule"]

#: The rules of this family, in the order they are tried.
RULES = MirrorSeluRule.rules()
