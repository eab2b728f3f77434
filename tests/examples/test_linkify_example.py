"""examples/linkify_resnet.py runs as a script (tiny mode) and does what it says."""

from __future__ import annotations

import re
from pathlib import Path

from tests.examples.run_example import run_example


def test_linkify_resnet_example_tiny(tmp_path: Path) -> None:
    out = tmp_path / "linkify"
    text = run_example("linkify_resnet.py", out)
    assert "12 activations linked (lk-relu), 5 left" in text
    assert "linked layer4.1.relu (call 2 of 2): its output reaches only fc" in text
    assert float(re.search(r"max \|linkified - plain\| = (\S+)", text).group(1)) <= 1e-5
    assert "fine-tuned 5 steps" in text
    assert "exported with functions: {'LinkedRelu': 12}" in text
    error = float(re.search(r"max \|optimized ONNX - PyTorch\| = (\S+) \(pass\)", text).group(1))
    assert error <= 1e-4
    for name in ("linked.safetensors", "linked.onnx", "linked.optimized.onnx"):
        assert (out / name).stat().st_size > 0
