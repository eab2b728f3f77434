"""Quiet success (issue 17.4) and help that reads well (17.5)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from linkedonnx_cli.app import EXIT_CODES, app, help_of
from linkedonnx_cli.commands import COMMANDS


def _weights_as_inputs(path: Path) -> Path:
    """Conv -> CReLU -> Conv at opset 13 whose weights are also graph inputs, as older
    exporters (keep_initializers_as_inputs) write them."""
    rng = np.random.default_rng(0)
    weights = [
        numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "W1"),
        numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "B1"),
        numpy_helper.from_array(rng.standard_normal((5, 8, 3, 3)).astype(np.float32), "W2"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "W1", "B1"], ["z"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["z"], ["p"]),
        helper.make_node("Neg", ["z"], ["nz"]),
        helper.make_node("Relu", ["nz"], ["n"]),
        helper.make_node("Concat", ["p", "n"], ["c"], axis=1),
        helper.make_node("Conv", ["c", "W2"], ["y"], pads=[1, 1, 1, 1]),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])]
    inputs += [
        helper.make_tensor_value_info(w.name, TensorProto.FLOAT, list(w.dims)) for w in weights
    ]
    output = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5, 8, 8])
    graph = helper.make_graph(nodes, "g", inputs, [output], initializer=weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.save(model, path)
    return path


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run(
        [sys.executable, "-m", "linkedonnx_cli", *args],
        capture_output=True, text=True, timeout=300, cwd=cwd, env=env,
    )  # fmt: skip


def test_convert_optimize_validate_succeed_with_empty_stderr(tmp_path: Path) -> None:
    _weights_as_inputs(tmp_path / "old.onnx")
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
