"""Experiments: registry names, a tiny end-to-end run writing table and plots, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linkedonnx.errors import BadInputError
from linkedonnx.experiments import EXPERIMENTS, ExperimentConfig, get, run_experiment
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


def test_tiny_experiment_writes_table_and_plots(tmp_path: Path) -> None:
    out = tmp_path / "exp"
    config = ExperimentConfig(
        experiment="width",
        out=out,
        activations=["relu", "lk-relu"],
        data="synthetic",
        epochs=2,
        max_steps=3,
        device="cpu",
    )
    result = run_experiment(config)
    assert [s.activation for s in result.summaries] == ["relu", "lk-relu"]
    for name in ("accuracy.png", "dead_units.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 2000
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
