"""`linkedonnx demo`: the journey from the command line, tiny, and its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.invoke import exit_code


def test_demo_tiny_prints_summary_and_writes_artifacts(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "demo"
    code = exit_code(
        "demo", "--out", str(out), "--epochs", "1", "--max-steps", "2", "--runs", "3",
        "--threads", "1",
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    for needle in ("test accuracy", "max parity error vs checkpoint", "speed-up", "batch 32"):
        assert needle in printed
    assert "INT8 test accuracy" in printed and "INT8 vs optimized float32, batch 32" in printed
    assert "INT8 speed-up vs plain export, batch 32" in printed
    assert "pass" in printed and "FAIL" not in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parity_passed"] is True and summary["steps"] == 2 and summary["threads"] == 1
    assert summary["int8"]["int8_accuracy"] >= 0.0
    for name in (
        "model.functions.onnx",
        "model.plain.onnx",
        "model.optimized.onnx",
        "model.int8.onnx",
    ):
        assert (out / name).stat().st_size > 0
    # a second run into the same folder is refused, then allowed with --overwrite
    assert exit_code("demo", "--out", str(out), "--epochs", "1", "--max-steps", "1") == 2
    err = capsys.readouterr().err
    assert err.startswith("linkedonnx: error:") and "--overwrite" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--epochs", "0"], "epochs"),
        (["--model", "params/relu"], "linked"),
        (["--model", "nosuch/lk-relu"], "nosuch"),
        (["--runs", "0"], "runs"),
    ],
)
def test_demo_bad_options_are_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str], needle: str
) -> None:
    out = tmp_path / "never"
    assert exit_code("demo", "--out", str(out), *args) == 2
    err = capsys.readouterr().err
    assert err.startswith("linkedonnx: error:") and needle in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()
