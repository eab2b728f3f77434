"""Bad output paths are bad input (issue 10.4) and outputs are all or nothing (10.3):
every command refuses a directory, a path under /proc or /sys, a missing folder and an
unwritable folder with exit 2 and one line, before its work starts, writing nothing."""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli.invoke import run_cli
from tests.cli.tiny_models import relu_model

# command -> (module, function) that does its work: patched to fail, so a refusal
# that came after the work started would show up as a different error.
WORK = {
    "export": ("linkedonnx.export", "export_source"),
    "convert": ("linkedonnx.passes.convert", "convert_file"),
    "optimize": ("linkedonnx.passes.optimize", "optimize_file"),
    "validate": ("linkedonnx.validate", "validate"),
    "bench": ("linkedonnx.runtime.bench", "bench_models"),
    "inspect": ("linkedonnx.inspect", "inspect_source"),
    "zoo": ("linkedonnx.zoo.stats", "zoo_stats"),
    "train": ("linkedonnx.train", "train"),
    "experiment": ("linkedonnx.experiments", "run_experiment"),
    "demo": ("linkedonnx.journey", "run_journey"),
    "linkify": ("linkedonnx.linkify.source", "linkify_source"),
    "quantize": ("linkedonnx.quantize.file", "quantize_file"),
}
FOLDER_OUTPUTS = {"train", "experiment", "demo"}


def _args(command: str, bad: str, model: Path, good: Path) -> list[str]:
    """Arguments of ``command`` with its output (or one of its outputs) at ``bad``."""
    return {
        "export": ["export", "zoo:params/lk-relu", "-o", bad],
        "convert": ["convert", str(model), "-o", bad],
        "optimize": ["optimize", str(model), "-o", bad],
        "validate": ["validate", str(model), "--json", bad],
        "bench": ["bench", str(model), "--json", bad],
        "inspect": ["inspect", str(model), "--json", bad],
        "zoo": ["zoo", "--json", bad],
        "train": ["train", "--model", "params/lk-relu", "--out", bad],
        "experiment": ["experiment", "params", "--out", bad],
        "demo": ["demo", "--out", bad],
        "linkify": ["linkify", "zoo:params/relu", "-o", bad],
        "quantize": ["quantize", str(model), "-o", bad, "--data", "synthetic"],
    }[command]


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody may write into: mode 0o555, and immutable when running as root."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    immutable = False
    if os.access(folder, os.W_OK) and shutil.which("chattr"):
        immutable = (
            subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
        )
    probe = folder / "probe"
    try:
        probe.touch()
    except OSError:
        pass
    else:
        probe.unlink()
        pytest.skip("this file system lets the current user write into any folder")
    yield folder
    if immutable:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    folder.chmod(0o755)


def _bad_path(kind: str, tmp_path: Path, unwritable_folder: Callable[[], Path]) -> str:
    if kind == "directory":
        (tmp_path / "a_dir").mkdir()
        return str(tmp_path / "a_dir")
    if kind == "proc":
        return "/proc/linkedonnx-out"
    if kind == "sys":
        return "/sys/linkedonnx-out"
    if kind == "missing folder":
        return str(tmp_path / "missing" / "out.x")
    return str(unwritable_folder() / "out.x")


def _refused_before_work(
    command: str,
    args: list[str],
    bad: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Run ``args`` with ``command``'s work patched to fail: exit 2, one line naming the
    path, and nothing new under ``tmp_path``."""
    module, name = WORK[command]

    def work(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"{command} started its work")

    monkeypatch.setattr(importlib.import_module(module), name, work)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code, _, err = run_cli(capsys, *args)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert "started its work" not in err and bad.rstrip("/").split("/")[-2] in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("kind", ["directory", "proc", "sys", "missing folder", "unwritable"])
@pytest.mark.parametrize("command", sorted(set(WORK) - FOLDER_OUTPUTS))
def test_bad_output_path_is_refused_before_the_work(
    command: str,
    kind: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = _bad_path(kind, tmp_path, lambda: request.getfixturevalue("unwritable"))
    model = tmp_path / "m.onnx"
    model.write_bytes(b"the work never reads it")
    args = _args(command, bad, model, tmp_path / "good.json")
    _refused_before_work(command, args, bad, tmp_path, monkeypatch, capsys)


@pytest.mark.parametrize("kind", ["file", "proc", "sys", "unwritable"])
@pytest.mark.parametrize("command", sorted(FOLDER_OUTPUTS))
def test_bad_out_folder_is_refused_before_the_work(
    command: str,
    kind: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--out`` of train, experiment and demo is a folder (created with its parents; an
    existing one needs --overwrite or --resume): a file there, /proc, /sys or an
    unwritable place is bad."""
    if kind == "file":
        (tmp_path / "a_file").write_text("x")
        bad = str(tmp_path / "a_file")
    else:
        bad = _bad_path(kind, tmp_path, lambda: request.getfixturevalue("unwritable"))
        bad = bad[: -len("/out.x")] + "/run" if bad.endswith("/out.x") else bad
    args = _args(command, bad, tmp_path / "m.onnx", tmp_path / "good.json")
    _refused_before_work(command, args, bad, tmp_path, monkeypatch, capsys)


@pytest.mark.parametrize("command", ["convert", "optimize"])
@pytest.mark.parametrize("bad", ["missing_dir/r.json", "a_dir"])
def test_bad_json_path_leaves_no_model_written(
    command: str, bad: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = relu_model(tmp_path / "m.onnx")
    (tmp_path / "a_dir").mkdir()
    out = tmp_path / "o.onnx"
    code, _, err = run_cli(
        capsys, command, str(model), "-o", str(out), "--json", str(tmp_path / bad)
    )
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_dir", "m.onnx"]


@contextlib.contextmanager
def _killed_at_exit(proc: subprocess.Popen[str]) -> Iterator[None]:
    """Kill ``proc`` (a child of this test, signalled by its own pid only) if it is
    still running when the block ends, e.g. after a failed assertion, so that no
    long command outlives its test and loads the neighbouring tests."""
    try:
        yield
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_removes_the_temporary_files(tmp_path: Path, signum: int) -> None:
    model = relu_model(tmp_path / "m.onnx")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "linkedonnx_cli",
            "bench",
            str(model),
            "--runs",
            "10000000",
            "--json",
            str(tmp_path / "r.json"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
        # a shell's background job (nohup ... &) starts with SIGINT ignored, and a
        # process that inherits an ignored SIGINT rightly keeps ignoring it: give the
        # command the disposition a user's terminal gives it
        preexec_fn=_default_sigint,
    )
    with _killed_at_exit(proc):
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".r.json.*.tmp")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(tmp_path.glob(".r.json.*.tmp")), "the JSON output was not reserved"
        time.sleep(0.5)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["linkedonnx: error: interrupted"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


def test_an_npz_that_is_no_npz_archive_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = relu_model(tmp_path / "m.onnx")
    (tmp_path / "in.npz").write_text("not a zip archive")
    code, _, err = run_cli(
        capsys, "validate", str(model), "--inputs", str(tmp_path / "in.npz"),
        "--json", str(tmp_path / "r.json"),
    )  # fmt: skip
    assert code == 2 and len(err.strip().splitlines()) == 1 and "npz" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npz", "m.onnx"]


def test_sigterm_stops_any_command_like_ctrl_c(tmp_path: Path) -> None:
    """Outside a reservation too (train writes its folder file by file): exit 130 with
    one line, not a silent kill."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    args = ["train", "--model", "params/lk-relu", "--data", "synthetic", "--epochs", "1000"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "linkedonnx_cli", *args, "--out", str(tmp_path / "run")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    with _killed_at_exit(proc):
        deadline = time.monotonic() + 120
        while not (tmp_path / "run" / "config.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (tmp_path / "run" / "config.json").exists(), "training did not start"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "linkedonnx: error: interrupted"
    assert not list((tmp_path / "run").glob("*.tmp"))


@pytest.mark.parametrize("kind", ["missing folder", "unwritable"])
@pytest.mark.parametrize("command", ["convert", "optimize", "quantize"])
def test_external_data_outputs_are_refused_before_the_work(
    command: str,
    kind: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With --external-data the weights go to a data file beside the output: its folder
    is the output's, checked (reserved) before the work starts."""
    bad = _bad_path(kind, tmp_path, lambda: request.getfixturevalue("unwritable"))
    model = tmp_path / "m.onnx"
    model.write_bytes(b"the work never reads it")
    args = [*_args(command, bad, model, tmp_path / "good.json"), "--external-data"]
    _refused_before_work(command, args, bad, tmp_path, monkeypatch, capsys)
