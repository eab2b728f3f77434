"""Quiet success (issue 17.4) and help that reads well (17.5)."""

from __future__ import annotations

import json
import os
import re
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
    # optimize used to keep onnx_ir's "skipped deduplication" notices for these weights;
    # the clean-up now hides them from onnxscript, so there is nothing to keep
    assert json.loads((tmp_path / "o.json").read_text())["warnings"] == []


_NOISY = """
import logging, sys
from linkedonnx.passes import cleanup
from linkedonnx_cli.app import main
library_cleanup = cleanup.library_cleanup
def noisy(model):
    logging.getLogger("onnxscript.optimizer").warning("a library notice")
    library_cleanup(model)
cleanup.library_cleanup = noisy
main(sys.argv[1:])
"""


def test_a_library_warning_during_optimize_is_kept_unless_verbose(tmp_path: Path) -> None:
    # a record a library logs mid-command (here onnxscript's logger, as the clean-up runs)
    conv_crelu_conv(tmp_path / "m.onnx", weights_as_inputs=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    command = ("optimize", "m.onnx", "-o", "o.onnx", "--json", "o.json")
    runs = {}
    for flags in ((), ("--verbose",)):
        runs[flags] = subprocess.run(
            [sys.executable, "-c", _NOISY, *flags, *command],
            capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
        )  # fmt: skip
        assert runs[flags].returncode == 0, runs[flags].stderr
        kept = json.loads((tmp_path / "o.json").read_text())["warnings"]
        assert ("onnxscript.optimizer: a library notice" in kept) == (not flags)
    assert runs[()].stderr == ""
    assert "a library notice" in runs[("--verbose",)].stderr


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


ACRONYMS = {"ONNX", "JSON", "CPU", "CUDA", "CIFAR", "FLOP", "FLOPs", "MFLOPs", "SGD", "ORT"}
ACRONYMS |= {"NCHW", "OPTIONS", "PNG", "AMP", "EP", "NAME", "LINKEDONNX_DEBUG", "IQR"}
ACRONYMS |= {"COMMAND", "ARGS", "SIGTERM"}  # the usage line; a signal name
ACRONYMS |= {"INT8", "QDQ", "ISA"}  # quantize: the format and the CPU instruction set
ACRONYMS |= {"REST", "API", "FP32", "UINT8", "NHWC"}  # serve: the protocol and tensor types


def test_help_texts_name_options_by_their_flags(capsys) -> None:
    """No placeholder like TARGET or OUT/...: options are named as typed (--target)."""
    from tests.cli.invoke import run_cli

    for name, _ in [(None, None), *COMMANDS]:
        args = ["--help"] if name is None else [name, "--help"]
        code, out, _ = run_cli(capsys, *args)
        assert code == 0
        words = set(re.findall(r"\b[A-Z][A-Z0-9_]{2,}[a-z]*\b", out))
        assert words <= ACRONYMS, (name, words - ACRONYMS)


def test_train_and_inspect_share_the_init_default(tmp_path: Path, capsys) -> None:
    """inspect zoo:NAME without --init initialises as train does (keras)."""
    from tests.cli.invoke import run_cli

    runs = {}
    for label, extra in (
        ("default", []),
        ("keras", ["--init", "keras"]),
        ("torch", ["--init", "torch"]),
    ):
        path = tmp_path / f"{label}.json"
        args = ["inspect", "zoo:depth/relu", "--data", "synthetic", "--samples", "128"]
        assert run_cli(capsys, *args, *extra, "--json", str(path))[0] == 0
        runs[label] = [layer["peak"] for layer in json.loads(path.read_text())["layers"]]
    assert runs["default"] == runs["keras"] != runs["torch"]


_WARN = """
import numpy as np
from linkedonnx_cli import verbosity
verbosity.configure(verbose=VERBOSE)
np.log(np.zeros(1, np.float32))  # RuntimeWarning: divide by zero
print(verbosity.KEPT)
"""


def test_numpy_runtime_warnings_are_kept_unless_verbose() -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    runs = {}
    for verbose in (False, True):
        code = _WARN.replace("VERBOSE", str(verbose))
        runs[verbose] = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
        )
    assert runs[False].stderr == "" and "divide by zero" in runs[False].stdout
    assert "divide by zero" in runs[True].stderr and runs[True].stdout.strip() == "[]"


def test_an_in_process_run_leaves_logging_as_it_found_it(tmp_path: Path, capsys) -> None:
    import logging

    from tests.cli.invoke import run_cli

    handlers = list(logging.getLogger().handlers)
    assert run_cli(capsys, "zoo", "--family", "params")[0] == 0
    assert logging.getLogger().handlers == handlers
