"""Run the CLI in-process for a test: its exit status, and what it printed."""

from __future__ import annotations

import pytest

from linkedonnx_cli import app as app_module


def exit_code(*args: str) -> int:
    """Run ``linkedonnx ARGS`` and return its exit status (0 when it returns normally)."""
    with pytest.raises(SystemExit) as exc:
        app_module.main(list(args))
    return int(exc.value.code or 0)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``linkedonnx ARGS``; return (exit status, stdout, stderr)."""
    code = exit_code(*args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
