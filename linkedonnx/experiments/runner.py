"""Run one of the paper's comparisons: train each activation's model, then write the
results table (Markdown + JSON) and the plots into the output folder.

Output folder layout: ``results.md``, ``results.json``, ``accuracy.png`` (and
``accuracy_time.png``, accuracy against wall time, for experiments with time ratios),
``dead_units.png`` and ``runs/<activation>/`` (each run's metrics.jsonl and checkpoints;
with several seeds, ``runs/<activation>/seed-<k>/``).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from linkedonnx.atomic import write_text_atomic
from linkedonnx.errors import BadInputError
from linkedonnx.experiments import plots
from linkedonnx.experiments.registry import (
    PAPER_RECIPE_EXPERIMENTS,
    PAPER_RECIPES,
    RECIPES,
    Experiment,
    get,
)
from linkedonnx.experiments.report import (
    RunSummary,
    layers_table,
    markdown_table,
    seeds_table,
    summarise_seeds,
    time_table,
)
from linkedonnx.experiments.timing import RunTime, time_ratios

RESULTS_MD = "results.md"
RESULTS_JSON = "results.json"
ACCURACY_PNG = "accuracy.png"
ACCURACY_TIME_PNG = "accuracy_time.png"
DEAD_PNG = "dead_units.png"
DEAD_ELEMENTS_PNG = "dead_elements.png"
RUNS = "runs"


@dataclass
class ExperimentConfig:
    """Settings of one experiment run; None fields take the experiment's defaults.

    ``budget_seconds`` is the total training time, split evenly over the runs
    (each stops after its share, its last epoch then marked partial). ``seeds`` (None:
    just ``seed``) trains every activation once per seed, as the paper reports the best
    and the median of several runs. ``recipe`` 'paper' trains as the authors' Keras code
    did (:data:`~linkedonnx.experiments.registry.PAPER_RECIPES`: depth and resnet-nobn);
    ``train_subset`` N trains on a fixed stratified subset of N train images, which is
    also the data the dead units are counted on.
    """

    experiment: str
    out: str | os.PathLike[str]
    activations: list[str] | None = None
    data: str = "digits"
    epochs: int = 20
    budget_seconds: float | None = None
    overwrite: bool = False
    seed: int = 0
    seeds: list[int] | None = None
    image_size: int | None = None
    standardize: bool = False
    device: str = "auto"
    batch_size: int | None = None
    lr: float | None = None
    max_steps: int | None = None
    data_dir: str | os.PathLike[str] | None = None
    progress: bool = False
    recipe: str = "default"
    train_subset: int | None = None

    def command_line(self) -> str:
        """The ``linkedonnx experiment`` command that reproduces this run."""
        args = ["linkedonnx", "experiment", self.experiment]
        if self.recipe != "default":
            args += ["--recipe", self.recipe]
        if self.activations:
            args += ["--activations", ",".join(self.activations)]
        args += ["--data", self.data, "--epochs", str(self.epochs)]
        for flag, value in (
            ("--budget-seconds", self.budget_seconds),
            ("--image-size", self.image_size),
            ("--batch", self.batch_size),
            ("--lr", self.lr),
            ("--max-steps", self.max_steps),
            ("--samples", self.train_subset),
        ):
            if value is not None:
                args += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
        if self.seeds and len(self.seeds) > 1:
            args += ["--seeds", ",".join(str(s) for s in self.seeds)]
        elif self.run_seeds() != [0]:
            args += ["--seed", str(self.run_seeds()[0])]
        if self.standardize:
            args.append("--standardize")
        if self.device != "auto":
            args += ["--device", self.device]
        args += ["--out", str(self.out)]
        return shlex.join(args)

    def run_seeds(self) -> list[int]:
        """The seeds to train with: ``seeds`` when given, else ``[seed]``."""
        return list(self.seeds) if self.seeds else [self.seed]


@dataclass
class ExperimentResult:
    """Summaries per activation, each run's metrics, and the files written."""

    experiment: Experiment
    summaries: list[RunSummary]
    metrics: dict[str, list[dict[str, Any]]]
    files: list[Path] = field(default_factory=list)


def parse_seeds(text: str) -> list[int]:
    """Parse '0,1,2' into [0, 1, 2]; raise BadInputError (one line) for an empty list or
    anything that is not a comma-separated list of integers."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        seeds = [int(p) for p in parts]
    except ValueError:
        seeds = []
    if not seeds:
        raise BadInputError(f"--seeds takes comma-separated integers, got {text!r}")
    return seeds


def run_label(activation: str, seed: int, n_seeds: int) -> str:
    """The key of one run in the metrics and plots: the activation, plus the seed when
    there are several ('lk-relu' or 'lk-relu seed 3')."""
    return activation if n_seeds == 1 else f"{activation} seed {seed}"


def _check(config: ExperimentConfig, exp: Experiment) -> list[str]:
    """Validate names and the output folder before anything is written."""
    from linkedonnx.zoo.naming import parse_name

    activations = list(config.activations or exp.activations)
    if not activations:
        raise BadInputError("no activations given")
    if len(set(activations)) != len(activations):
        raise BadInputError(f"activations repeat: {','.join(activations)}")
    for activation in activations:
        parse_name(exp.model_name(activation))
    seeds = config.run_seeds()
    if len(set(seeds)) != len(seeds):
        raise BadInputError(f"seeds repeat: {','.join(map(str, seeds))}")
    if any(s < 0 for s in seeds):
        raise BadInputError(f"seeds must be non-negative, got {','.join(map(str, seeds))}")
    if config.recipe not in RECIPES:
        raise BadInputError(
            f"unknown recipe {config.recipe!r}; expected one of {', '.join(RECIPES)}"
        )
    if config.recipe == "paper" and exp.name not in PAPER_RECIPE_EXPERIMENTS:
        raise BadInputError(
            f"--recipe paper is written for {', '.join(PAPER_RECIPE_EXPERIMENTS)}, not {exp.name}"
        )
    if config.train_subset is not None and config.train_subset < 1:
        raise BadInputError(f"--samples must be at least 1, got {config.train_subset}")
    if config.budget_seconds is not None and config.budget_seconds <= 0:
        raise BadInputError(f"--budget-seconds must be positive, got {config.budget_seconds}")
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise BadInputError(f"output {out} exists and is not a folder")
    if out.is_dir() and not config.overwrite:
        raise BadInputError(f"output folder {out} exists; pass --overwrite to replace it")
    return activations


def run_experiment(config: ExperimentConfig) -> ExperimentResult:
    """Train every activation of ``config.experiment`` and write table and plots.

    Raises BadInputError (before writing anything) for an unknown experiment, model,
    activation or dataset, or an existing output folder without ``overwrite``.
    """
    from linkedonnx import data as data_mod
    from linkedonnx.train import TrainConfig, train

    exp = get(config.experiment)
    activations = _check(config, exp)
    dataset = data_mod.load(config.data, image_size=config.image_size, data_dir=config.data_dir)
    if config.train_subset is not None:  # checked here, before anything is written
        from linkedonnx.data.subset import stratified_subset

        stratified_subset(dataset, config.train_subset)
    chance = 1.0 / dataset.num_classes
    paper = config.recipe == "paper"
    recipe = PAPER_RECIPES[exp.name] if paper else None
    optimizer = recipe.optimizer if recipe else exp.optimizer
    lr = config.lr or (recipe.lr if recipe else exp.lr)
    batch_size = config.batch_size or (recipe.batch_size if recipe else exp.batch_size)
    out = Path(config.out)
    if out.is_dir() and config.overwrite:
        for name in (
            RESULTS_MD,
            RESULTS_JSON,
            ACCURACY_PNG,
            ACCURACY_TIME_PNG,
            DEAD_PNG,
            DEAD_ELEMENTS_PNG,
        ):
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / RUNS, ignore_errors=True)
    (out / RUNS).mkdir(parents=True, exist_ok=True)
    seeds = config.run_seeds()
    # Seed-major: every row's k-th run before any row's (k+1)-th, so a slow drift of
    # the machine's speed spreads over the rows instead of landing on the last ones.
    runs = [(a, s) for s in seeds for a in activations]
    share = None if config.budget_seconds is None else config.budget_seconds / len(runs)
    summaries, metrics, times = [], {}, {a: [] for a in activations}
    for activation, seed in runs:
        model = exp.model_name(activation)
        run_dir = out / RUNS / activation
        if len(seeds) > 1:
            run_dir = run_dir / f"seed-{seed}"
        result = train(
            TrainConfig(
                model=model,
                data=config.data,
                epochs=config.epochs,
                batch_size=batch_size,
                lr=lr,
                optimizer=optimizer,
                momentum=exp.momentum,
                nesterov=exp.nesterov,
                device=config.device,
                seed=seed,
                out=run_dir,
                standardize=config.standardize,
                image_size=config.image_size,
                max_steps=config.max_steps,
                max_seconds=share,
                dead_samples=None,  # the paper's definition: every sample of the data
                data_dir=config.data_dir,
                progress=config.progress,
                shuffle=recipe.shuffle if recipe else True,
                keras_layers=recipe.keras_layers if recipe else False,
                lr_decay=recipe.lr_decay if recipe else 0.0,
                augment=recipe.augment if recipe else False,
                train_subset=config.train_subset,
            )
        )
        times[activation].append(RunTime.from_metrics(result.metrics))
        parameters = sum(p.numel() for p in result.model.parameters())
        metrics[run_label(activation, seed, len(seeds))] = result.metrics
        summaries.append(
            RunSummary.from_metrics(activation, model, parameters, result.metrics, seed)
        )
    # Reported row by row, each row's seeds in order, whatever order they trained in.
    row_order = {a: i for i, a in enumerate(activations)}
    summaries.sort(key=lambda r: (row_order[r.activation], seeds.index(r.seed)))
    metrics = {
        run_label(a, s, len(seeds)): metrics[run_label(a, s, len(seeds))]
        for a in activations
        for s in seeds
    }
    runs = [(a, s) for a in activations for s in seeds]
    title = f"{exp.name} on {config.data}"
    settings = (
        f"recipe {config.recipe}: {optimizer} lr {lr:g}"
        + (f" decay {recipe.lr_decay:g}" if recipe and recipe.lr_decay else "")
        + f", batch {batch_size}, "
        + ("epochs in the split's order (no shuffle), " if recipe and not recipe.shuffle else "")
        + ("flips and 10% shifts, " if recipe and recipe.augment else "")
        + ("Keras layers, " if recipe and recipe.keras_layers else "")
        + f"up to {config.epochs} epochs"
        + (
            f", a fixed stratified subset of {config.train_subset} train images"
            if config.train_subset
            else ""
        )
        + (f", budget {config.budget_seconds:g} s" if config.budget_seconds else "")
        + f", {dataset.image_size}x{dataset.image_size} inputs"
        + (" standardized" if config.standardize else " raw (scaled to 0..1)")
        + ", Glorot-uniform init (keras), "
        + (f"seeds {', '.join(map(str, seeds))}" if len(seeds) > 1 else f"seed {seeds[0]}")
    )
    ratios = time_ratios(times, exp.time_reference) if exp.time_reference is not None else None
    timing = (
        f"Per row (over the seeds): best test accuracy, the wall time of a whole run "
        f"(training + test evaluation of every epoch, median over the seeds) and its ratio "
        f"to `{exp.time_reference}` (the paper's measure), the training seconds per step "
        f"and their ratio, and the first layer with a dead channel in each no-BN run:\n\n"
        + time_table(summaries, chance, ratios)
        + "\n"
        if ratios is not None
        else ""
    )
    over_seeds = (
        "Over the seeds (best test accuracy of the best run / median over the runs; "
        "dead units at the end, median and range over the runs):\n\n"
        + seeds_table(summaries, chance)
        + "\nEvery run:\n\n"
        if len(seeds) > 1
        else ""
    )
    text = (
        f"# Experiment `{exp.name}` on `{config.data}`\n\n"
        f"Settings: {settings}.\n\n"
        f"Command:\n\n    {config.command_line()}\n\n"
        + timing
        + over_seeds
        + markdown_table(summaries, chance)
        + "\nDead units per layer at the end (layer = 1-based activation index, the conv "
        "index in the depth net), per channel / per element (channel x position), over "
        f"all {'subset ' if config.train_subset else ''}training images:\n\n"
        + layers_table(metrics)
        + f"\nPlots: [{ACCURACY_PNG}]({ACCURACY_PNG}), "
        + (f"[{ACCURACY_TIME_PNG}]({ACCURACY_TIME_PNG}), " if ratios is not None else "")
        + f"[{DEAD_PNG}]({DEAD_PNG}), [{DEAD_ELEMENTS_PNG}]({DEAD_ELEMENTS_PNG}).\n"
    )
    payload = {
        "experiment": exp.name,
        "data": config.data,
        "settings": settings,
        "recipe": config.recipe,
        "train_subset": config.train_subset,
        "command": config.command_line(),
        "chance": chance,
        "seeds": seeds,
        "runs": [s.to_dict() for s in summaries],
        "over_seeds": [s.to_dict() for s in summarise_seeds(summaries, chance)],
        "time_reference": exp.time_reference,
        "time_ratios": None if ratios is None else [r.to_dict() for r in ratios],
        "run_times": {
            run_label(a, s, len(seeds)): asdict(times[a][seeds.index(s)]) for a, s in runs
        },
        "metrics": metrics,
    }
    groups = {run_label(a, s, len(seeds)): a for a, s in runs}
    files = [
        plots.plot_accuracy(metrics, out / ACCURACY_PNG, f"{title}: test accuracy", chance, groups),
        plots.plot_dead_units(metrics, out / DEAD_PNG, f"{title}: dead units at the end", groups),
        plots.plot_dead_units(
            metrics,
            out / DEAD_ELEMENTS_PNG,
            f"{title}: dead elements at the end",
            groups,
            per="element",
        ),
    ]
    if ratios is not None:
        files.append(
            plots.plot_accuracy(
                metrics,
                out / ACCURACY_TIME_PNG,
                f"{title}: test accuracy against wall time",
                chance,
                groups,
                against="wall",
            )
        )
    write_text_atomic(out / RESULTS_JSON, json.dumps(payload, indent=2) + "\n")
    write_text_atomic(out / RESULTS_MD, text)
    files += [out / RESULTS_JSON, out / RESULTS_MD]
    return ExperimentResult(exp, summaries, metrics, files)
