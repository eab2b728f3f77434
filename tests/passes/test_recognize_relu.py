"""Mirror LK-ReLU / CReLU spellings -> LinkedRelu, checked in ONNX Runtime (exact)."""

from __future__ import annotations

import numpy as np
import onnx
import onnx_ir as ir
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

from linkedonnx.passes.half_semantics import NotAHalf, form_of, relu_form
from linkedonnx.passes.recognize_linked import RecognizeLinkedPass, rules_for

RELU_SPELLINGS = [
    "relu",
    "relu-negfirst",
    "relu-where",
    "relu-where-scalar",
    "relu-where-expand",
    "relu-where-constantofshape",
    "crelu",
    "crelu-negfirst",
]
RELU_LOOKALIKES = [
    "lookalike-different-tensors",
    "lookalike-same-half",
    "lookalike-third-input",
    "lookalike-where-threshold",
    "lookalike-where-expand-nonzero",
    "lookalike-where-constantofshape-other",
    "lookalike-crelu-no-neg",
    "lookalike-crelu-three",
]


def recognize(model: onnx.ModelProto) -> tuple[onnx.ModelProto, RecognizeLinkedPass]:
    p = RecognizeLinkedPass(rules_for("relu"))
    return apply_passes(model, [ShapeInferencePass(), p]), p


@pytest.mark.parametrize("axis", [1, -1, 0, 2])
@pytest.mark.parametrize("name", RELU_SPELLINGS)
def test_spelling_becomes_one_linked_relu(name: str, axis: int) -> None:
    before = spelling_model(name, axis)
    after, p = recognize(before)
    gone = {"Relu", "Concat", "Where", "Expand", "ConstantOfShape"}
    assert_recognized(before, after, p.counts, "LinkedRelu", gone)
    (node,) = [n for n in after.graph.node if n.op_type == "LinkedRelu"]
    assert node.attribute[0].i == axis


@pytest.mark.parametrize("name", RELU_LOOKALIKES)
def test_lookalike_is_left_alone(name: str) -> None:
    before = spelling_model(name, 1)
    after, p = recognize(before)
    assert_left_alone(before, after, p.counts)


def test_mirrored_half_first_feeds_the_negation() -> None:
    after, p = recognize(spelling_model("relu-negfirst", 1))
    assert dict(p.counts) == {"LinkedRelu(mirror, mirrored half first)": 1}
    (node,) = [n for n in after.graph.node if n.op_type == "LinkedRelu"]
    producer = {o: n for n in after.graph.node for o in n.output}[node.input[0]]
    assert producer.op_type == "Neg"


def test_shared_neg_still_recognized() -> None:
    b = GraphBuilder(3)
    x = b.input((2, 4, 3, 3), "x")
    neg = b.unary("Neg", x)
    linked = b.concat([b.unary("Relu", x), b.unary("Relu", neg)], 1)
    other = b.unary("Sigmoid", neg)  # the Neg has a second reader
    before = b.model([linked, other])
    after, _ = recognize(before)
    assert count_linked(after) == {"LinkedRelu": 1}
    assert "Neg" in op_counts(after)
    assert_same_outputs(before, after, exact=True)


def test_two_linked_layers_in_a_row() -> None:
    b = GraphBuilder(4)
    x = b.input((2, 4, 3, 3), "x")
    h = b.spelling("relu", b.conv(x, 4), 1)
    y = b.spelling("crelu", b.conv(h, 4), 1)
    before = b.model([y])
    after, p = recognize(before)
    assert count_linked(after) == {"LinkedRelu": 2}
    assert dict(p.counts) == {"LinkedRelu(mirror)": 1, "LinkedRelu(crelu)": 1}
    assert_same_outputs(before, after, exact=True)


def test_function_bodies_are_not_rewritten() -> None:
    b = GraphBuilder(5)
    x = b.input((2, 4, 3, 3), "x")
    before = b.model([b.linked("relu", b.conv(x, 4))])
    after, p = recognize(before)
    assert not p.counts
    (fn,) = after.functions
    assert sorted(n.op_type for n in fn.node) == ["Concat", "Neg", "Relu", "Relu"]
    assert_same_outputs(before, after, exact=True)


def test_where_with_zero_tensor_that_would_broadcast_is_not_relu() -> None:
    # Where(x < 0, zeros[2,4,3,3], x) with x of shape [1,4,3,3] broadcasts x up.
    b = GraphBuilder(6)
    x = b.input((1, 4, 3, 3), "x")
    less = b.node("Less", [x, b.const(0.0)], (1, 4, 3, 3))
    zeros = b.const(np.zeros((2, 4, 3, 3), np.float32))
    pos = b.node("Where", [less, zeros, x], (2, 4, 3, 3))
    neg = b.unary("Relu", b.unary("Neg", x))
    neg2 = b.concat([neg, neg], 0)
    before = b.model([b.concat([pos, neg2], 1)])
    after, p = recognize(before)
    assert not p.counts
    assert_same_outputs(before, after, exact=True)


def test_check_explains_failures() -> None:
    x = ir.Value(name="x", shape=ir.Shape([2, 3]), type=ir.TensorType(ir.DataType.FLOAT))
    half = ir.Value(name="c", const_value=ir.tensor(np.float32(0.5)))
    node = ir.Node("", "Max", [x, half])
    with pytest.raises(NotAHalf, match="zero"):
        form_of(node.outputs[0], x)
    zero = ir.Value(name="z", const_value=ir.tensor(np.float32(0.0)))
    assert form_of(ir.Node("", "Max", [x, zero]).outputs[0], x) == relu_form()
