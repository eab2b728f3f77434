"""Recognize mirrored Swish as ``linkedonnx::LinkedSwish``.

``Concat(x*Sigmoid(x), n*Sigmoid(n))`` with ``n`` meaning ``-x`` (``Neg(x)``,
``Mul(x, -1)`` ...; each Mul either operand order) -> ``LinkedSwish(x)``; with the
mirrored half first -> ``LinkedSwish(Neg(x))``. Both uses of ``n`` in one Mul must be
the same value (the convert pipeline merges duplicates first); a gate of another tensor
does not match.
"""

from __future__ import annotations

import onnx_ir as ir

from linkedonnx.passes.half_semantics import Form, swish_form
from linkedonnx.passes.recognize_base import HalvesRule


class MirrorSwishRule(HalvesRule):
    """Concat of swish(x) and swish(-x), either first."""

    kind = "swish"

    def __init__(self, neg_first: bool) -> None:
        super().__init__(
            "LinkedSwish(mirror, mirrored half first)" if neg_first else "LinkedSwish(mirror)",
            sigma=-1 if neg_first else 1,
        )

    def known_pair(self, *_: ir.Value | None) -> tuple[Form, Form]:
        return swish_form(self.sigma), swish_form(-self.sigma)


#: The rules of this family, in the order they are tried.
RULES = [MirrorSwishRule.rule(neg_first=False), MirrorSwishRule.rule(neg_first=True)]
