"""`linkedonnx quantize`: a digits-trained linked model quantized to INT8 loses at most
0.5 points of test accuracy; bad input -> one line, exit 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from linkedonnx.arrays.preprocess import METADATA_KEY as PREPROCESS_KEY
from linkedonnx.quantize import METADATA_KEY
from tests.cli.invoke import exit_code, run_cli


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """width/lk-relu trained briefly on digits at 8x8, exported with functions."""
    from linkedonnx.train import TrainConfig, train

    folder = tmp_path_factory.mktemp("trained")
    train(
        TrainConfig(
            model="width/lk-relu",
            data="digits",
            epochs=3,
            image_size=8,
            lr=3e-3,
            device="cpu",
            out=folder / "run",
            progress=False,
        )
    )
    model = folder / "m.onnx"
    checkpoint = folder / "run" / "checkpoint.safetensors"
    assert exit_code("export", str(checkpoint), "-o", str(model)) == 0
    return model


def test_export_quantize_validate_passes_the_accuracy_rule(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out, report = tmp_path / "q.onnx", tmp_path / "q.json"
    args = ["quantize", str(trained), "-o", str(out), "--data", "digits"]
    code, printed, _ = run_cli(capsys, *args, "--json", str(report))
    assert code == 0, printed
    assert "shared ranges" in printed and "CPU" in printed and "bias correction" in printed
    accuracy = tmp_path / "accuracy.json"
    validate = ["validate", str(out), "--reference", str(trained), "--data", "digits"]
    code, printed, _ = run_cli(capsys, *validate, "--json", str(accuracy))
    assert code == 0, printed
    result = json.loads(accuracy.read_text())
    code, printed, _ = run_cli(capsys, "validate", str(out), "--reference", str(trained))
    assert code == 0 and "rule: accuracy on digits" in printed and "PASS" in printed
    assert result["reference_accuracy"] >= 0.90 and result["passed"]
    assert result["accuracy_drop_points"] <= 0.5 and result["agreement"] >= 0.97
    model = onnx.load(out)
    assert {n.op_type for n in model.graph.node} >= {"QuantizeLinear", "DequantizeLinear"}
    assert not [n for n in model.graph.node if n.domain]
    meta = {p.key: p.value for p in model.metadata_props}
    recorded = json.loads(meta[METADATA_KEY])
    assert recorded["linked"] is True and isinstance(recorded["cpu_flags"], list)
    assert PREPROCESS_KEY in meta  # the recorded preprocessing travels with the model
    data = json.loads(report.read_text())
    assert data["samples"] == 512 and data["data"] == "digits train"
    assert data["isa"]["flags"] == recorded["cpu_flags"]
    assert recorded["bias_correction"] == len(data["bias_corrected"]) > 0
    plain = tmp_path / "plain.onnx"
    args = ["quantize", str(trained), "-o", str(plain), "--data", "digits"]
    code, printed, _ = run_cli(capsys, *args, "--no-bias-correction")
    assert code == 0 and "off" in printed, printed
    meta = {p.key: p.value for p in onnx.load(plain).metadata_props}
    assert json.loads(meta[METADATA_KEY])["bias_correction"] is False


def npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


def float_free_model(path: Path) -> Path:
    graph = helper.make_graph(
        [helper.make_node("Cast", ["i"], ["o"], to=TensorProto.FLOAT)],
        "g",
        [helper.make_tensor_value_info("i", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("o", TensorProto.FLOAT, [2])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    return path


EXPECTED = {
    "no data": "--data",
    "unknown data set": "unknown dataset 'nope'",
    "wrong names": "expected 'input' and 'labels', found ['a', 'b']",
    "wrong shape": "expected NCHW",
    "wrong channels": "images have 3 channel(s); the preprocessing expects 1",
    "wrong dtype": "not numeric",
    "wrong label dtype": "integer classes",
    "empty": "has no test split",
    "not an npz": "does not exist",
    "bad method": "unknown calibration method 'median'",
    "no samples": "samples must be at least 1",
}


def test_bad_input_is_one_line_exit_2_and_nothing_written(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    images = np.random.default_rng(0).integers(0, 17, (20, 1, 8, 8)).astype(np.uint8)
    labels = np.arange(20) % 10
    cases = {
        "no data": [],
        "unknown data set": ["--data", "nope"],
        "wrong names": ["--data", str(npz(tmp_path / "n.npz", a=images, b=images, labels=labels))],
        "wrong shape": ["--data", str(npz(tmp_path / "s.npz", input=images[:, 0], labels=labels))],
        "wrong channels": [
            "--data",
            str(npz(tmp_path / "c.npz", input=np.repeat(images, 3, axis=1), labels=labels)),
        ],
        "wrong dtype": [
            "--data",
            str(npz(tmp_path / "d.npz", input=np.full(images.shape, "x"), labels=labels)),
        ],
        "wrong label dtype": [
            "--data",
            str(npz(tmp_path / "l.npz", input=images, labels=labels.astype(np.float32))),
        ],
        "empty": ["--data", str(npz(tmp_path / "e.npz", input=images[:0], labels=labels[:0]))],
        "not an npz": ["--data", str(tmp_path / "missing.npz")],
        "bad method": ["--data", "digits", "--method", "median"],
        "no samples": ["--data", "digits", "--samples", "0"],
    }
    for what, extra in cases.items():
        out = tmp_path / "q.onnx"
        code, _, err = run_cli(
            capsys, "quantize", str(trained), "-o", str(out), *extra,
        )  # fmt: skip
        assert code == 2, (what, err)
        assert len(err.strip().splitlines()) == 1 or what == "no data", (what, err)
        assert EXPECTED[what] in err, (what, err)
        assert not out.exists(), what
    floatless = float_free_model(tmp_path / "int.onnx")
    out = tmp_path / "q.onnx"
    code, _, err = run_cli(capsys, "quantize", str(floatless), "-o", str(out), "--data", "digits")
    assert code == 2 and "float32 input" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    code, _, err = run_cli(capsys, "quantize", str(trained), "-o", str(trained), "--data", "digits")
    assert code == 2 and "refusing to overwrite" in err


def test_weights_listed_as_inputs_need_freeze_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from tests.passes.lowering_graphs import allcnn_like

    model = allcnn_like("relu")
    weights = [i.name for i in model.graph.initializer]
    for init in model.graph.initializer:
        model.graph.input.append(
            helper.make_tensor_value_info(init.name, init.data_type, list(init.dims))
        )
    path = tmp_path / "inputs.onnx"
    onnx.save(model, path)
    images = np.random.default_rng(0).uniform(0, 1, (8, 3, 8, 8)).astype(np.float32)
    data = npz(tmp_path / "x.npz", x=images, labels=np.arange(8) % 10)
    out, report = tmp_path / "q.onnx", tmp_path / "q.json"
    args = ["quantize", str(path), "-o", str(out), "--data", str(data), "--scale", "1",
            "--no-standardize", "--json", str(report)]  # fmt: skip
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and "--freeze-inputs" in err and not out.exists()
    code, printed, _ = run_cli(capsys, *args, "--freeze-inputs")
    assert code == 0, printed
    assert sorted(json.loads(report.read_text())["frozen_inputs"]) == sorted(weights)
    assert [i.name for i in onnx.load(out).graph.input] == ["x"]
