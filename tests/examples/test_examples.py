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
