"""Mirrored Swish (x*Sigmoid(x)) -> LinkedSwish, checked in ONNX Runtime (exact)."""

from __future__ import annotations

import onnx
import pytest
from graphs import (
    GraphBuilder,
    apply_passes,
    assert_left_alone,
    assert_recognized,
    assert_same_outputs,
    count_linked,
    spelling_model,
)
from onnx_ir.passes.common import CommonSubexpressionEliminationPass

from linkedonnx.passes.recognize_linked import RecognizeLinkedPass, rules_for


def recognize(
    model: onnx.ModelProto, cse: bool = False
) -> tuple[onnx.ModelProto, RecognizeLinkedPass]:
    p = RecognizeLinkedPass(rules_for("swish"))
    return apply_passes(model, [*([CommonSubexpressionEliminationPass()] if cse else []), p]), p


@pytest.mark.parametrize("axis", [1, -1, 0])
@pytest.mark.parametrize("name", ["swish", "swish-swapped", "swish-negfirst"])
def test_spelling_becomes_linked_swish(name: str, axis: int) -> None:
    before = spelling_model(name, axis)
    after, p = recognize(before)
    assert_recognized(before, after, p.counts, "LinkedSwish", {"Sigmoid", "Mul", "Concat"})


def test_gate_of_another_tensor_is_left_alone() -> None:
    before = spelling_model("lookalike-swish-other-gate", 1)
    after, p = recognize(before)
    assert_left_alone(before, after, p.counts)


def test_two_neg_nodes_need_merging_first() -> None:
    b = GraphBuilder(1)
    x = b.input((2, 4, 3, 3), "x")
    n1, n2 = b.unary("Neg", x), b.unary("Neg", x)
    y = b.concat(
        [b.binary("Mul", x, b.unary("Sigmoid", x)), b.binary("Mul", n1, b.unary("Sigmoid", n2))], 1
    )
    before = b.model([y])
    _, alone = recognize(before)
    assert not alone.counts  # the rule itself never pairs two different Neg nodes
    after, p = recognize(before, cse=True)
    assert count_linked(after) == {"LinkedSwish": 1}
    assert dict(p.counts) == {"LinkedSwish(mirror)": 1}
    assert_same_outputs(before, after, exact=True)
