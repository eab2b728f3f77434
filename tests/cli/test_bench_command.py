"""`linkedonnx bench`: table, JSON report, one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from linkedonnx.functions import attach_functions, make_call
from tests.cli.invoke import exit_code


def tiny_model(linked: bool = False) -> onnx.ModelProto:
    """X[N, 4] @ I -> Relu or LinkedRelu -> Y."""
    act = (
        make_call("relu", ["Z"], "Y", axis=1) if linked else helper.make_node("Relu", ["Z"], ["Y"])
    )
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Z"]), act],
        "tiny",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", 8 if linked else 4])],
        [numpy_helper.from_array(np.eye(4, dtype=np.float32), "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    return attach_functions(model)


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "plain.onnx", tmp_path / "linked.onnx"
    onnx.save(tiny_model(), a)
    onnx.save(tiny_model(linked=True), b)
    return a, b


def test_bench_two_models_prints_table_and_writes_json(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "bench.json"
    code = exit_code(
        "bench", str(files[0]), str(files[1]), "--batch", "3", "--threads", "1",
        "--warmup", "1", "--runs", "4", "--json", str(out),
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "provider cpu" in printed and "threads 1" in printed and "onnxruntime" in printed
    assert "median ms" in printed and "1.00x" in printed
    data = json.loads(out.read_text())
    assert data["batch"] == 3 and data["runs"] == 4 and data["threads"] == 1
    assert [t["runs"] for t in data["timings"]] == [4, 4]
    assert data["timings"][0]["speedup"] == 1.0


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [("--batch", "0", "batch"), ("--runs", "0", "runs"), ("--provider", "tpu", "provider")],
)
def test_bad_settings_are_one_line_exit_2(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture, option: str, value: str, needle: str
) -> None:
    code = exit_code("bench", str(files[0]), option, value)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("linkedonnx: error:") and needle in err
    assert len(err.strip().splitlines()) == 1


def test_missing_and_corrupt_models_are_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert exit_code("bench", str(tmp_path / "nope.onnx")) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not an onnx model at all")
    assert exit_code("bench", str(bad)) == 2
    err = capsys.readouterr().err
    assert err.startswith("linkedonnx: error:") and len(err.strip().splitlines()) == 1


def test_json_refuses_to_overwrite_a_model(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture
) -> None:
    before = files[0].read_bytes()
    assert exit_code("bench", str(files[0]), "--json", str(files[0]), "--runs", "1") == 2
    assert "refusing" in capsys.readouterr().err
    assert files[0].read_bytes() == before


def test_cuda_without_cuda_ep_is_one_line_exit_2(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture
) -> None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has a CUDA EP")
    assert exit_code("bench", str(files[0]), "--provider", "cuda") == 2
    err = capsys.readouterr().err
    assert "onnxruntime-gpu" in err and len(err.strip().splitlines()) == 1
