"""Channels-last crelu with Transposes around it -> one LinkedRelu on the original
layout; Transposes that do not cancel are kept (exact in ORT)."""

from __future__ import annotations

import onnx
import pytest
from graphs import (
    GraphBuilder,
    apply_passes,
    assert_same_outputs,
    count_linked,
    op_counts,
    spelling_model,
)

from linkedonnx.passes import recognize_transposed
from linkedonnx.passes.recognize_linked import RecognizeLinkedPass, rules_for


def recognize(model: onnx.ModelProto) -> tuple[onnx.ModelProto, RecognizeLinkedPass]:
    p = RecognizeLinkedPass([*rules_for("relu"), *recognize_transposed.rules()])
    return apply_passes(model, [p]), p


@pytest.mark.parametrize("axis", [1, 2, 0, -1])
@pytest.mark.parametrize("name", ["crelu-nhwc", "crelu-nhwc-negfirst"])
def test_channels_last_crelu_moves_back(name: str, axis: int) -> None:
    before = spelling_model(name, axis)
    after, p = recognize(before)
    onnx.checker.check_model(after, full_check=True)
    assert count_linked(after) == {"LinkedRelu": 1}
    assert "Transpose" not in op_counts(after)
    assert p.counts["LinkedRelu(transposes cancelled)"] == 1
    (node,) = [n for n in after.graph.node if n.op_type == "LinkedRelu"]
    assert node.attribute[0].i == axis % 4
    assert_same_outputs(before, after, exact=True)


def test_transposes_that_do_not_cancel_are_kept() -> None:
    b = GraphBuilder(1)
    x = b.input((2, 4, 3, 5), "x")
    t = b.transpose(x, [0, 2, 3, 1])
    c = b.unary("Relu", b.concat([t, b.unary("Neg", t)], -1))
    before = b.model([b.transpose(c, [0, 2, 1, 3])])  # not the inverse of the first
    after, p = recognize(before)
    assert count_linked(after) == {"LinkedRelu": 1}
    assert op_counts(after)["Transpose"] == 2
    assert "LinkedRelu(transposes cancelled)" not in p.counts
    assert_same_outputs(before, after, exact=True)


def test_prelu_between_transposes_is_not_moved() -> None:
    b = GraphBuilder(2)
    x = b.input((2, 4, 3, 3), "x")
    t = b.transpose(x, [0, 2, 3, 1])
    before = b.model([b.transpose(b.linked("prelu", t, 3), [0, 3, 1, 2])])
    after, p = recognize(before)
    assert not p.counts
    assert op_counts(after)["Transpose"] == 2
    assert_same_outputs(before, after, exact=True)


@pytest.mark.parametrize("kind", ["relu", "relu-minmax", "selu", "swish"])
def test_function_nodes_between_inverse_transposes_move(kind: str) -> None:
    b = GraphBuilder(3)
    x = b.input((2, 4, 3, 3), "x")
    t = b.transpose(x, [0, 2, 3, 1])
    before = b.model([b.transpose(b.linked(kind, t, -1), [0, 3, 1, 2])])
    after, _ = recognize(before)
    assert "Transpose" not in op_counts(after)
    assert sum(count_linked(after).values()) == 1
    assert_same_outputs(before, after, exact=True)


def test_linked_output_read_elsewhere_is_not_moved() -> None:
    b = GraphBuilder(4)
    x = b.input((2, 4, 3, 3), "x")
    t = b.transpose(x, [0, 2, 1, 3])
    lk = b.linked("relu", t, 1)
    before = b.model([b.transpose(lk, [0, 2, 1, 3]), lk])
    after, p = recognize(before)
    assert not p.counts
    assert count_linked(after) == {"LinkedRelu": 1}
    assert_same_outputs(before, after, exact=True)
