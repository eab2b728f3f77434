"""Every runner behind the one interface: the ONNX reference evaluator and torch (that
the ONNX-side runner modules load no torch is in tests/test_torch_boundary.py)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from linkedonnx.errors import BadInputError, LinkedOnnxError
from linkedonnx.runners.base import Runner
from linkedonnx.runners.providers import get_provider
from linkedonnx.runners.reference_runner import ReferenceEvaluatorRunner

X = np.array([[-1.0, 0.5, 2.0]], np.float32)


def _relu_then_neg() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Neg", ["r"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_the_reference_evaluator_runs_outputs_and_inner_values() -> None:
    runner = ReferenceEvaluatorRunner(_relu_then_neg().SerializeToString())
    assert isinstance(runner, Runner)
    assert runner.input_names == ["x"] and runner.output_names == ["y"]
    (y,) = runner.run({"x": X})
    np.testing.assert_array_equal(y, -np.maximum(X, 0))
    (r,) = runner.run({"x": X}, ["r"])  # any value of the main graph
    np.testing.assert_array_equal(r, np.maximum(X, 0))
    assert runner.settings() == {"runtime": "onnx.reference"}


def test_the_reference_evaluator_and_onnx_runtime_agree() -> None:
    model = _relu_then_neg()
    ours = ReferenceEvaluatorRunner(model).run({"x": X})
    theirs = get_provider("cpu").load(model, threads=1).run({"x": X})
    np.testing.assert_array_equal(ours[0], theirs[0])


def test_the_reference_evaluator_refuses_an_unknown_op_on_one_line() -> None:
    node = helper.make_node("FastGelu", ["x"], ["y"], domain="com.microsoft")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)],
    )
    with pytest.raises(LinkedOnnxError, match="reference evaluator cannot run") as info:
        ReferenceEvaluatorRunner(model)
    assert "\n" not in str(info.value)


def test_a_failed_run_names_the_runtime_on_one_line() -> None:
    runner = get_provider("cpu").load(_relu_then_neg())
    with pytest.raises(BadInputError, match=r"^ONNX Runtime failed to run the model: ") as info:
        runner.run({"x": np.zeros((1, 4), np.float32)})
    assert "\n" not in str(info.value)
    with pytest.raises(LinkedOnnxError, match="cannot run this model"):
        ReferenceEvaluatorRunner(_relu_then_neg()).run({"x": X}, ["no_such_value"])


def test_the_torch_runner_runs_and_traces_by_input_name() -> None:
    torch = pytest.importorskip("torch")
    from linkedonnx.nn import LinkedReLU
    from linkedonnx.runners.torch_runner import TorchRunner

    model = torch.nn.Sequential(torch.nn.Linear(3, 4), LinkedReLU())
    runner = TorchRunner(model, input_names=["x"])
    assert runner.input_names == ["x"] and runner.output_names == []
    (y,) = runner.run({"x": X, "other": np.zeros(1, np.float32)})
    with torch.no_grad():
        want = model(torch.from_numpy(X)).numpy()
    np.testing.assert_array_equal(y, want)
    trace = runner.trace({"x": X})
    np.testing.assert_array_equal(trace.values[("1", "output")], want)
    assert trace.values[("1", "z")].shape == (1, 4)
    assert runner.settings()["precision"] == "float32"
    with pytest.raises(BadInputError, match=r"inputs \['x'\]"):
        runner.run({"y": X})
    with pytest.raises(BadInputError, match="does not name its outputs"):
        runner.run({"x": X}, ["0"])
    with pytest.raises(BadInputError, match=r"^PyTorch failed to run the model: "):
        runner.run({"x": np.zeros((1, 5), np.float32)})
