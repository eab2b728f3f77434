"""What the recognition rule families share: a rule base class that emits
``linkedonnx::Linked*`` calls, and the pattern pieces for the spellings of one *half*
of a linked activation (Relu, Min, PRelu, Swish written several ways), each with its
exactness check.

The pieces build onnxscript rewriter patterns (``OrValue`` alternatives tagged by a
variable) and never match by hand. Checks return a reason string on failure (or None)
so rules can explain themselves with ``MatchResult.fail``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import onnx_ir as ir
from onnxscript.rewriter import pattern as P

from linkedonnx import DOMAIN
from linkedonnx.functions import DOMAIN_VERSION, op_type
from linkedonnx.passes.graph_utils import broadcasts_into, const_array, is_zero_like, static_shape


class LinkedRuleBase(P.RewriteRuleClassBase):
    """A rewrite rule whose replacement calls a linked function.

    Rules keep matched nodes in place (``remove_nodes=False``) so that a shared
    intermediate value (a ``Neg`` also read elsewhere) does not block the rewrite;
    the rewriter removes what became unused.
    """

    def __init__(self, name: str) -> None:
        super().__init__(name=name, remove_nodes=False)

    @staticmethod
    def axis_of(out: ir.Value) -> int:
        """The ``axis`` attribute of the node producing ``out`` (a Concat)."""
        producer = out.producer()
        assert producer is not None
        return int(producer.attributes["axis"].value)

    @staticmethod
    def emit(op: Any, kind: str, inputs: list[ir.Value], axis: int) -> ir.Value:
        """Emit a call of the linked function of ``kind`` on ``inputs`` with ``axis``."""
        return op.op(op_type(kind), *inputs, _domain=DOMAIN, _version=DOMAIN_VERSION, axis=axis)


# -- half spellings ---------------------------------------------------------------------


def relu_half(op: Any, x: Any, prefix: str) -> Any:
    """Pattern for max(x, 0): ``Relu(x)``, ``Max(x, 0)``, ``Max(0, x)``, ``Clip(x, 0)``
    (torch's ``clamp(min=0)``, which linkedonnx.nn uses for its derivative 1 at 0) or
    torch's ``Where(Less(x, 0), 0, x)``. The spelling matched is bound to ``<prefix>_form``."""
    return P.OrValue(
        [
            op.Relu(x),
            op.Max(x, P.Var(f"{prefix}_zmax")),
            op.Max(P.Var(f"{prefix}_zmax"), x),
            op.Clip(x, P.Var(f"{prefix}_zclip")),
            op.Where(op.Less(x, P.Var(f"{prefix}_zless")), P.Var(f"{prefix}_zthen"), x),
        ],
        tag_var=f"{prefix}_form",
        tag_values=["relu", "max", "max", "clip", "where"],
    )


def check_relu_half(bindings: Mapping[str, Any], prefix: str, like: ir.Value) -> str | None:
    """Check a :func:`relu_half` match: every zero is an exact zero constant that does not
    broadcast ``like`` to a larger shape. Return the failure reason, or None."""
    form = bindings.get(f"{prefix}_form")
    if form == "max" and not is_zero_like(bindings.get(f"{prefix}_zmax"), like):
        return f"{prefix}: Max against something other than a zero constant"
    if form == "clip" and not is_zero_like(bindings.get(f"{prefix}_zclip"), like):
        return f"{prefix}: Clip with a lower bound other than a zero constant"
    if form == "where":
        if not is_zero_like(bindings.get(f"{prefix}_zless"), like):
            return f"{prefix}: Where(Less(x, c)) with c not a zero constant"
        if not is_zero_like(bindings.get(f"{prefix}_zthen"), like):
            return f"{prefix}: Where(x < 0, c, x) with c not a zero constant"
    return None


#: The spellings of min(x, 0) that :func:`min_half` can match.
MIN_FORMS = ("min", "min-swapped", "clip")


def min_half(op: Any, x: Any, prefix: str, form: str) -> Any:
    """Pattern for min(x, 0) in spelling ``form``: ``Min(x, 0)`` ("min"), ``Min(0, x)``
    ("min-swapped") or ``Clip(x, , 0)`` ("clip", torch's ``clamp(max=0)``).

    One rule per spelling rather than an ``OrValue``: a bare ``x`` on either side of a
    commutative Min would let the first alternative bind the zero as ``x``."""
    zero = P.Var(f"{prefix}_zmin")
    if form == "min":
        return op.Min(x, zero)
    if form == "min-swapped":
        return op.Min(zero, x)
    if form == "clip":
        return op.Clip(x, None, zero)
    raise ValueError(f"unknown min spelling {form!r}; expected one of {MIN_FORMS}")


def check_min_half(bindings: Mapping[str, Any], prefix: str, like: ir.Value) -> str | None:
    """Check a :func:`min_half` match: the bound is an exact zero constant that does not
    broadcast ``like``. Return the failure reason, or None."""
    if not is_zero_like(bindings.get(f"{prefix}_zmin"), like):
        return f"{prefix}: Min/Clip against something other than a zero constant"
    return None


def prelu_half(op: Any, x: Any, prefix: str) -> Any:
    """Pattern for prelu(x, s): ``PRelu(x, s)`` or torch's ``Where(Less(x, 0), x*s, x)``
    (Mul either way round). The slope is bound to ``<prefix>_slope``."""
    s = P.Var(f"{prefix}_slope")
    less = P.Var(f"{prefix}_zless")
    return P.OrValue(
        [
            op.PRelu(x, s),
            op.Where(op.Less(x, less), op.Mul(x, s), x),
            op.Where(op.Less(x, less), op.Mul(s, x), x),
        ],
        tag_var=f"{prefix}_form",
        tag_values=["prelu", "where", "where"],
    )


def check_prelu_half(bindings: Mapping[str, Any], prefix: str, like: ir.Value) -> str | None:
    """Check a :func:`prelu_half` match: in the Where spelling the comparison is against
    an exact zero and the slope broadcasts into ``like`` (as PRelu requires)."""
    if bindings.get(f"{prefix}_form") != "where":
        return None
    if not is_zero_like(bindings.get(f"{prefix}_zless"), like):
        return f"{prefix}: Where(Less(x, c)) with c not a zero constant"
    slope = bindings.get(f"{prefix}_slope")
    arr = const_array(slope)
    shape = arr.shape if arr is not None else static_shape(slope)
    if shape is None or not broadcasts_into(shape, like):
        return f"{prefix}: slope shape unknown or not broadcastable into the input"
    return None


def swish_half(op: Any, x: Any, prefix: str) -> Any:
    """Pattern for swish(x) = ``Mul(x, Sigmoid(x))`` (either operand order)."""
    return P.OrValue(
        [op.Mul(x, op.Sigmoid(x)), op.Mul(op.Sigmoid(x), x)],
        tag_var=f"{prefix}_form",
        tag_values=["mul", "mul"],
    )
