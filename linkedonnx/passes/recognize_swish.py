"""Recognize mirrored Swish as ``linkedonnx::LinkedSwish``.

``Concat(x*Sigmoid(x), n*Sigmoid(n))`` with ``n`` meaning ``-x`` (``Neg(x)``,
``Mul(x, -1)`` ...; each Mul either operand order) -> ``LinkedSwish(x)``; with the
mirrored half first -> ``LinkedSwish(Neg(x))``. Both uses of ``n`` in one Mul must be
the same value (the convert pipeline merges duplicates first); a gate of another tensor
does not match.
"""

from __future__ import annotations

from linkedonnx.passes.half_semantics import swish_form
from linkedonnx.passes.recognize_base import MirrorRule


class MirrorSwishRule(MirrorRule):
    """Concat of swish(x) and swish(-x), either first."""

    kind = "swish"
    half = staticmethod(swish_form)


#: The rules of this family, in the order they are tried.
RULES = MirrorSwishRule.rules()
