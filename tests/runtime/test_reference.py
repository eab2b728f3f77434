"""validate's Reference: a runner, the inputs it takes (cast to their float types) and
its tracer."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from linkedonnx.errors import BadInputError
from linkedonnx.runners.reference_runner import ReferenceEvaluatorRunner
from linkedonnx.runtime.inputs import signature
from linkedonnx.runtime.reference import Reference, adapt_feeds


def _float32_relu():
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_a_reference_takes_its_inputs_in_its_float_types() -> None:
    model = _float32_relu()
    ref = Reference("relu", ReferenceEvaluatorRunner(model), inputs=signature(model))
    feeds = {"x": np.array([[-1.0, 2.0]], np.float16), "other": np.zeros(1, np.int64)}
    assert ref.takes == frozenset({"x"}) and ref.output_names == ["y"]
    assert ref.feeds(feeds)["x"].dtype == np.float32 and set(ref.feeds(feeds)) == {"x"}
    (y,) = ref.run(feeds)
    assert y.dtype == np.float32 and y.tolist() == [[0.0, 2.0]]
    assert adapt_feeds({"x": np.zeros(2, np.int64)}, signature(model))["x"].dtype == np.int64


def test_every_feed_as_given_without_inputs_and_no_trace_without_a_tracer() -> None:
    ref = Reference("relu", ReferenceEvaluatorRunner(_float32_relu()))
    feeds = {"x": np.ones((1, 2), np.float32)}
    assert ref.takes is None and ref.feeds(feeds).keys() == feeds.keys()
    with pytest.raises(BadInputError, match="gives no per-layer values"):
        ref.trace(feeds)
