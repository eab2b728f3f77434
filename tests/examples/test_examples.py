"""The examples run as scripts (tiny mode) and do what they say."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_journey_example_tiny(tmp_path: Path) -> None:
    out = tmp_path / "journey"
    env = dict(os.environ, LINKEDONNX_EXAMPLE_TINY="1")
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "journey.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    text = result.stdout
    assert "trained 3 steps" in text
    assert "LinkedRelu" in text
    error = float(re.search(r"max \|optimized - checkpoint\| = (\S+)", text).group(1))
    assert error <= 1e-4
    assert re.search(r"batch 1: plain [\d.]+ ms, optimized [\d.]+ ms", text)
    assert re.search(r"batch 32: plain [\d.]+ ms, optimized [\d.]+ ms", text)
    for name in ("model.functions.onnx", "model.plain.onnx", "model.optimized.onnx"):
        assert (out / name).stat().st_size > 0
