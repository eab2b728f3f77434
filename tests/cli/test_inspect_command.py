"""`linkedonnx inspect`: table, JSON report, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.invoke import run_cli


def test_inspect_zoo_model_table_and_json(tmp_path: Path, capsys) -> None:
    report = tmp_path / "dead.json"
    code, out, _ = run_cli(
        capsys, "inspect", "zoo:depth/relu", "--data", "synthetic", "--batches", "1",
        "--json", str(report),
    )  # fmt: skip
    assert code == 0
    assert "dead units of zoo:depth/relu" in out and "total" in out
    payload = json.loads(report.read_text())
    assert len(payload["layers"]) == 51
    assert payload["units"] == 51 * 4
    assert payload["dead"] == sum(layer["dead"] for layer in payload["layers"])


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("missing.safetensors", "does not exist"),
        ("missing.onnx", "does not exist"),
        ("zoo:depth/bogus", "unknown model"),
    ],
)
def test_bad_source(tmp_path: Path, capsys, source: str, fragment: str) -> None:
    if not source.startswith("zoo:"):
        source = str(tmp_path / source)
    code, _, err = run_cli(capsys, "inspect", source, "--data", "synthetic")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("linkedonnx: error: ")
    assert fragment in lines[0]


def test_corrupt_onnx(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    code, _, err = run_cli(capsys, "inspect", str(bad), "--data", "synthetic")
    assert code == 2 and len(err.strip().splitlines()) == 1
