"""The paper's comparisons (depth, width, params, allcnn, resnet, resnet-nobn) as
runnable experiments writing a results table and plots."""

from linkedonnx.experiments.registry import EXPERIMENTS, Experiment, get
from linkedonnx.experiments.runner import (
    ExperimentConfig,
    ExperimentResult,
    parse_seeds,
    run_experiment,
)

__all__ = [
    "EXPERIMENTS",
    "Experiment",
    "ExperimentConfig",
    "ExperimentResult",
    "get",
    "parse_seeds",
    "run_experiment",
]
