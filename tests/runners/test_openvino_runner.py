"""The OpenVINO runner: function-form models inlined, settings explicit (f32 unless bf16
is asked for), one compilation per input shape, bf16 refused where the CPU lacks it and
on ONNX Runtime. Small hand-made models: the whole file runs in a few seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from linkedonnx.errors import BadInputError
from linkedonnx.functions import attach_functions, make_call
from linkedonnx.runners.providers import get_provider

openvino = pytest.importorskip("openvino", reason="the openvino extra is not installed")

from linkedonnx.runners import openvino_runner  # noqa: E402


def linked_model(width: int = 8, seed: int = 0) -> onnx.ModelProto:
    """X[N, width] @ W -> LinkedRelu (a model-local function call) -> @ V -> Y."""
    rng = np.random.default_rng(seed)
    w = numpy_helper.from_array(rng.standard_normal((width, width)).astype(np.float32), "W")
    v = numpy_helper.from_array(rng.standard_normal((2 * width, 3)).astype(np.float32), "V")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["X", "W"], ["Z"]),
            make_call("relu", ["Z"], "L", axis=1),
            helper.make_node("MatMul", ["L", "V"], ["Y"]),
        ],
        "tiny",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", width])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", 3])],
        [w, v],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    return attach_functions(model)


def expected(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    (y,) = get_provider("cpu").load(model, threads=1).run({"X": x})
    return y


def test_function_form_model_runs_and_matches_onnx_runtime_at_f32(tmp_path: Path) -> None:
    model = linked_model()
    assert model.functions  # the model calls a local function OpenVINO cannot expand
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    runner = get_provider("openvino").load(path, threads=1)
    x = np.random.default_rng(1).standard_normal((4, 8)).astype(np.float32)
    (y,) = runner.run({"X": x})
    np.testing.assert_allclose(y, expected(model, x), rtol=1e-5, atol=1e-5)
    assert runner.input_names == ["X"] and runner.output_names == ["Y"]


def test_settings_are_explicit_and_compilation_is_per_shape_and_timed_apart() -> None:
    runner = get_provider("openvino").load(linked_model(), threads=1)
    settings = runner.settings()
    assert settings["config"] == {
        "PERFORMANCE_HINT": "LATENCY",
        "NUM_STREAMS": "1",
        "INFERENCE_PRECISION_HINT": "f32",
        "INFERENCE_NUM_THREADS": "1",
    }
    assert settings["runtime"] == "openvino" and settings["precision"] == "f32"
    assert settings["compiled_precision"] == []  # nothing compiled yet
    x = np.ones((2, 8), np.float32)
    runner.run({"X": x})
    runner.run({"X": x + 1})
    runner.run({"X": np.ones((5, 8), np.float32)})
    assert sorted(runner.compile_seconds) == ["2x8", "5x8"]  # one compilation per shape
    assert all(s > 0 for s in runner.compile_seconds.values())
    compiled, _request, _ports = runner.compiled({"X": (2, 8)})
    # what OpenVINO compiled with: the precision is f32, not the CPU's bf16 default
    assert compiled.get_property("INFERENCE_PRECISION_HINT") == openvino.Type.f32
    assert int(compiled.get_property("NUM_STREAMS")) == 1
    assert int(compiled.get_property("INFERENCE_NUM_THREADS")) == 1
    assert list(compiled.inputs[0].get_shape()) == [2, 8]  # static, not dynamic
    assert runner.settings()["compiled_precision"] == ["f32"]


def test_compiled_model_cache_dir_is_filled(tmp_path: Path) -> None:
    cache = tmp_path / "ov-cache"
    runner = get_provider("openvino").load(linked_model(), threads=1, cache_dir=cache)
    runner.run({"X": np.ones((1, 8), np.float32)})
    assert runner.settings()["config"]["CACHE_DIR"] == str(cache)
    assert any(cache.iterdir())  # OpenVINO wrote the compiled blob


def test_bad_feeds_and_options_are_one_line_errors() -> None:
    runner = get_provider("openvino").load(linked_model(), threads=1)
    for feeds in ({"X": np.ones((1, 5), np.float32)}, {"Q": np.ones((1, 8), np.float32)}):
        with pytest.raises(BadInputError) as info:
            runner.run(feeds)
        assert "\n" not in str(info.value)
    with pytest.raises(BadInputError, match="unknown precision 'f16'"):
        get_provider("openvino").load(linked_model(), precision="f16")
    with pytest.raises(
        BadInputError, match="--provider cpu \\(onnxruntime\\) takes no --cache-dir"
    ):
        get_provider("cpu").load(linked_model(), cache_dir="somewhere")


def test_bf16_is_refused_on_onnx_runtime() -> None:
    with pytest.raises(BadInputError, match="--precision bf16 needs --provider openvino"):
        get_provider("cpu").load(linked_model(), precision="bf16")


def test_bf16_is_refused_on_a_cpu_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openvino_runner, "capabilities", lambda device="CPU": ["FP32", "INT8"])
    with pytest.raises(BadInputError, match="needs a CPU with native bfloat16") as info:
        get_provider("openvino").load(linked_model(), precision="bf16")
    assert "\n" not in str(info.value)


@pytest.mark.skipif(
    not openvino_runner.bf16_supported(),
    reason="this CPU has no native bf16 (OpenVINO lists no BF16 capability)",
)
def test_bf16_runs_in_bf16_and_is_close_to_f32() -> None:
    model = linked_model(width=16)
    runner = get_provider("openvino").load(model, threads=1, precision="bf16")
    x = np.random.default_rng(2).standard_normal((3, 16)).astype(np.float32)
    (y,) = runner.run({"X": x})
    want = expected(model, x)
    compiled, _request, _ports = runner.compiled({"X": x.shape})
    assert compiled.get_property("INFERENCE_PRECISION_HINT") == openvino.Type.bf16
    assert y.dtype == np.float32  # the model's IO stays float32
    # without the explicit hint, this CPU's plugin would have picked bf16 on its own
    plain = openvino_runner.core().compile_model(runner.model.clone(), "CPU")
    assert plain.get_property("INFERENCE_PRECISION_HINT") == openvino.Type.bf16
    scale = float(np.abs(want).max())
    assert np.abs(y - want).max() <= 0.05 * scale  # bf16 keeps 8 bits of mantissa
