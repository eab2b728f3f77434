"""Running an example script as a user would, in tiny mode (a shared test helper)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_example(script: str, out: Path) -> str:
    """Run ``examples/<script>`` with ``out`` as its argument and LINKEDONNX_EXAMPLE_TINY=1;
    return its stdout. Fails the test (with the end of stderr) when it exits non-zero."""
    env = dict(os.environ, LINKEDONNX_EXAMPLE_TINY="1")
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout
