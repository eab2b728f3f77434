"""Why units die in the 51-layer depth net under the paper's recipe, step by step.

Builds ``depth/<activation>`` as ``linkedonnx experiment depth --recipe paper`` does
(Keras layer form, Glorot init from the seed, Keras-2 Adam, batch 32, the subset in
its own order; ``--optimizer adam`` swaps in PyTorch's Adam to show what eps placement
does) and measures, on the whole training subset:

- at init: each layer's peak |activation| and its dead channels / elements;
- over the first step: each conv's median |bias gradient| and median |bias step|;
- after each of ``--steps`` optimizer steps: dead channels / elements per layer and
  the first dead layer (1-based conv index, as the paper numbers layers).

    python examples/depth_mechanism.py OUT [--data fashion-mnist] [--activation relu]
        [--seeds 0,1,2] [--train-subset 10000] [--steps 1,2,5,10,50,313]
        [--optimizer adam-keras|adam]

It writes OUT/mechanism.json and OUT/mechanism.md and prints the tables. The
environment variable LINKEDONNX_EXAMPLE_TINY=1 (or ``--tiny``) makes it a few-second
smoke run on the embedded digits.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from linkedonnx import data as data_mod
from linkedonnx.atomic import write_text_atomic
from linkedonnx.data.subset import stratified_subset
from linkedonnx.train import TrainConfig
from linkedonnx.train.dead_units import count_dead_units
from linkedonnx.train.trainer import build_model, dead_unit_batches, make_optimizer

BATCH = 32  # the paper recipe's batch


def dead_profile(model: nn.Module, data: data_mod.ImageData) -> list[dict[str, Any]]:
    """Per layer (1-based): peak |activation|, dead channels and dead elements of
    ``model`` over every training image of ``data``."""
    report = count_dead_units(model, dead_unit_batches(data, None, 500, torch.device("cpu")))
    return [
        {
            "layer": k,
            "peak": layer.peak,
            "units": layer.units,
            "dead": layer.dead,
            "elements": layer.elements,
            "dead_elements": layer.dead_elements,
        }
        for k, layer in enumerate(report.layers, start=1)
    ]


def first_dead(profile: list[dict[str, Any]], key: str) -> int | None:
    """The first layer of ``profile`` with a dead unit under ``key`` (None: none)."""
    return next((row["layer"] for row in profile if row[key] > 0), None)


def run_seed(
    activation: str,
    data: data_mod.ImageData,
    seed: int,
    steps: list[int],
    optimizer_name: str = "adam-keras",
) -> dict[str, Any]:
    """Measure one seed (see the module doc) trained with ``optimizer_name`` (the
    trainer's names: adam-keras, the paper recipe's, or adam, PyTorch's); return its
    JSON-ready record."""
    config = TrainConfig(
        model=f"depth/{activation}",
        data=data.name,
        optimizer=optimizer_name,
        shuffle=False,
        keras_layers=True,
        seed=seed,
        device="cpu",
    )
    _, model = build_model(config, data)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    optimizer = make_optimizer(config, model.parameters())
    record: dict[str, Any] = {"seed": seed, "init": dead_profile(model, data), "after": {}}
    images, labels = data.split(train=True)
    for step, start in enumerate(range(0, len(labels), BATCH)[: max(steps)], start=1):
        x = data.prepare(images[start : start + BATCH])
        y = labels[start : start + BATCH]
        model.train()
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x).float(), y, reduction="sum") / len(y)
        loss.backward()
        if step == 1:
            before = [c.bias.detach().clone() for c in convs]
            grads = [c.bias.grad.detach().abs() for c in convs]
        optimizer.step()
        if step == 1:
            record["step1"] = [
                {
                    "layer": k,
                    "median_abs_bias_grad": float(g.median()),
                    "median_abs_bias_step": float((c.bias.detach() - b).abs().median()),
                }
                for k, (c, b, g) in enumerate(zip(convs, before, grads, strict=True), start=1)
            ]
        if step in steps:
            record["after"][step] = dead_profile(model, data)
    return record


def summary_rows(records: list[dict[str, Any]], steps: list[int]) -> list[str]:
    """Markdown rows: per seed, total dead channels / elements and the first dead layer
    (channel / element) at init and after each step count."""
    rows = [
        "| seed | after steps | dead channels | dead elements | first dead layer (ch / el) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for rec in records:
        for label, profile in [("0 (init)", rec["init"])] + [
            (str(s), rec["after"][s]) for s in steps if s in rec["after"]
        ]:
            units = sum(r["units"] for r in profile)
            elements = sum(r["elements"] for r in profile)
            rows.append(
                f"| {rec['seed']} | {label} | {sum(r['dead'] for r in profile)}/{units} | "
                f"{sum(r['dead_elements'] for r in profile)}/{elements} | "
                f"{first_dead(profile, 'dead') or 'none'} / "
                f"{first_dead(profile, 'dead_elements') or 'none'} |"
            )
    return rows


def layer_rows(record: dict[str, Any], last: int) -> list[str]:
    """Markdown rows for one seed: per layer, peak |activation| at init, the first
    step's median |bias gradient| and |bias step|, and dead channels / elements after
    step 1 and after ``last`` steps."""
    rows = [
        f"| layer | peak at init | step 1: median abs bias grad | step 1: median abs bias "
        f"step | dead ch / el after 1 step | dead ch / el after {last} steps |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    one, end = record["after"].get(1), record["after"][last]
    for k, init in enumerate(record["init"]):
        step = record["step1"][k]
        after1 = f"{one[k]['dead']} / {one[k]['dead_elements']}" if one else "-"
        rows.append(
            f"| {init['layer']} | {init['peak']:.1e} | {step['median_abs_bias_grad']:.1e} | "
            f"{step['median_abs_bias_step']:.1e} | {after1} | "
            f"{end[k]['dead']} / {end[k]['dead_elements']} |"
        )
    return rows


def main(argv: list[str]) -> int:
    """Parse ``argv``, measure every seed, write OUT/mechanism.{json,md}; exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--data", default="fashion-mnist")
    parser.add_argument("--activation", default="relu")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--train-subset", type=int, default=10000)
    parser.add_argument("--steps", default="1,2,5,10,50,313")
    parser.add_argument("--optimizer", default="adam-keras", choices=["adam-keras", "adam"])
    parser.add_argument("--tiny", action="store_true")
    args = parser.parse_args(argv)
    if args.tiny or os.environ.get("LINKEDONNX_EXAMPLE_TINY") == "1":
        args.data, args.seeds, args.train_subset, args.steps = "digits", "0", 200, "1,2"
    seeds = [int(s) for s in args.seeds.split(",")]
    steps = sorted({int(s) for s in args.steps.split(",")})
    data = stratified_subset(data_mod.load(args.data), args.train_subset)
    one_epoch = -(-args.train_subset // BATCH)
    if steps[-1] > one_epoch:
        parser.error(f"--steps go up to one epoch ({one_epoch} steps), got {steps[-1]}")
    torch.set_num_threads(1)  # the experiment's OMP_NUM_THREADS=1: the same float sums
    records = [run_seed(args.activation, data, seed, steps, args.optimizer) for seed in seeds]
    text = "\n".join(
        [
            f"# depth/{args.activation} on {args.data} (subset {args.train_subset}), "
            f"paper recipe with {args.optimizer}: how units die",
            "",
            *summary_rows(records, steps),
            "",
        ]
        + [
            line
            for rec in records
            for line in (f"## seed {rec['seed']}", "", *layer_rows(rec, steps[-1]), "")
        ]
    )
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {
        "activation": args.activation,
        "data": args.data,
        "train_subset": args.train_subset,
        "steps": steps,
        "optimizer": args.optimizer,
        "torch": torch.__version__,
        "records": records,
    }
    write_text_atomic(args.out / "mechanism.json", json.dumps(payload, indent=1) + "\n")
    write_text_atomic(args.out / "mechanism.md", text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
