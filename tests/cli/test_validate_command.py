"""`linkedonnx validate`: exit 0 pass / 1 fail / 2 bad input, the table, --json, and the
acceptance pipeline through the real console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from linkedonnx.export import export_source
from linkedonnx.runtime import session as session_module
from tests.cli.invoke import run_cli


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli-validate") / "m.onnx"
    export_source("zoo:width/lk-prelu", path, image_size=8)
    return path


def test_pass_prints_the_table_and_writes_json(model_file, tmp_path, capsys) -> None:
    report = tmp_path / "report.json"
    code, out, err = run_cli(
        capsys,
        "validate",
        str(model_file),
        "--reference",
        "zoo:width/lk-prelu",
        "--batch",
        "4",
        "--json",
        str(report),
    )
    assert code == 0, err
    for word in ("max abs", "mean rel", "worst at", "pass", "PASS"):
        assert word in out
    data = json.loads(report.read_text())
    assert data["passed"] is True and data["batch"] == 4
    assert data["outputs"][0]["shape"] == [4, 10]


def test_fail_exits_1_and_still_writes_json(model_file, tmp_path, capsys) -> None:
    model = onnx.load(model_file)
    init = model.graph.initializer[0]
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * 1.01, init.name))
    broken = tmp_path / "broken.onnx"
    onnx.save(model, broken)
    report = tmp_path / "r.json"
    code, out, _ = run_cli(
        capsys, "validate", str(broken), "--reference", str(model_file), "--json", str(report)
    )
    assert code == 1
    assert "FAIL" in out
    assert json.loads(report.read_text())["passed"] is False
    code, _, _ = run_cli(
        capsys, "validate", str(broken), "--reference", str(model_file), "--atol", "1"
    )
    assert code == 0


def test_bad_inputs_exit_2_one_line_no_json(model_file, tmp_path, capsys, monkeypatch) -> None:
    # as on a CPU-only onnxruntime, also where onnxruntime-gpu is installed
    monkeypatch.setattr(session_module, "available_providers", lambda: ["CPUExecutionProvider"])
    good = model_file.read_bytes()
    (tmp_path / "empty.onnx").write_bytes(b"")
    (tmp_path / "random.onnx").write_bytes(np.random.default_rng(0).bytes(4096))
    (tmp_path / "cut.onnx").write_bytes(good[: len(good) // 2])
    np.savez(tmp_path / "rank.npz", input=np.zeros((3, 8, 8), np.float32))
    np.savez(tmp_path / "dtype.npz", input=np.zeros((1, 3, 8, 8), np.int64))
    m = str(model_file)
    cases = {
        "missing": [str(tmp_path / "missing.onnx")],
        "directory": [str(tmp_path)],
        "empty": [str(tmp_path / "empty.onnx")],
        "random bytes": [str(tmp_path / "random.onnx")],
        "truncated": [str(tmp_path / "cut.onnx")],
        "input rank": [m, "--inputs", str(tmp_path / "rank.npz")],
        "input dtype": [m, "--inputs", str(tmp_path / "dtype.npz")],
        "unknown reference": [m, "--reference", "nothing-like-this"],
        "unknown zoo model": [m, "--reference", "zoo:nosuch/model"],
        "cuda missing": [m, "--provider", "cuda"],
        "json overwrites model": [m, "--json", m],
    }
    report = tmp_path / "r.json"
    for case, args in cases.items():
        extra = [] if "--json" in args else ["--json", str(report)]
        code, _, err = run_cli(capsys, "validate", *args, *extra)
        lines = err.strip().splitlines()
        assert code == 2, (case, err)
        assert len(lines) == 1 and lines[0].startswith("linkedonnx: error:"), (case, err)
        assert not report.exists(), case
    assert model_file.read_bytes() == good


def test_acceptance_export_then_validate_with_the_console_script(tmp_path) -> None:
    beside_python = Path(sys.executable).with_name("linkedonnx")
    exe = str(beside_python) if beside_python.exists() else shutil.which("linkedonnx")
    assert exe is not None, "the linkedonnx console script is not installed"
    out = tmp_path / "m.onnx"
    steps = [
        [exe, "export", "zoo:allcnn/lk-relu", "-o", str(out)],
        [exe, "validate", str(out), "--reference", "zoo:allcnn/lk-relu"],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    assert "PASS" in done.stdout
    model = onnx.load(out)
    assert [f.name for f in model.functions] == ["LinkedRelu"]
    assert sum(n.op_type == "LinkedRelu" for n in model.graph.node) == 8
