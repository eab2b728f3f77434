"""The provider registry and the ONNX Runtime runner behind it."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from linkedonnx.errors import BadInputError, MissingDependencyError
from linkedonnx.runners.providers import PROVIDERS, Provider, get_provider, provider_names


def _relu_model() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_cpu_runner_runs_and_reports_its_settings() -> None:
    runner = get_provider("cpu").load(_relu_model(), threads=1)
    x = np.array([[-1.0, 0.5, 2.0]], np.float32)
    (y,) = runner.run({"x": x})
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    assert runner.input_names == ["x"] and runner.output_names == ["y"]
    assert runner.settings()["threads"] == 1
    assert runner.settings()["runtime"] == "onnxruntime"
    assert runner.load_seconds >= 0


def test_wrong_feed_is_a_one_line_bad_input() -> None:
    runner = get_provider("cpu").load(_relu_model())
    with pytest.raises(BadInputError) as info:
        runner.run({"x": np.zeros((1, 4), np.float32)})
    assert "\n" not in str(info.value)


def test_unknown_provider_names_the_known_ones() -> None:
    with pytest.raises(BadInputError, match="expected one of cpu, cuda"):
        get_provider("tpu")
    assert provider_names()[:2] == ["cpu", "cuda"]


def test_missing_runtime_gives_the_pip_command() -> None:
    missing = Provider(
        name="fake",
        runtime="fakeruntime",
        description="a runtime that is not installed",
        module="linkedonnx_no_such_runtime",
        install="pip install fakeruntime",
        runner="linkedonnx_no_such_runtime:Runner",
    )
    assert not missing.installed()
    with pytest.raises(MissingDependencyError, match="pip install fakeruntime"):
        missing.load(_relu_model())
    assert "fake" not in PROVIDERS


def test_each_provider_says_how_onnx_runtime_and_optimize_serve_it() -> None:
    cpu, cuda = get_provider("cpu"), get_provider("cuda")
    assert cpu.execution_providers == ("CPUExecutionProvider",)
    assert cuda.execution_providers == ("CUDAExecutionProvider", "CPUExecutionProvider")
    assert (cpu.lowering, cpu.device) == ("cpu", "cpu")
    assert (cuda.lowering, cuda.device) == ("cuda", "cuda")
    for provider in PROVIDERS.values():
        assert provider.lowering in ("cpu", "cuda") and provider.device in ("cpu", "cuda")


def test_the_session_and_optimize_read_the_registry() -> None:
    from linkedonnx.passes.optimize import check_options, measures
    from linkedonnx.runtime.session import resolve_providers

    available = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    for name in provider_names():
        provider = get_provider(name)
        if provider.runtime == "onnxruntime":
            assert resolve_providers(name, available) == list(provider.execution_providers)
        check_options(name)  # every provider is an optimize target
        assert measures(name) is (provider.lowering == "cpu")
    with pytest.raises(BadInputError, match="unknown target 'tpu'; expected one of cpu, cuda"):
        check_options("tpu")
    assert measures("tpu") is False
