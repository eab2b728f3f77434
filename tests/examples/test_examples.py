"""The examples run as scripts (tiny mode) and do what they say."""

from __future__ import annotations

import re
from pathlib import Path

from tests.examples.run_example import run_example


def test_journey_example_tiny(tmp_path: Path) -> None:
    out = tmp_path / "journey"
    text = run_example("journey.py", out)
    assert "trained 3 steps" in text
    assert "LinkedRelu" in text
    error = float(re.search(r"max \|optimized - checkpoint\| = (\S+)", text).group(1))
    assert error <= 1e-4
    assert re.search(r"batch 1: plain [\d.]+ ms, optimized [\d.]+ ms", text)
    assert re.search(r"batch 32: plain [\d.]+ ms, optimized [\d.]+ ms", text)
    for name in ("model.functions.onnx", "model.plain.onnx", "model.optimized.onnx"):
        assert (out / name).stat().st_size > 0


def test_depth_mechanism_example_tiny(tmp_path: Path) -> None:
    import json

    out = tmp_path / "mechanism"
    text = run_example("depth_mechanism.py", out)
    assert "| 0 | 0 (init) |" in text and "| 0 | 2 |" in text
    record = json.loads((out / "mechanism.json").read_text())["records"][0]
    assert len(record["init"]) == len(record["step1"]) == 51  # one row per conv layer
    assert sorted(record["after"]) == ["1", "2"]
    # at Glorot init no channel is dead; later counts stay within each layer's size
    assert all(row["dead"] == 0 for row in record["init"])
    for profile in record["after"].values():
        assert all(0 <= r["dead"] <= r["units"] for r in profile)
    assert (out / "mechanism.md").read_text().strip() == text.strip()
