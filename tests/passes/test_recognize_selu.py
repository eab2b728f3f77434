"""Mirrored SELU -> LinkedSelu, only with the default alpha/gamma (exact in ORT)."""

from __future__ import annotations

import onnx
import pytest
from graphs import (
    GraphBuilder,
    apply_passes,
    assert_recognized,
    assert_same_outputs,
    count_linked,
    spelling_model,
)

from linkedonnx.kinds.selu import SELU_ALPHA, SELU_GAMMA
from linkedonnx.passes.recognize_linked import RecognizeLinkedPass, rules_for


def recognize(model: onnx.ModelProto) -> tuple[onnx.ModelProto, RecognizeLinkedPass]:
    p = RecognizeLinkedPass(rules_for("selu"))
    return apply_passes(model, [p]), p


@pytest.mark.parametrize("axis", [1, -1, 0])
@pytest.mark.parametrize("name", ["selu", "selu-negfirst"])
def test_spelling_becomes_linked_selu(name: str, axis: int) -> None:
    before = spelling_model(name, axis)
    after, p = recognize(before)
    assert_recognized(before, after, p.counts, "LinkedSelu", {"Selu"})


def test_explicit_default_attributes_are_accepted() -> None:
    b = GraphBuilder(1)
    x = b.input((2, 4, 3, 3), "x")
    attrs = {"alpha": float(SELU_ALPHA), "gamma": float(SELU_GAMMA)}
    y = b.concat([b.unary("Selu", x, **attrs), b.unary("Selu", b.unary("Neg", x), **attrs)], 1)
    before = b.model([y])
    after, p = recognize(before)
    assert count_linked(after) == {"LinkedSelu": 1}
    assert dict(p.counts) == {"LinkedSelu(mirror)": 1}
    assert_same_outputs(before, after, exact=True)


@pytest.mark.parametrize("attrs", [{"alpha": 1.5}, {"gamma": 1.0}])
@pytest.mark.parametrize("which", ["both", "one"])
def test_non_default_attributes_are_left_alone(attrs: dict[str, float], which: str) -> None:
    b = GraphBuilder(2)
    x = b.input((2, 4, 3, 3), "x")
    neg_attrs = attrs if which == "both" else {}
    y = b.concat([b.unary("Selu", x, **attrs), b.unary("Selu", b.unary("Neg", x), **neg_attrs)], 1)
    before = b.model([y])
    after, p = recognize(before)
    assert not p.counts and count_linked(after) == {}
    assert_same_outputs(before, after, exact=True)
