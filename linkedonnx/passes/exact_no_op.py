"""Exact no-op rules: ``x * 1``, ``1 * x``, ``x / 1``, ``x + 0``, ``0 + x``, ``x - 0``
-> ``Identity(x)`` when the constant is exactly the neutral element (no torch here).

They replace onnxscript's no-op rules, whose pattern constants match within a relative
tolerance of 1e-5 (``x * 1.000001`` became ``x``). A constant is read through
:func:`~linkedonnx.passes.graph_utils.const_array`, so one that is a graph input (a
caller may feed another value) is never neutral. The constant must hold one element and
must not broadcast ``x`` to a higher rank. As in recognition, the sign of zero is
excepted: ``-0.0 + 0.0`` is ``+0.0``, which compares equal to ``x``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx_ir as ir
from onnxscript.rewriter import MatchResult, RewriteRuleSet
from onnxscript.rewriter import pattern as P

from linkedonnx.passes.graph_utils import const_array, known_rank


class ExactNoOp(P.RewriteRuleClassBase):
    """``op_type(x, c)`` (or ``op_type(c, x)`` with ``constant_first``) -> ``Identity(x)``
    when ``c`` is a one-element constant exactly equal to ``neutral``."""

    def __init__(self, op_type: str, neutral: float, constant_first: bool = False) -> None:
        order = "cx" if constant_first else "xc"
        super().__init__(name=f"ExactNoOp{op_type}{order}")
        self.op_type, self.neutral, self.constant_first = op_type, neutral, constant_first

    def pattern(self, op: Any, x: Any, c: Any) -> Any:
        node = getattr(op, self.op_type)
        return node(c, x) if self.constant_first else node(x, c)

    def check(self, context: Any, x: ir.Value, c: ir.Value, **_: Any) -> MatchResult:
        result = MatchResult()
        value = const_array(c)
        if value is None:
            return result.fail(f"{c.name!r} is not a constant (or is a graph input)")
        if value.size != 1 or not np.all(value == self.neutral):
            return result.fail(f"{c.name!r} is not exactly {self.neutral:g}")
        if value.ndim > 0 and (known_rank(x) or 0) < value.ndim:
            return result.fail(f"{c.name!r} may broadcast {x.name!r} to a higher rank")
        return result

    def rewrite(self, op: Any, x: ir.Value, c: ir.Value, **_: Any) -> ir.Value:
        return op.Identity(x)


#: The family: both operand orders of the commutative Mul and Add.
exact_no_op_rules = RewriteRuleSet(
    [
        ExactNoOp.rule("Mul", 1.0),
        ExactNoOp.rule("Mul", 1.0, constant_first=True),
        ExactNoOp.rule("Div", 1.0),
        ExactNoOp.rule("Add", 0.0),
        ExactNoOp.rule("Add", 0.0, constant_first=True),
        ExactNoOp.rule("Sub", 0.0),
    ]
)
