"""Mirrored PReLU (PRelu or torch's Where spelling) -> LinkedPRelu with its two slope
sets in the right order, checked in ONNX Runtime (exact)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from graphs import (
    GraphBuilder,
    apply_passes,
    assert_left_alone,
    assert_recognized,
    assert_same_outputs,
    spelling_model,
)
from onnx_ir.passes.common import ShapeInferencePass

from linkedonnx.passes.recognize_linked import RecognizeLinkedPass, rules_for


def recognize(model: onnx.ModelProto) -> tuple[onnx.ModelProto, RecognizeLinkedPass]:
    p = RecognizeLinkedPass(rules_for("prelu"))
    return apply_passes(model, [ShapeInferencePass(), p]), p


@pytest.mark.parametrize("axis", [1, -1, 0])
@pytest.mark.parametrize("name", ["prelu", "prelu-negfirst", "prelu-where"])
def test_spelling_becomes_linked_prelu(name: str, axis: int) -> None:
    before = spelling_model(name, axis)
    after, p = recognize(before)
    # Different random slopes per half: swapped slopes would change the outputs.
    assert_recognized(before, after, p.counts, "LinkedPRelu", {"PRelu", "Where", "Concat"})


def test_halves_without_negation_are_left_alone() -> None:
    before = spelling_model("lookalike-prelu-no-neg", 1)
    after, p = recognize(before)
    assert_left_alone(before, after, p.counts)


def test_where_spelling_with_threshold_is_left_alone() -> None:
    b = GraphBuilder(1)
    x = b.input((2, 4, 3, 3), "x")

    def half(v: str) -> str:
        less = b.node("Less", [v, b.const(np.float32(0.5))], b.shapes[v])
        return b.node("Where", [less, b.binary("Mul", v, b.slope(v, 1)), v], b.shapes[v])

    before = b.model([b.concat([half(x), half(b.unary("Neg", x))], 1)])
    after, p = recognize(before)
    assert not p.counts
    assert_same_outputs(before, after, exact=True)


def test_where_spelling_with_slope_that_broadcasts_is_left_alone() -> None:
    # A slope of shape [2,4,3,3] against x [1,4,3,3] would enlarge the output: no PRelu.
    b = GraphBuilder(2)
    x = b.input((1, 4, 3, 3), "x")
    big = b.const(b.weight((2, 4, 3, 3)))

    def half(v: str) -> str:
        less = b.node("Less", [v, b.const(np.float32(0.0))], b.shapes[v])
        return b.node("Where", [less, b.binary("Mul", v, big), v], (2, 4, 3, 3))

    before = b.model([b.concat([half(x), half(b.unary("Neg", x))], 1)])
    after, p = recognize(before)
    assert not p.counts
    assert_same_outputs(before, after, exact=True)
