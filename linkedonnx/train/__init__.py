"""Training: ``train(TrainConfig) -> TrainResult``, data-parallel under torchrun, and
dead-unit counting of torch models through forward hooks."""

from linkedonnx.train.config import TrainConfig
from linkedonnx.train.dead_units import count_dead_units, track_dead_units
from linkedonnx.train.trainer import TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "count_dead_units", "track_dead_units", "train"]
