"""Why the with-BN rows of a short no-BN ResNet run test near chance: the running
statistics that Keras batch norm (momentum 0.99) evaluates with are still mostly their
initial values (mean 0, variance 1) after a few dozen steps.

For each run folder of ``experiment resnet-nobn`` that has batch norm, this rebuilds the
model from the run's ``config.json``, loads ``checkpoint.safetensors`` (the last epoch)
and prints, on the test split:

- the test accuracy as the run evaluated it (the saved running statistics);
- the weight ``0.99 ** steps`` that the initial statistics still carry;
- the test accuracy after re-estimating every batch norm's statistics over the run's own
  training subset (a cumulative average, no augmentation, weights unchanged).

Usage: ``python examples/nobn_bn_statistics.py RESULTS_FOLDER`` (the folder holding
``runs/``); writes ``bn_statistics.json`` beside ``runs/``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import fields
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch.optim.swa_utils import update_bn

from linkedonnx.data import load as load_data
from linkedonnx.data.subset import stratified_subset
from linkedonnx.train.config import TrainConfig
from linkedonnx.train.trainer import build_model, evaluate


def _config(run: Path) -> TrainConfig:
    raw = json.loads((run / "config.json").read_text())
    known = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in raw.items() if k in known})


def main(folder: Path) -> None:
    """Print and write the table for every with-BN run under ``folder``/runs."""
    rows = []
    for run in sorted((folder / "runs").glob("*-bn/seed-*")):
        config = _config(run)
        data = load_data(config.data, standardize=config.standardize)
        if config.train_subset:
            data = stratified_subset(data, config.train_subset)
        _, model = build_model(config, data)
        state = load_file(str(run / "checkpoint.safetensors"))
        model.load_state_dict(
            {k.split(".", 1)[1]: v for k, v in state.items() if k.startswith("model.")}
        )
        metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        steps = metrics[-1]["steps"]  # cumulative over the epochs
        _, saved = evaluate(model, data, torch.device("cpu"), 256)
        images = data.train_images
        # torch's own re-estimation: reset, cumulative average over the batches
        update_bn([data.prepare(images[i : i + 256]) for i in range(0, len(images), 256)], model)
        _, fresh = evaluate(model, data, torch.device("cpu"), 256)
        row = {
            "run": str(run.relative_to(folder)),
            "steps": steps,
            "initial_weight": 0.99**steps,
            "test_accuracy_as_run": saved,
            "recorded_test_accuracy": metrics[-1]["test_accuracy"],
            "test_accuracy_reestimated": fresh,
        }
        rows.append(row)
        print(
            f"{row['run']}: {steps} steps, init weight {row['initial_weight']:.2f}, "
            f"test acc as run {saved:.4f} (recorded {row['recorded_test_accuracy']:.4f}), "
            f"statistics re-estimated {fresh:.4f}"
        )
    (folder / "bn_statistics.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
