"""Min-max LK-ReLU spellings -> LinkedReluMinMax, checked in ONNX Runtime (exact)."""

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
    count_linked,
    op_counts,
    spelling_model,
)
from onnx_ir.passes.common import ShapeInferencePass

from linkedonnx.passes.recognize_linked import RecognizeLinkedPass, rules_for

MINMAX_SPELLINGS = ["minmax", "minmax-max-full", "minmax-negfirst", "minmax-clip"]
MINMAX_LOOKALIKES = [
    "lookalike-min-nonzero",
    "lookalike-min-almost-zeros",
    "lookalike-max-nonzero",
    "lookalike-same-half",
]


def recognize(model: onnx.ModelProto) -> tuple[onnx.ModelProto, RecognizeLinkedPass]:
    p = RecognizeLinkedPass(rules_for("relu-minmax"))
    return apply_passes(model, [ShapeInferencePass(), p]), p


@pytest.mark.parametrize("axis", [1, -1, 0])
@pytest.mark.parametrize("name", MINMAX_SPELLINGS)
def test_spelling_becomes_linked_minmax(name: str, axis: int) -> None:
    before = spelling_model(name, axis)
    after, p = recognize(before)
    gone = {"Min", "Max", "Clip", "Relu", "Where", "Concat"}
    assert_recognized(before, after, p.counts, "LinkedReluMinMax", gone)


def test_min_first_is_negated_function_of_negation() -> None:
    after, p = recognize(spelling_model("minmax-negfirst", 1))
    assert dict(p.counts) == {"LinkedReluMinMax(min half first)": 1}
    assert op_counts(after).get("Neg") == 2


@pytest.mark.parametrize("name", MINMAX_LOOKALIKES)
def test_lookalike_is_left_alone(name: str) -> None:
    before = spelling_model(name, 1)
    after, p = recognize(before)
    assert_left_alone(before, after, p.counts)


def test_min_against_zeros_of_larger_shape_is_left_alone() -> None:
    b = GraphBuilder(1)
    x = b.input((1, 4, 3, 3), "x")
    lo = b.binary("Min", x, b.const(np.zeros((2, 4, 3, 3), np.float32)))
    hi = b.concat([b.unary("Relu", x)] * 2, 0)
    before = b.model([b.concat([hi, lo], 1)])
    after, p = recognize(before)
    assert not p.counts
    assert_same_outputs(before, after, exact=True)


def test_min_against_graph_input_zero_is_left_alone() -> None:
    # A zero initializer that is also a graph input can be overridden at run time.
    b = GraphBuilder(2)
    x = b.input((2, 4, 3, 3), "x")
    zero = b.const(np.float32(0.0), "z")
    b.inputs.append(onnx.helper.make_tensor_value_info("z", onnx.TensorProto.FLOAT, []))
    before = b.model([b.concat([b.unary("Relu", x), b.binary("Min", x, zero)], 1)])
    after, p = recognize(before)
    assert not p.counts
    assert_same_outputs(before, after, exact=True)


def test_opset_without_castlike_gets_the_older_body() -> None:
    # LinkedReluMinMax's body needs CastLike (opset 15); an opset-13 model is converted
    # too, its function getting the body of older ops (Neg, Relu) with the same values.
    b = GraphBuilder(3, opset=13)
    x = b.input((2, 4, 3, 3), "x")
    before = b.model([b.spelling("minmax", x, 1)])
    after, p = recognize(before)
    assert dict(p.counts) == {"LinkedReluMinMax(minmax)": 1}
    assert count_linked(after) == {"LinkedReluMinMax": 1}
    onnx.checker.check_model(after, full_check=True)
    assert "CastLike" not in {n.op_type for n in after.functions[0].node}
    assert_same_outputs(before, after, exact=True)
