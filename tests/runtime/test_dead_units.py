"""Dead units counted in ONNX Runtime (linkedonnx.runtime.dead_units), without torch."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from linkedonnx.errors import BadInputError
from linkedonnx.functions import attach_functions, make_call
from linkedonnx.runtime.dead_units import (
    count_dead_units_onnx,
    expose_outputs,
    find_activations,
)


def _model() -> onnx.ModelProto:
    """x[N,1,2,2] -> Conv(3 ch: x, -x, 0.5) -> LinkedRelu -> Conv1x1 -> Relu
    -> Mul(h, Sigmoid(h)) (swish) -> output."""
    w1 = np.array([1.0, -1.0, 0.0], np.float32).reshape(3, 1, 1, 1)
    b1 = np.array([0.0, 0.0, 0.5], np.float32)
    w2 = np.zeros((2, 6, 1, 1), np.float32)
    b2 = np.array([1.0, -1.0], np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["z"], name="conv1"),
        make_call("relu", ["z"], "a", axis=1, name="lk"),
        helper.make_node("Conv", ["a", "w2", "b2"], ["z2"], name="conv2"),
        helper.make_node("Relu", ["z2"], ["r"], name="relu"),
        helper.make_node("Sigmoid", ["r"], ["s"], name="sig"),
        helper.make_node("Mul", ["r", "s"], ["y"], name="swish"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2, 2, 2])],
        [
            numpy_helper.from_array(v, k)
            for k, v in {"w1": w1, "b1": b1, "w2": w2, "b2": b2}.items()
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    return attach_functions(model)


def test_finds_linked_plain_and_swish_activations() -> None:
    sites = find_activations(_model())
    assert [(s.name, s.kind, s.axis) for s in sites] == [
        ("lk", "lk-relu", 1),
        ("relu", "relu", 1),
        ("swish", "swish", 1),
    ]


def test_counts_match_the_definition() -> None:
    x = np.random.default_rng(0).random((5, 1, 2, 2), dtype=np.float32) + 0.1
    report = count_dead_units_onnx(_model(), [x[:3], x[3:]], source="m")
    counts = {layer.name: (layer.units, layer.dead) for layer in report.layers}
    # linked: halves [x>0 alive, -x dead, 0.5 alive | dead, alive, dead]
    assert counts == {"lk": (6, 3), "relu": (2, 1), "swish": (2, 1)}
    assert report.samples == 5
    # every dead half has a live mirror: no linkage dead; plain layers have no linkages
    assert [la.dead_linkages for la in report.layers] == [0, None, None]
    assert (report.linkages, report.dead_linkages) == (3, 0)
    x[4, 0, 0, 1] = -2.0  # one negative pixel revives two linked half-units
    assert count_dead_units_onnx(_model(), [x]).layers[0].dead == 1


def test_expose_outputs_keeps_model_and_adds_outputs() -> None:
    model = _model()
    exposed = expose_outputs(model, ["a", "r", "y"])
    assert [o.name for o in exposed.graph.output] == ["y", "a", "r"]
    assert [o.name for o in model.graph.output] == ["y"]
    onnx.checker.check_model(exposed)


def test_model_without_activations_is_bad_input() -> None:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 2, 2])],
    )
    with pytest.raises(BadInputError, match="no activation"):
        count_dead_units_onnx(helper.make_model(graph), [np.zeros((1, 1, 2, 2), np.float32)])
