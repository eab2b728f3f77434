"""`linkedonnx train`: files, table, and one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.invoke import run_cli

BASE = ["train", "--model", "width/lk-relu", "--data", "synthetic", "--epochs", "1"]


def test_train_writes_metrics_and_prints_table(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    code, stdout, _ = run_cli(capsys, *BASE, "--device", "cpu", "--out", str(out))
    assert code == 0
    assert "test acc" in stdout and "width/lk-relu" in stdout
    line = json.loads((out / "metrics.jsonl").read_text())
    assert line["epoch"] == 1
    code, _, _ = run_cli(capsys, *BASE[:-1], "2", "--device", "cpu", "--out", str(out), "--resume")
    assert code == 0
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2


def _assert_one_line_error(err: str, fragment: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("linkedonnx: error: ") and fragment in lines[0]


def test_existing_output_folder(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    out.mkdir()
    code, _, err = run_cli(capsys, *BASE, "--out", str(out))
    assert code == 2
    _assert_one_line_error(err, "exists")
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--model", "depth/lk-tanh"], "unknown model"),
        (["--data", "imagenet"], "unknown dataset"),
        (["--data", "cifar10", "--data-dir", "/nonexistent"], "no CIFAR-10 data"),
        (["--optimizer", "adagrad"], "unknown optimizer"),
        (["--init", "he"], "unknown init"),
    ],
)
def test_bad_input(tmp_path: Path, capsys, args: list[str], fragment: str) -> None:
    out = tmp_path / "never"
    code, _, err = run_cli(capsys, *BASE, *args, "--out", str(out))
    assert code == 2
    _assert_one_line_error(err, fragment)
    assert not out.exists()


def test_corrupt_checkpoint_on_resume(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert run_cli(capsys, *BASE, "--device", "cpu", "--out", str(out))[0] == 0
    (out / "checkpoint.safetensors").write_bytes(b"not a checkpoint at all")
    code, _, err = run_cli(capsys, *BASE[:-1], "2", "--out", str(out), "--resume")
    assert code == 2
    _assert_one_line_error(err, "checkpoint")


def test_fashion_mnist_from_a_folder_and_missing_package(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    from linkedonnx.arrays import idx
    from tests.arrays.idx_files import write_fashion

    write_fashion(tmp_path / "fm", train=20, test=10)
    args = ["train", "--model", "width/lk-relu", "--data", "fashion-mnist", "--epochs", "1",
            "--image-size", "8", "--device", "cpu"]  # fmt: skip
    code, _, _ = run_cli(
        capsys, *args, "--data-dir", str(tmp_path / "fm"), "--out", str(tmp_path / "r")
    )
    assert code == 0
    info = json.loads((tmp_path / "r" / "metrics.jsonl").read_text().splitlines()[0])
    assert info["epoch"] == 1
    monkeypatch.setattr(idx, "FASHION_MNIST_DIR", tmp_path / "absent")
    code, _, err = run_cli(capsys, *args, "--out", str(tmp_path / "r2"))
    assert code == 2
    _assert_one_line_error(err, "needs the Debian package dataset-fashion-mnist")


def test_resume_takes_the_image_size_of_the_checkpoint(tmp_path: Path, capsys) -> None:
    """Issue 28.4: ``train --resume`` refused a run trained with --image-size unless
    the same --image-size was given again."""
    out = tmp_path / "run"
    first = run_cli(capsys, *BASE, "--device", "cpu", "--image-size", "6", "-o", str(out))
    assert first[0] == 0, first[2]
    code, _, err = run_cli(capsys, *BASE[:-1], "2", "--device", "cpu", "-o", str(out), "--resume")
    assert code == 0, err
    metrics = (out / "metrics.jsonl").read_text().splitlines()
    assert len(metrics) == 2  # the second epoch continued the first
