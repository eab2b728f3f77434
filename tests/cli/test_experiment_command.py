"""`linkedonnx experiment`: a tiny run end to end, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.invoke import run_cli


def test_tiny_depth_experiment(tmp_path: Path, capsys) -> None:
    out = tmp_path / "depth"
    code, stdout, _ = run_cli(
        capsys, "experiment", "depth", "--activations", "relu,lk-relu", "--data", "synthetic",
        "--epochs", "1", "--max-steps", "1", "--device", "cpu", "--out", str(out),
    )  # fmt: skip
    assert code == 0
    assert "lk-relu" in stdout
    assert "linkages" in stdout  # the linked run's dead linkages, beside its half-units
    for name in ("results.md", "results.json", "accuracy.png", "dead_units.png"):
        assert (out / name).is_file()
    code, _, err = run_cli(capsys, "experiment", "depth", "--out", str(out))
    assert code == 2 and "exists" in err and len(err.strip().splitlines()) == 1


def test_unknown_experiment(tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(capsys, "experiment", "breadth", "--out", str(tmp_path / "x"))
    assert code == 2
    assert err.strip().startswith("linkedonnx: error: unknown experiment")
    assert not (tmp_path / "x").exists()


def test_seeds_option(tmp_path: Path, capsys) -> None:
    out = tmp_path / "depth"
    code, stdout, _ = run_cli(
        capsys, "experiment", "width", "--activations", "relu", "--data", "synthetic",
        "--epochs", "1", "--max-steps", "1", "--device", "cpu", "--seeds", "3,5",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0
    assert "seed" in stdout
    assert (out / "runs" / "relu" / "seed-3" / "metrics.jsonl").is_file()
    assert (out / "runs" / "relu" / "seed-5" / "metrics.jsonl").is_file()


@pytest.mark.parametrize("seeds", ["", "a,b", "1,1", "-1"])
def test_bad_seeds(tmp_path: Path, capsys, seeds: str) -> None:
    code, _, err = run_cli(
        capsys, "experiment", "width", "--data", "synthetic", "--seeds", seeds,
        "--out", str(tmp_path / "x"),
    )  # fmt: skip
    assert code == 2
    assert "seeds" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
