"""Quiet success (issue 17.4) and help that reads well (17.5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from linkedonnx_cli.app import EXIT_CODES, app, help_of
from linkedonnx_cli.commands import COMMANDS
from tests.cli.tiny_models import conv_crelu_conv


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run(
        [sys.executable, "-m", "linkedonnx_cli", *args],
        capture_output=True, text=True, timeout=300, cwd=cwd, env=env,
    )  # fmt: skip


def test_convert_optimize_validate_succeed_with_empty_stderr(tmp_path: Path) -> None:
    conv_crelu_conv(tmp_path / "old.onnx", weights_as_inputs=True)
    steps = [
        ("convert", "old.onnx", "-o", "c.onnx", "--json", "c.json"),
        ("optimize", "c.onnx", "-o", "o.onnx", "--json", "o.json"),
        ("validate", "o.onnx", "--reference", "old.onnx", "--json", "v.json"),
        ("validate", "old.onnx"),
    ]
    for args in steps:
        result = _run(*args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stderr == "", (args, result.stderr)
    kept = json.loads((tmp_path / "o.json").read_text())["warnings"]
    assert any("initializer" in w for w in kept)  # kept in the report, not printed
    # the warnings are there, only kept: --verbose shows them
    loud = _run("--verbose", "optimize", "c.onnx", "-o", "o2.onnx", cwd=tmp_path)
    assert loud.returncode == 0 and "initializer" in loud.stderr


def test_help_lists_every_exit_code_and_joins_sentences() -> None:
    import typer.main

    group = typer.main.get_command(app)
    text = group.help or ""
    for code in EXIT_CODES:
        assert f"{code} " in text
    for name, function in COMMANDS:
        helped = help_of(function)
        for paragraph in helped.split("\n\n"):
            assert "\n" not in paragraph, name
        assert group.commands[name].help == helped
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for code, meaning in EXIT_CODES.items():
        assert f"| {code} | {meaning} |" in readme
