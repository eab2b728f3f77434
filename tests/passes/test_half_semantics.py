"""The canonical form of a half (linkedonnx.passes.half_semantics) on hand-made chains:
what equals a known half, what is refused and why, and the two documented conventions."""

from __future__ import annotations

import numpy as np
import onnx_ir as ir
import pytest

from linkedonnx.passes.half_semantics import (
    CLASSES,
    NAN,
    ZERO,
    NotAHalf,
    Term,
    form_of,
    match_halves,
    prelu_form,
    relu_form,
    same_meaning,
    selu_form,
    swish_form,
)


def value(name: str = "z") -> ir.Value:
    return ir.Value(name=name, shape=ir.Shape([2, 3]), type=ir.TensorType(ir.DataType.FLOAT))


def const(x: float, name: str = "c") -> ir.Value:
    return ir.Value(name=name, const_value=ir.tensor(np.float32(x)))


def node(op: str, *inputs: ir.Value | None, **attrs: object) -> ir.Value:
    attributes = [
        ir.AttrFloat32(k, v) if isinstance(v, float) else ir.AttrInt64(k, v)
        for k, v in attrs.items()
    ]
    return ir.Node("", op, list(inputs), attributes=attributes).outputs[0]


def image(form: tuple[Term, ...], cls: str) -> Term:
    return form[CLASSES.index(cls)]


def test_spellings_of_relu_reduce_to_one_form() -> None:
    z = value()
    spellings = [
        node("Relu", z),
        node("Max", const(0.0), z),
        node("Clip", z, const(0.0)),
        node("Clip", z, min=0.0),  # opset-6 Clip: bounds as attributes
        node("Where", node("Less", z, const(0.0)), const(0.0), z),
        node("Neg", node("Min", node("Neg", z), const(0.0))),
        node("Abs", node("Relu", node("Mul", z, const(1.0)))),
        node("Identity", node("Relu", node("Cast", z, to=1))),
        node("Add", node("Relu", node("Sub", const(0.0), node("Neg", z))), const(0.0)),
    ]
    for half in spellings:
        assert form_of(half, z) == relu_form()
    assert form_of(node("Neg", node("Relu", node("Div", z, const(-1.0)))), z) == relu_form(-1, -1)


def test_the_other_known_halves() -> None:
    z, s = value(), value("slope")
    n = node("Mul", z, const(-1.0))
    assert form_of(node("Selu", n), z) == selu_form(-1)
    assert form_of(node("Mul", node("Sigmoid", n), n), z) == swish_form(-1)
    assert form_of(node("PRelu", z, s), z) == prelu_form(1, s)
    where = node("Where", node("Less", n, const(0.0)), node("Mul", s, n), n)
    assert form_of(where, z) == prelu_form(-1, s)


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda z: node("Max", z, const(1e-7)), "zero"),
        (lambda z: node("Where", node("Less", z, const(1e-7)), const(0.0), z), "zero"),
        (lambda z: node("Div", node("Add", z, node("Abs", z)), const(2.0)), "Div"),
        (lambda z: node("LeakyRelu", z, alpha=0.01), "alpha"),
        (lambda z: node("Selu", z, alpha=1.5), "alpha"),
        (lambda z: node("Relu", node("Cast", z, to=10)), "Cast"),
        (lambda z: node("Relu", node("Sigmoid", z)), "Sigmoid"),
        (lambda z: node("Clip", z, const(0.0), const(0.0)), "Clip"),
        (lambda z: node("Relu", node("Mul", z, value("w"))), "unknown sign"),
        (lambda z: node("Relu", value("w")), "not computed from z"),
    ],
)
def test_outside_the_grammar_is_refused_with_a_reason(build, reason: str) -> None:
    z = value()
    with pytest.raises(NotAHalf, match=reason):
        form_of(build(z), z)


def test_a_scale_is_only_a_prelu_slope() -> None:
    z = value()
    half = node("Mul", node("Relu", z), const(0.5))
    with pytest.raises(NotAHalf):
        form_of(half, z)
    scaled = form_of(node("Mul", z, const(0.5)), z)
    assert not any(same_meaning(scaled, k) for k in (relu_form(), relu_form(-1)))


def test_equal_on_finite_inputs_is_not_enough() -> None:
    z = value()
    # z - relu(z) is min(z, 0) for finite z, but NaN at +inf (inf - inf).
    sub = form_of(node("Sub", z, node("Relu", z)), z)
    assert image(sub, "+inf") == NAN and not same_meaning(sub, relu_form(-1, -1))
    # relu(z) - z is relu(-z) for finite z, but NaN at +inf.
    assert not same_meaning(form_of(node("Sub", node("Relu", z), z), z), relu_form(-1))
    # LeakyRelu with alpha 0 is 0 * -inf = NaN at -inf.
    leaky = form_of(node("LeakyRelu", z, alpha=0.0), z)
    assert image(leaky, "-inf") == NAN and not same_meaning(leaky, relu_form())


def test_nan_may_become_zero() -> None:
    # torch.where(z > 0, z, 0) maps NaN to 0 where relu keeps NaN: accepted (README).
    z = value()
    where = form_of(node("Where", node("Greater", z, const(0.0)), z, const(0.0)), z)
    assert where != relu_form() and image(where, "nan") == ZERO
    assert same_meaning(where, relu_form())
    assert not same_meaning(relu_form(), where)  # but never NaN where the half gives 0


def test_halves_must_share_their_source() -> None:
    z, w = value(), value("w")
    with pytest.raises(NotAHalf, match="share no source"):
        match_halves(
            node("Relu", z), node("Relu", node("Neg", w)), lambda *_: (relu_form(), relu_form(-1))
        )
    found = match_halves(
        node("Relu", z), node("Relu", node("Neg", z)), lambda *_: (relu_form(), relu_form(-1))
    )
    assert found.z is z


def test_where_tests_only_exact_values() -> None:
    # swish(1e-45) rounds to 0: choosing z on 'swish(z) > 0' would give 1e-45, not 0.
    z = value()
    gate = node("Mul", z, node("Sigmoid", z))
    with pytest.raises(NotAHalf, match="other than ±z or 0"):
        form_of(node("Where", node("Greater", gate, const(0.0)), z, const(0.0)), z)


def test_constant_slopes_of_one_sign_have_a_known_sign() -> None:
    z = value()
    positive = ir.Value(name="s", const_value=ir.tensor(np.full((3,), 0.25, np.float32)))
    assert form_of(node("Relu", node("PRelu", z, positive)), z) == relu_form()
    zeros = ir.Value(name="s0", const_value=ir.tensor(np.zeros((3,), np.float32)))
    prelu0 = form_of(node("PRelu", z, zeros), z)  # 0 * -inf is NaN
    assert image(prelu0, "neg") == ZERO and image(prelu0, "-inf") == NAN
    where = node("Where", node("Greater", node("PRelu", z, zeros), const(0.0)), z, const(0.0))
    assert same_meaning(form_of(where, z), relu_form())


def test_selu_may_overflow() -> None:
    # selu(FLT_MAX) = gamma * FLT_MAX = inf, so selu(z) - relu(selu(z)) is not 0 there.
    z = value()
    t = node("Selu", z)
    with pytest.raises(NotAHalf, match="unknown size"):
        form_of(node("Sub", t, node("Relu", t)), z)


def test_an_unknown_image_a_where_discards_does_no_harm() -> None:
    # relu(prelu(z, s)) has an unknown sign for z < 0 (mixed slopes), but Where(z < 0)
    # replaces it by 0 there: the half is relu(z).
    z = value()
    mixed = ir.Value(name="s", const_value=ir.tensor(np.array([0.5, -0.5, 1.0], np.float32)))
    unknown = node("Relu", node("PRelu", z, mixed))
    with pytest.raises(NotAHalf, match="unknown sign"):
        form_of(unknown, z)
    where = node("Where", node("Less", z, const(0.0)), const(0.0), unknown)
    assert form_of(where, z) == relu_form()
