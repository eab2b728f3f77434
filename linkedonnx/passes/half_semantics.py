"""What one half of a linked activation *means*: a chain of elementwise steps from a
pre-activation ``z`` reduced to a canonical form, compared with the known halves.

The grammar (closed; anything else is not a half): Relu; Neg; Abs; Min/Max against a
zero (a scalar, zeros of a shape that broadcasts into ``z`` without enlarging it, or
``Expand``/``ConstantOfShape`` of a zero shaped like ``z``); Clip with bounds (0, none)
or (none, 0), as scalar inputs or attributes; Where on a sign test (Less, Greater,
LessOrEqual, GreaterOrEqual against zero, either operand order) of a value that is
exactly ±z or 0 in each class, choosing between chain values and zero; Mul/Div by a
constant that is all 1 or all -1; Sub(0, t), Add/Sub of zero; Sub(t, Relu(t)) and
Sub(Relu(t), t); Identity; Cast/CastLike to the same type; LeakyRelu with alpha 0;
PRelu; the spellings of the registered kinds' activations (:mod:`linkedonnx.kinds`:
Selu with the default alpha and gamma, Mul(t, Sigmoid(t)) ...); and, for torch's PReLU
spelling, Mul of ``±z`` by a slope that does not depend on ``z`` and broadcasts
into it. Constants are read with ``const_array``, which refuses a graph input (it can be
overridden at run time).

Canonical form: a chain's :data:`Form` is its image on five classes of float32 input
(:data:`CLASSES`: finite z > 0, finite z < 0, +inf, -inf, NaN; the sign of zero is not
tracked), each image a :class:`Term` (exact zero, NaN, ``k*z``, ``k*slope*z``, or ``k*f(s*z)`` for
a registered activation ``f`` such as selu or swish, with k, s = ±1). Every step maps terms class by
class exactly as IEEE arithmetic does (``inf - inf`` and ``0 * inf`` are NaN, so
``Sub(z, Relu(z))`` differs from ``min(z, 0)`` at +inf and ``LeakyRelu(alpha=0)`` from
``relu`` at -inf). Two conventions, both documented in the README: a Clip bound left out
is no bound (the ONNX reference implementation and torch's clamp; ONNX Runtime clamps
±inf to ±FLT_MAX there), and a half may map NaN to 0 where the known half keeps NaN
(torch's ``where(z > 0, z, 0)``).

API: :func:`form_of` (a value's form as a function of ``z``; raises :class:`NotAHalf`),
the known halves :func:`relu_form`, :func:`activation_form`, :func:`prelu_form` and
:func:`half_form` (a registry :class:`~linkedonnx.kinds.Half`), :func:`same_meaning`, and :func:`match_halves` (find the ``z`` two
halves share and check them against a pair of known halves). No torch here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import onnx_ir as ir

from linkedonnx.kinds import ACTIVATIONS, Activation, Half
from linkedonnx.kinds.spelling import Op, match, op_types, render
from linkedonnx.passes.graph_utils import (
    attr_value,
    broadcasts_into,
    const_array,
    is_zero_like,
    static_shape,
)

#: The classes of float32 input a form gives the image of, in order.
CLASSES = ("pos", "neg", "+inf", "-inf", "nan")
_ZSIGN = {"pos": 1, "neg": -1, "+inf": 1, "-inf": -1}
_INFINITE = frozenset({"+inf", "-inf"})

#: How many values a backward walk may visit before giving up (chains are short).
WALK_LIMIT = 64
#: How many shared sources :func:`match_halves` tries as ``z``, nearest first.
MAX_SOURCES = 8


class NotAHalf(Exception):
    """A value is not a half of ``z`` in the grammar, or not equal to the expected one;
    the message says why (rules pass it to ``MatchResult.fail``)."""


@dataclass(frozen=True)
class Term:
    """The image of one input class: ``op`` is "zero" (exact 0), "nan", "z" (``k*z``),
    "slope" (``k*slope*z``), the name of a registered activation ``f`` (``k*f(s*z)``,
    e.g. "selu", "swish") or "unknown" (a step could not tell the value; ``why`` says
    which). An unknown image a
    later Where discards does no harm; one left in a half's form refuses it."""

    op: str
    k: int = 1
    s: int = 1
    slope: ir.Value | None = None
    why: str = field(default="", compare=False)


ZERO = Term("zero")
NAN = Term("nan")

#: A chain's image on each of :data:`CLASSES`.
Form = tuple[Term, ...]


# -- term arithmetic --------------------------------------------------------------------


def _negate(t: Term) -> Term:
    return t if t.op in ("zero", "nan") else replace(t, k=-t.k)


def _sign(t: Term, cls: str) -> int | None:
    """The sign of ``t``'s value on class ``cls`` (not NaN): +1, -1, 0, or None if unknown."""
    if t.op == "zero":
        return 0
    if t.op == "z":
        return t.k * _ZSIGN[cls]
    if t.op in ACTIVATIONS:
        return t.k * t.s * _ZSIGN[cls]
    slope = const_array(t.slope)  # k*slope*z: known for a constant slope of one sign
    if slope is not None and slope.size > 0 and bool(np.all(slope > 0)):
        return t.k * _ZSIGN[cls]
    if slope is not None and slope.size > 0 and bool(np.all(slope < 0)):
        return -t.k * _ZSIGN[cls]
    return None


def _infinite(t: Term, cls: str) -> bool | None:
    """Whether ``t``'s value on class ``cls`` is infinite, or None if unknown."""
    if t.op == "zero":
        return False
    if t.op == "slope":
        return None  # slope * z may overflow
    positive = t.s * _ZSIGN[cls] > 0
    act = ACTIVATIONS.get(t.op)
    if act is not None and act.overflows and positive and cls not in _INFINITE:
        return None  # e.g. selu: gamma > 1, selu(z) overflows near FLT_MAX
    if cls not in _INFINITE:
        return False
    if act is not None:
        return positive  # f(-inf) is finite, or NaN already
    return True


def _times_zero(t: Term, cls: str) -> Term:
    """``0 * t``: exact zero for a finite value, NaN for an infinite one."""
    infinite = _infinite(t, cls)
    if infinite is None:
        raise NotAHalf("0 * a value of unknown size")
    return NAN if infinite else ZERO


def _z_sign(t: Term, what: str) -> int:
    """The k of a term that must be ``±z``."""
    if t.op != "z":
        raise NotAHalf(f"{what} of something other than ±z")
    return t.k


def _activation_term(act: Activation, t: Term, cls: str) -> Term:
    """``f(t)`` for a registered activation ``f``: exact 0 at 0, NaN at -inf when the
    activation says so (swish: -inf * sigmoid(-inf) = -inf * 0), else ``f(s*z)``."""
    if t.op == "zero":
        return ZERO
    s = _z_sign(t, act.name)
    if act.nan_at_minus_inf and cls in _INFINITE and s * _ZSIGN[cls] < 0:
        return NAN
    return Term(act.name, 1, s)


def _relu(t: Term, cls: str) -> Term:
    sign = _sign(t, cls)
    if sign is None:
        raise NotAHalf("Relu/Max of a value of unknown sign")
    return t if sign > 0 else ZERO


def _min0(t: Term, cls: str) -> Term:
    sign = _sign(t, cls)
    if sign is None:
        raise NotAHalf("Min of a value of unknown sign")
    return t if sign < 0 else ZERO


def _abs(t: Term, cls: str) -> Term:
    sign = _sign(t, cls)
    if sign is None:
        raise NotAHalf("Abs of a value of unknown sign")
    return _negate(t) if sign < 0 else t if sign > 0 else ZERO


def _sub(a: Term, b: Term, cls: str) -> Term:
    """``a - b`` for two images of one class (the Sub(t, Relu(t)) forms)."""
    if "unknown" in (a.op, b.op):
        return a if a.op == "unknown" else b
    if "nan" in (a.op, b.op):
        return NAN
    if b.op == "zero":
        return a
    if a.op == "zero":
        return _negate(b)
    if a == b:
        infinite = _infinite(a, cls)
        if infinite is None:
            raise NotAHalf("t - t of unknown size")
        return NAN if infinite else ZERO  # inf - inf is NaN
    raise NotAHalf("Sub of two different non-zero terms")


def _per_class(fn: Callable[..., Term], *args: object) -> Term:
    """``fn(*args)``, or an unknown image with the reason when it cannot tell."""
    try:
        return fn(*args)
    except NotAHalf as exc:
        return Term("unknown", why=str(exc))


def _map(form: Form, fn: Callable[[Term, str], Term]) -> Form:
    """Apply an elementwise step class by class; NaN stays NaN (true for every step but
    Where, which does not use this) and an unknown image stays unknown."""
    return tuple(
        t if t.op in ("nan", "unknown") else _per_class(fn, t, cls)
        for t, cls in zip(form, CLASSES, strict=True)
    )


def known_form(form: Form) -> Form:
    """``form`` itself; raises NotAHalf (with the reason) when an image is unknown."""
    for t in form:
        if t.op == "unknown":
            raise NotAHalf(t.why)
    return form


# -- known halves ---------------------------------------------------------------------


def _known(fn: Callable[[int], Term]) -> Form:
    return tuple(NAN if cls == "nan" else fn(_ZSIGN[cls]) for cls in CLASSES)


def relu_form(sigma: int = 1, tau: int = 1) -> Form:
    """``tau * relu(sigma * z)`` (``relu_form(-1, -1)`` is ``min(z, 0)``)."""
    return _known(lambda zs: Term("z", sigma * tau) if sigma * zs > 0 else ZERO)


def activation_form(name: str, sigma: int = 1) -> Form:
    """``f(sigma * z)`` for the registered activation called ``name``."""
    act = ACTIVATIONS[name]
    return tuple(
        NAN if cls == "nan" else _activation_term(act, Term("z", sigma), cls) for cls in CLASSES
    )


def selu_form(sigma: int = 1) -> Form:
    """``selu(sigma * z)`` with the default alpha and gamma."""
    return activation_form("selu", sigma)


def swish_form(sigma: int = 1) -> Form:
    """``swish(sigma * z) = sigma*z * sigmoid(sigma*z)``."""
    return activation_form("swish", sigma)


def prelu_form(sigma: int, slope: ir.Value) -> Form:
    """``prelu(sigma * z, slope)``: ``sigma*z`` where positive, ``slope*sigma*z`` elsewhere."""
    return _known(
        lambda zs: Term("z", sigma) if sigma * zs > 0 else Term("slope", sigma, slope=slope)
    )


def half_form(half: Half, sigma: int = 1, tau: int = 1, slope: ir.Value | None = None) -> Form:
    """The form of a kind's ``half`` of ``sigma * z``, times ``tau``: relu and prelu (with
    ``slope``; tau 1 only) from the grammar's core, any other activation from the
    registry. Raises ValueError for a prelu half without a slope or negated."""
    s, t = half.sigma * sigma, half.tau * tau
    if half.activation == "relu":
        return relu_form(s, t)
    if half.activation == "prelu":
        if slope is None or t != 1:
            raise ValueError("a prelu half needs its slope and is never negated")
        return prelu_form(s, slope)
    form = activation_form(half.activation, s)
    return form if t == 1 else tuple(_negate(term) for term in form)


def same_meaning(form: Form, known: Form) -> bool:
    """True when ``form`` equals ``known`` on every class (the sign of zero aside), a NaN
    input mapped to 0 where ``known`` keeps NaN being accepted."""
    for cls, a, b in zip(CLASSES, form, known, strict=True):
        if a != b and not (cls == "nan" and b == NAN and a == ZERO):
            return False
    return True


def slope_of(form: Form) -> ir.Value | None:
    """The slope value a form multiplies ``z`` by somewhere (a PReLU half), or None."""
    return next((t.slope for t in form if t.op == "slope"), None)


# -- the classifier -------------------------------------------------------------------


def _inputs(node: ir.Node) -> list[ir.Value | None]:
    return list(node.inputs)


class _Chain:
    """Forms of values as functions of one ``z`` (memoized; bounded walk)."""

    def __init__(self, z: ir.Value) -> None:
        self.z = z
        self.memo: dict[int, Form] = {}
        self.spelled = _spelled_activations(_opset_of(z))

    # -- constants -------------------------------------------------------------------
    def is_zero(self, value: ir.Value | None) -> bool:
        return value is not None and is_zero_like(value, self.z)

    def unit(self, value: ir.Value | None) -> int | None:
        """+1 / -1 when ``value`` is a floating constant that is all 1 / all -1 and does
        not enlarge ``z`` by broadcasting; else None."""
        arr = const_array(value)
        if arr is None or arr.size == 0 or not np.issubdtype(arr.dtype, np.floating):
            return None
        if not broadcasts_into(arr.shape, self.z):
            return None
        for u in (1, -1):
            if bool(np.all(arr == u)):
                return u
        return None

    def independent(self, value: ir.Value | None) -> bool:
        """True when ``value`` (a slope) provably does not depend on ``z``."""
        if value is None:
            return False
        seen, todo = 0, [value]
        visited: set[int] = set()
        while todo:
            v = todo.pop()
            if v is self.z:
                return False
            if id(v) in visited:
                continue
            visited.add(id(v))
            seen += 1
            if seen > WALK_LIMIT:
                return False
            node = v.producer()
            if node is not None:
                todo.extend(i for i in node.inputs if i is not None)
        return True

    def slope_fits(self, slope: ir.Value) -> bool:
        arr = const_array(slope)
        shape = arr.shape if arr is not None else static_shape(slope)
        return shape is not None and broadcasts_into(shape, self.z) and self.independent(slope)

    # -- forms -----------------------------------------------------------------------
    def form(self, value: ir.Value | None, depth: int = 0) -> Form:
        """The form of ``value``; raises NotAHalf."""
        if value is None:
            raise NotAHalf("a missing input")
        if value is self.z:
            return tuple(NAN if cls == "nan" else Term("z") for cls in CLASSES)
        if depth > WALK_LIMIT:
            raise NotAHalf("the chain is too long")
        key = id(value)
        if key not in self.memo:
            self.memo[key] = self._step(value, depth + 1)
        return self.memo[key]

    def _step(self, value: ir.Value, depth: int) -> Form:
        node = value.producer()
        if node is None:
            raise NotAHalf(f"{value.name!r} is not computed from z")
        if node.domain not in ("", "ai.onnx") or len(node.outputs) != 1:
            raise NotAHalf(f"{node.op_type} is not a step of the half grammar")
        for act, tree in self.spelled.get(node.op_type, ()):
            x = match(tree, value, _IR_VIEW)
            if x is not None:
                return _map(self.form(x, depth), functools.partial(_activation_term, act))
        handler = _STEPS.get(node.op_type)
        if handler is None and node.op_type in self.spelled:
            act, tree = self.spelled[node.op_type][0]
            raise NotAHalf(
                f"{node.op_type} is not {act.name} as the function spells it, {render(tree)}"
            )
        if handler is None:
            raise NotAHalf(f"{node.op_type} is not a step of the half grammar")
        return handler(self, node, depth)


class _IrView:
    """How :func:`linkedonnx.kinds.spelling.match` reads an onnx_ir graph."""

    def producer(self, value: ir.Value) -> ir.Node | None:
        node = value.producer()
        if node is None or node.domain not in ("", "ai.onnx") or len(node.outputs) != 1:
            return None
        return node

    def op_type(self, node: ir.Node) -> str:
        return node.op_type

    def inputs(self, node: ir.Node) -> list[ir.Value | None]:
        return list(node.inputs)

    def attribute(self, node: ir.Node, name: str) -> object:
        return attr_value(node, name)

    def constant(self, value: ir.Value) -> np.ndarray | None:
        """The constant ``value`` holds, also through a Cast/CastLike of a constant (the
        function bodies write their constants so); None when it is not one."""
        arr = const_array(value)
        producer = value.producer()
        if arr is not None or producer is None or producer.op_type not in ("Cast", "CastLike"):
            return arr
        base = const_array(producer.inputs[0]) if producer.domain in ("", "ai.onnx") else None
        if base is None or value.dtype is None:
            return None
        return base.astype(value.dtype.numpy())


_IR_VIEW = _IrView()


def _opset_of(value: ir.Value) -> int | None:
    """The default-domain opset of the graph ``value`` lives in, or None when unknown."""
    graph = value.graph
    if graph is None:
        producer = value.producer()
        graph = producer.graph if producer is not None else None
    if graph is None:
        return None
    opset = graph.opset_imports.get("", graph.opset_imports.get("ai.onnx"))
    return int(opset) if opset is not None else None


@functools.cache
def _spelled_activations(opset: int | None) -> dict[str, list[tuple[Activation, Op]]]:
    """op type of a tree's root -> (activation, tree) recognized at ``opset``."""
    out: dict[str, list[tuple[Activation, Op]]] = {}
    for act in ACTIVATIONS.values():
        for tree in act.spellings_at(opset):
            out.setdefault(tree.op_type, []).append((act, tree))
    return out


# -- steps ------------------------------------------------------------------------------


def _unary(node: ir.Node) -> ir.Value | None:
    if len(node.inputs) != 1:
        raise NotAHalf(f"{node.op_type} with {len(node.inputs)} inputs")
    return node.inputs[0]


def _identity(c: _Chain, node: ir.Node, depth: int) -> Form:
    return c.form(_unary(node), depth)


def _neg(c: _Chain, node: ir.Node, depth: int) -> Form:
    return _map(c.form(_unary(node), depth), lambda t, _: _negate(t))


def _relu_step(c: _Chain, node: ir.Node, depth: int) -> Form:
    return _map(c.form(_unary(node), depth), _relu)


def _abs_step(c: _Chain, node: ir.Node, depth: int) -> Form:
    return _map(c.form(_unary(node), depth), _abs)


def _chain_and_zero(c: _Chain, node: ir.Node, what: str) -> ir.Value:
    """The non-zero operand of a binary step whose other operand must be a zero."""
    ins = _inputs(node)
    if len(ins) != 2:
        raise NotAHalf(f"{node.op_type} with {len(ins)} inputs")
    a, b = ins
    if c.is_zero(b):
        return a
    if c.is_zero(a):
        return b
    raise NotAHalf(f"{node.op_type} against {what}")


def _max_step(c: _Chain, node: ir.Node, depth: int) -> Form:
    x = _chain_and_zero(c, node, "something other than a zero constant")
    return _map(c.form(x, depth), _relu)


def _min_step(c: _Chain, node: ir.Node, depth: int) -> Form:
    x = _chain_and_zero(c, node, "something other than a zero constant")
    return _map(c.form(x, depth), _min0)


def _add_step(c: _Chain, node: ir.Node, depth: int) -> Form:
    return c.form(_chain_and_zero(c, node, "a non-zero value"), depth)


def _clip_step(c: _Chain, node: ir.Node, depth: int) -> Form:
    ins = [*_inputs(node), None, None]
    x, lo, hi = ins[0], ins[1], ins[2]

    def bound(value: ir.Value | None, attr: str) -> str:
        if value is not None:  # a bound must be a scalar (ONNX Runtime refuses others)
            arr = const_array(value)
            return "zero" if arr is not None and arr.size == 1 and c.is_zero(value) else "other"
        if attr in node.attributes:
            return "zero" if attr_value(node, attr) == 0 else "other"
        return "none"

    bounds = (bound(lo, "min"), bound(hi, "max"))
    if bounds == ("zero", "none"):
        return _map(c.form(x, depth), _relu)
    if bounds == ("none", "zero"):
        return _map(c.form(x, depth), _min0)
    raise NotAHalf(f"Clip with bounds {bounds}, not (0, none) or (none, 0)")


def _leaky_step(c: _Chain, node: ir.Node, depth: int) -> Form:
    if attr_value(node, "alpha", 0.01) != 0:
        raise NotAHalf("LeakyRelu with alpha other than 0")

    def leaky0(t: Term, cls: str) -> Term:
        sign = _sign(t, cls)
        if sign is None:
            raise NotAHalf("LeakyRelu of a value of unknown sign")
        return t if sign > 0 else ZERO if sign == 0 else _times_zero(t, cls)

    return _map(c.form(_unary(node), depth), leaky0)


def _scaled(c: _Chain, t: Term, slope: ir.Value, cls: str) -> Term:
    """``slope * t`` on class ``cls`` for a slope that fits (constants that are all 1, all
    -1 or all 0 made exact)."""
    unit = c.unit(slope)
    if unit is not None:
        return t if unit > 0 else _negate(t)
    arr = const_array(slope)
    if arr is not None and arr.size > 0 and bool(np.all(arr == 0)):
        return _times_zero(t, cls)
    return Term("slope", _z_sign(t, "a slope times"), slope=slope)


def _prelu_step(c: _Chain, node: ir.Node, depth: int) -> Form:
    ins = _inputs(node)
    if len(ins) != 2 or ins[1] is None or not c.slope_fits(ins[1]):
        raise NotAHalf("PRelu slope depends on z or does not broadcast into it")
    slope = ins[1]
    if c.unit(slope) == 1:
        return c.form(ins[0], depth)  # PRelu with slope 1 is the identity, whatever the sign

    def prelu(t: Term, cls: str) -> Term:
        sign = _sign(t, cls)
        if sign is None:
            raise NotAHalf("PRelu of a value of unknown sign")
        return t if sign > 0 else ZERO if sign == 0 else _scaled(c, t, slope, cls)

    return _map(c.form(ins[0], depth), prelu)


def _is_unary_of(value: ir.Value | None, op_type: str, x: ir.Value | None) -> bool:
    """True when ``value`` is ``op_type(x)`` (a standard-domain op)."""
    producer = value.producer() if value is not None else None
    return (
        producer is not None
        and producer.op_type == op_type
        and producer.domain in ("", "ai.onnx")
        and list(producer.inputs) == [x]
    )


def _scale_by(c: _Chain, slope: ir.Value, t: Term, cls: str) -> Term:
    return _scaled(c, t, slope, cls)


def _times_unit(unit: int) -> Callable[[Term, str], Term]:
    return (lambda t, _: t) if unit > 0 else (lambda t, _: _negate(t))


def _mul_step(c: _Chain, node: ir.Node, depth: int) -> Form:
    ins = _inputs(node)
    if len(ins) != 2:
        raise NotAHalf(f"Mul with {len(ins)} inputs")
    a, b = ins
    for x, other in ((a, b), (b, a)):
        unit = c.unit(other)
        if unit is not None:
            return _map(c.form(x, depth), _times_unit(unit))
    for x, slope in ((a, b), (b, a)):
        if slope is not None and c.slope_fits(slope):
            return _map(c.form(x, depth), functools.partial(_scale_by, c, slope))
    raise NotAHalf("Mul by something other than ±1 or a slope")


def _div_step(c: _Chain, node: ir.Node, depth: int) -> Form:
    ins = _inputs(node)
    unit = c.unit(ins[1]) if len(ins) == 2 else None
    if unit is None:
        raise NotAHalf("Div by something other than a constant ±1")
    return _map(c.form(ins[0], depth), _times_unit(unit))


def _sub_step(c: _Chain, node: ir.Node, depth: int) -> Form:
    ins = _inputs(node)
    if len(ins) != 2:
        raise NotAHalf(f"Sub with {len(ins)} inputs")
    a, b = ins
    if c.is_zero(b):
        return c.form(a, depth)
    if c.is_zero(a):
        return _map(c.form(b, depth), lambda t, _: _negate(t))
    if not (_is_unary_of(b, "Relu", a) or _is_unary_of(a, "Relu", b)):
        raise NotAHalf("Sub other than 0 - t, t - 0, t - Relu(t) or Relu(t) - t")
    fa, fb = c.form(a, depth), c.form(b, depth)
    return tuple(_per_class(_sub, x, y, cls) for x, y, cls in zip(fa, fb, CLASSES, strict=True))


def _same_type(a: ir.Value | None, b: ir.Value | None) -> bool:
    return a is not None and b is not None and a.dtype is not None and a.dtype == b.dtype


def _cast_step(c: _Chain, node: ir.Node, depth: int) -> Form:
    x = _unary(node)
    to = attr_value(node, "to")
    if x is None or x.dtype is None or to is None or int(to) != x.dtype.value:
        raise NotAHalf("Cast to another type")
    return c.form(x, depth)


def _castlike_step(c: _Chain, node: ir.Node, depth: int) -> Form:
    ins = _inputs(node)
    if len(ins) != 2 or not _same_type(ins[0], ins[1]):
        raise NotAHalf("CastLike to another type")
    return c.form(ins[0], depth)


#: Sign tests: op -> (test on the sign of 'value OP 0', the op with operands swapped).
_SIGN_TESTS: dict[str, tuple[Callable[[int], bool], str]] = {
    "Less": (lambda s: s < 0, "Greater"),
    "Greater": (lambda s: s > 0, "Less"),
    "LessOrEqual": (lambda s: s <= 0, "GreaterOrEqual"),
    "GreaterOrEqual": (lambda s: s >= 0, "LessOrEqual"),
}


def _where_step(c: _Chain, node: ir.Node, depth: int) -> Form:
    ins = _inputs(node)
    if len(ins) != 3:
        raise NotAHalf("Where without three inputs")
    cond, then, other = ins
    test = cond.producer() if cond is not None else None
    if test is None or test.op_type not in _SIGN_TESTS or test.domain not in ("", "ai.onnx"):
        raise NotAHalf("Where on something other than a sign test")
    p, q = list(test.inputs) + [None] * (2 - len(test.inputs))
    op = test.op_type
    if c.is_zero(q):
        tested = p
    elif c.is_zero(p):
        tested, op = q, _SIGN_TESTS[op][1]
    else:
        raise NotAHalf(f"Where({op}) against something other than a zero constant")
    passes = _SIGN_TESTS[op][0]
    ft = c.form(tested, depth)
    if any(t.op not in ("z", "zero", "nan", "unknown") for t in ft):
        # Only an exact value (±z or 0) is tested: a rounded one (selu, swish, slope*z)
        # can underflow to 0 and flip the choice.
        raise NotAHalf("Where on the sign of a value other than ±z or 0")
    branches = [
        tuple(ZERO for _ in CLASSES) if c.is_zero(v) else c.form(v, depth) for v in (then, other)
    ]
    out = []
    for i, cls in enumerate(CLASSES):
        t = ft[i]
        if t.op == "unknown":
            out.append(t)
            continue
        # every comparison with NaN is false; the sign of ±z or 0 is known
        chosen = t.op != "nan" and passes(_sign(t, cls))
        out.append(branches[0][i] if chosen else branches[1][i])
    return tuple(out)


_STEPS: dict[str, Callable[[_Chain, ir.Node, int], Form]] = {
    "Identity": _identity,
    "Neg": _neg,
    "Relu": _relu_step,
    "Abs": _abs_step,
    "Max": _max_step,
    "Min": _min_step,
    "Clip": _clip_step,
    "Add": _add_step,
    "Sub": _sub_step,
    "Mul": _mul_step,
    "Div": _div_step,
    "LeakyRelu": _leaky_step,
    "PRelu": _prelu_step,
    "Cast": _cast_step,
    "CastLike": _castlike_step,
    "Where": _where_step,
}

#: The ops a half may be built from.
GRAMMAR_OPS = frozenset(_STEPS).union(
    *(op_types(tree) for act in ACTIVATIONS.values() for _, _, tree in act.spellings)
)


def form_of(half: ir.Value, z: ir.Value) -> Form:
    """The canonical form of ``half`` as a function of ``z``.

    Raises NotAHalf (with the reason) when ``half`` is not built from ``z`` by the
    grammar's steps, or a step's constants are not what the grammar allows.
    """
    return known_form(_Chain(z).form(half))


def _walk_back(value: ir.Value) -> Iterator[ir.Value]:
    """``value`` and the values it is computed from through grammar ops, nearest first."""
    seen: set[int] = set()
    todo = [value]
    while todo and len(seen) < WALK_LIMIT:
        v = todo.pop(0)
        if id(v) in seen:
            continue
        seen.add(id(v))
        yield v
        node = v.producer()
        if node is not None and node.op_type in GRAMMAR_OPS and node.domain in ("", "ai.onnx"):
            todo.extend(i for i in node.inputs if i is not None)


def common_sources(a: ir.Value, b: ir.Value) -> list[ir.Value]:
    """Values both ``a`` and ``b`` are computed from through grammar ops (nearest to ``a``
    first), constants left out: the candidates for the shared ``z``."""
    from_b = {id(v) for v in _walk_back(b)}
    return [v for v in _walk_back(a) if id(v) in from_b and const_array(v) is None]


@dataclass(frozen=True)
class HalvesMatch:
    """Two halves found equal to a known pair: their shared ``z`` and, for PReLU halves,
    the slope each half multiplies by (else None)."""

    z: ir.Value
    first_slope: ir.Value | None
    second_slope: ir.Value | None


#: A known pair of halves, given the slopes the candidate halves use (PReLU) or None.
KnownPair = Callable[[ir.Value | None, ir.Value | None], tuple[Form, Form] | None]


def match_halves(first: ir.Value, second: ir.Value, known: KnownPair) -> HalvesMatch:
    """Find a ``z`` from which ``first`` and ``second`` are built by the grammar and equal
    the pair ``known(first_slope, second_slope)``; try the sources both share, nearest
    first (at most :data:`MAX_SOURCES`). Raises NotAHalf with the last reason when none
    does."""
    reason = "the two halves share no source"
    for z in common_sources(first, second)[:MAX_SOURCES]:
        chain = _Chain(z)
        try:
            fa, fb = known_form(chain.form(first)), known_form(chain.form(second))
        except NotAHalf as exc:
            reason = str(exc)
            continue
        sa, sb = slope_of(fa), slope_of(fb)
        pair = known(sa, sb)
        if pair is None:
            reason = "the halves lack the slopes of the known pair"
            continue
        if same_meaning(fa, pair[0]) and same_meaning(fb, pair[1]):
            return HalvesMatch(z, sa, sb)
        reason = "the halves are not equal to the known pair for every input"
    raise NotAHalf(reason)
