"""`linkedonnx experiment resnet-nobn --recipe paper`: the issue-26 command at its
smallest (256 digits, 1 epoch, seed 0) runs and reports the 8 rows with both ratios.

``--image-size 8`` (the digits' own side; the default resizes them to 16) keeps the 8
trainings, evaluations and dead-unit counts to about a quarter of the work."""

from __future__ import annotations

import json
from pathlib import Path

from linkedonnx.experiments.registry import PAPER_RECIPES
from tests.cli.invoke import run_cli

ROWS = ["lk-relu", "lk-relu-bn", "selu", "selu-bn", "lk-selu", "lk-selu-bn", "relu", "relu-bn"]


def test_paper_recipe_command_reports_eight_rows_with_both_ratios(tmp_path: Path, capsys) -> None:
    out = tmp_path / "nobn"
    code, _, err = run_cli(
        capsys, "experiment", "resnet-nobn", "--recipe", "paper", "--train-subset", "256",
        "--epochs", "1", "--seeds", "0", "--image-size", "8", "--device", "cpu",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    payload = json.loads((out / "results.json").read_text())
    ratios = payload["time_ratios"]
    assert [r["activation"] for r in ratios] == ROWS
    assert payload["time_reference"] == "lk-relu"
    for row in ratios:
        assert row["wall_ratio"] > 0 and row["step_ratio"] > 0
        assert row["wall_seconds"] > 0 and row["seconds_per_step"] > 0
    assert ratios[0]["wall_ratio"] == 1.0 and ratios[0]["step_ratio"] == 1.0
    runs = {r["activation"]: r for r in payload["runs"]}
    assert runs["lk-relu"]["model"] == "resnet/lk-relu-nobn"
    assert runs["lk-relu-bn"]["model"] == "resnet/lk-relu-bn"
    table = (out / "results.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and "x |" in line]
    assert len(rows) == 8 and all(line.count("x |") == 2 for line in rows)
    assert "wall-time ratio" in table and "per-step ratio" in table
    assert (out / "accuracy_time.png").read_bytes().startswith(b"\x89PNG")
    assert "[accuracy_time.png](accuracy_time.png)" in table
    # the recipe reached every run: Keras Adam with decay, shuffled, augmented, Keras layers
    recipe = PAPER_RECIPES["resnet-nobn"]
    config = json.loads((out / "runs" / "selu-bn" / "config.json").read_text())
    assert (config["optimizer"], config["lr"], config["lr_decay"]) == ("adam-keras", 1e-3, 1e-6)
    assert config["batch_size"] == recipe.batch_size == 128
    assert config["shuffle"] and config["augment"] and config["keras_layers"]
    assert config["train_subset"] == 256
    line = json.loads((out / "runs" / "lk-relu" / "metrics.jsonl").read_text().splitlines()[-1])
    assert line["steps"] == 2  # 256 images in batches of 128
    assert line["dead_units"]["samples"] == 256
