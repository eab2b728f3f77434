"""examples/linkify_resnet.py runs as a script (tiny mode) and does what it says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_linkify_resnet_example_tiny(tmp_path: Path) -> None:
    out = tmp_path / "linkify"
    env = dict(os.environ, LINKEDONNX_EXAMPLE_TINY="1")
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "linkify_resnet.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    text = result.stdout
    assert "12 activations linked (lk-relu), 5 left" in text
    assert "linked layer4.1.relu (call 2 of 2): its output reaches only fc" in text
    assert float(re.search(r"max \|linkified - plain\| = (\S+)", text).group(1)) <= 1e-5
    assert "fine-tuned 5 steps" in text
    assert "exported with functions: {'LinkedRelu': 12}" in text
    error = float(re.search(r"max \|optimized ONNX - PyTorch\| = (\S+) \(pass\)", text).group(1))
    assert error <= 1e-4
    for name in ("linked.safetensors", "linked.onnx", "linked.optimized.onnx"):
        assert (out / name).stat().st_size > 0
