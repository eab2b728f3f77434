"""Experiments: registry names, a tiny end-to-end run writing table and plots, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linkedonnx.errors import BadInputError
from linkedonnx.experiments import (
    EXPERIMENTS,
    ExperimentConfig,
    get,
    parse_seeds,
    run_experiment,
)
from linkedonnx.experiments.report import RunSummary, SeedsSummary
from linkedonnx.zoo import names

PNG = b"\x89PNG\r\n\x1a\n"


def test_every_default_model_exists() -> None:
    known = set(names())
    from linkedonnx.zoo.naming import parse_name

    for exp in EXPERIMENTS.values():
        for activation in exp.activations:
            parsed = parse_name(exp.model_name(activation))
            assert parsed.name in known
    assert get("resnet-nobn").model_name("lk-relu") == "resnet/lk-relu-nobn"
    assert get("resnet-nobn").model_name("relu-bn") == "resnet/relu-bn"
    assert get("depth").optimizer == "adam" and get("depth").lr == 1e-3


def _tiny(out: Path, **changes) -> ExperimentConfig:
    """A width experiment (ReLU and LK-ReLU) of a few steps on the synthetic data."""
    settings = {
        "experiment": "width",
        "out": out,
        "activations": ["relu", "lk-relu"],
        "data": "synthetic",
        "epochs": 2,
        "max_steps": 3,
        "device": "cpu",
    }
    return ExperimentConfig(**(settings | changes))


def test_tiny_experiment_writes_table_and_plots(tmp_path: Path) -> None:
    out = tmp_path / "exp"
    config = _tiny(out)
    result = run_experiment(config)
    assert [s.activation for s in result.summaries] == ["relu", "lk-relu"]
    for name in ("accuracy.png", "dead_units.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 2000
    assert not (out / "accuracy_time.png").exists()  # width has no time reference
    table = (out / "results.md").read_text()
    assert "| lk-relu | `width/lk-relu` |" in table
    assert config.command_line() in table
    payload = json.loads((out / "results.json").read_text())
    assert [r["activation"] for r in payload["runs"]] == ["relu", "lk-relu"]
    assert payload["runs"][1]["units"] == 2 * payload["runs"][0]["units"]  # linked: 2x units
    assert payload["chance"] == 0.25
    assert (out / "runs" / "lk-relu" / "metrics.jsonl").is_file()
    # the same folder again: refused, then replaced with --overwrite
    with pytest.raises(BadInputError, match="exists"):
        run_experiment(config)
    config.overwrite = True
    config.activations = ["relu"]
    run_experiment(config)
    assert not (out / "runs" / "lk-relu").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"experiment": "breadth"}, "unknown experiment"),
        ({"activations": ["relu", "tanh"]}, "unknown model name"),
        ({"activations": ["relu", "relu"]}, "repeat"),
        ({"data": "imagenet"}, "unknown dataset"),
        ({"budget_seconds": 0}, "budget"),
    ],
)
def test_bad_input_writes_nothing(tmp_path: Path, change: dict, message: str) -> None:
    settings = {"experiment": "width", "out": tmp_path / "never", "data": "synthetic"}
    settings.update(change)
    with pytest.raises(BadInputError, match=message):
        run_experiment(ExperimentConfig(**settings))
    assert not (tmp_path / "never").exists()


def test_several_seeds_write_one_run_each_and_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "exp"
    config = _tiny(out, epochs=1, max_steps=2, seeds=[1, 2])
    result = run_experiment(config)
    assert [(s.activation, s.seed) for s in result.summaries] == [
        ("relu", 1), ("relu", 2), ("lk-relu", 1), ("lk-relu", 2),
    ]  # fmt: skip
    for activation in ("relu", "lk-relu"):
        for seed in (1, 2):
            assert (out / "runs" / activation / f"seed-{seed}" / "metrics.jsonl").is_file()
    # different seeds: different initial weights, so the runs differ
    first, second = result.metrics["relu seed 1"], result.metrics["relu seed 2"]
    assert first[-1]["loss"] != second[-1]["loss"]
    payload = json.loads((out / "results.json").read_text())
    assert payload["seeds"] == [1, 2]
    over = {s["activation"]: s for s in payload["over_seeds"]}
    relu_runs = [r for r in payload["runs"] if r["activation"] == "relu"]
    assert over["relu"]["best_test_accuracy"] == max(r["best_test_accuracy"] for r in relu_runs)
    assert over["relu"]["seeds"] == [1, 2]
    table = (out / "results.md").read_text()
    assert "Over the seeds" in table and "| relu | 1 | `width/relu` |" in table
    assert "--seeds 1,2" in config.command_line() and config.command_line() in table
    assert (out / "accuracy.png").read_bytes().startswith(PNG)


def _summary(activation: str, seed: int, best: float, dead: int) -> RunSummary:
    return RunSummary(
        activation, f"depth/{activation}", 10, 3, False, best, best, 1.0, 1.0, dead, 8, seed
    )


def test_seeds_summary_best_median_and_dead_range() -> None:
    runs = [_summary("relu", s, b, d) for s, b, d in ((0, 0.1, 2), (1, 0.3, 6), (2, 0.2, 4))]
    summary = SeedsSummary.from_runs(runs, chance=0.1)
    assert summary.best_test_accuracy == 0.3
    assert summary.median_best_test_accuracy == 0.2
    assert (summary.min_dead_share, summary.median_dead_share, summary.max_dead_share) == (
        0.25, 0.5, 0.75,
    )  # fmt: skip
    assert summary.runs_above_chance == 2  # 0.2 and 0.3 beat chance + 0.05; 0.1 does not
    with pytest.raises(ValueError):
        SeedsSummary.from_runs([], chance=0.1)


def test_parse_seeds() -> None:
    assert parse_seeds("0, 1,2") == [0, 1, 2]
    for bad in ("", "x", "1.5"):
        with pytest.raises(BadInputError, match="--seeds"):
            parse_seeds(bad)


@pytest.mark.parametrize(("seeds", "message"), [([1, 1], "repeat"), ([-2], "non-negative")])
def test_bad_seeds_write_nothing(tmp_path: Path, seeds: list[int], message: str) -> None:
    config = ExperimentConfig("width", tmp_path / "never", data="synthetic", seeds=seeds)
    with pytest.raises(BadInputError, match=message):
        run_experiment(config)
    assert not (tmp_path / "never").exists()


def test_paper_recipe_depth_run_reports_both_columns_and_first_dead_layer(
    tmp_path: Path,
) -> None:
    out = tmp_path / "paper"
    config = ExperimentConfig(
        "depth",
        out,
        activations=["relu", "lk-prelu"],
        data="digits",
        image_size=8,
        epochs=1,
        max_steps=2,
        device="cpu",
        seeds=[0, 1],
        recipe="paper",
        train_subset=120,
    )
    result = run_experiment(config)
    payload = json.loads((out / "results.json").read_text())
    assert payload["recipe"] == "paper" and payload["train_subset"] == 120
    run = payload["runs"][0]
    for key in ("first_dead_layer", "first_dead_element_layer", "dead_elements", "elements"):
        assert key in run
    line = result.metrics["relu seed 0"][-1]
    assert line["dead_units"]["samples"] == 120  # dead units over the whole subset
    layers = line["dead_units"]["layers"]
    assert len(layers) == 51 and run["elements"] == sum(la[3] for la in layers)
    dead = [i for i, la in enumerate(layers, start=1) if la[2]]
    assert run["first_dead_layer"] == (dead[0] if dead else None)
    config_json = json.loads((out / "runs" / "relu" / "seed-0" / "config.json").read_text())
    assert config_json["optimizer"] == "adam-keras" and config_json["batch_size"] == 32
    assert config_json["shuffle"] is False and config_json["keras_layers"] is True
    table = (out / "results.md").read_text()
    assert "first dead layer per run" in table and "dead ch / el" in table
    assert "--recipe paper" in table and "--samples 120" in table
    assert (out / "dead_elements.png").read_bytes().startswith(PNG)


def test_paper_recipe_is_for_the_depth_experiment(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="--recipe paper"):
        run_experiment(_tiny(tmp_path / "never", recipe="paper"))
    with pytest.raises(BadInputError, match="unknown recipe"):
        run_experiment(_tiny(tmp_path / "never", recipe="fast"))
    with pytest.raises(BadInputError, match="--samples"):
        run_experiment(_tiny(tmp_path / "never", train_subset=10**9))
    assert not (tmp_path / "never").exists()
