"""TrainConfig: everything one training run needs, validated before anything is written."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from linkedonnx.errors import BadInputError
from linkedonnx.train.init import INITS

OPTIMIZERS = ("sgd", "adam", "adam-keras", "rmsprop")
DEVICES = ("auto", "cpu", "cuda")


@dataclass
class TrainConfig:
    """One training run.

    ``model`` is a zoo name, ``data`` a dataset name (:mod:`linkedonnx.data`). ``out``
    None trains without writing files. ``max_steps`` / ``max_seconds`` stop early (the
    epoch in progress is then evaluated and logged as partial). ``dead_samples`` is how
    many train samples (the first ones, unshuffled; None: all) the per-epoch dead-unit
    count sees.
    ``init`` is 'keras' (Glorot-uniform, zero bias: the paper's setting) or 'torch'
    (PyTorch's defaults), see :mod:`linkedonnx.train.init`.
    ``shuffle`` False trains every epoch in the split's order (the authors' Keras
    ``fit(shuffle=False)``); ``train_subset`` N trains on a fixed stratified subset of N
    train images (:mod:`linkedonnx.data.subset`); ``keras_layers`` builds the model with
    Keras' layer semantics (:mod:`linkedonnx.zoo.keras_form`: per-element PReLU slopes
    from 0, TensorFlow's 'same' padding for strided convs). Optimizer 'adam-keras' is
    Keras 2's Adam (:mod:`linkedonnx.train.keras_adam`); ``lr_decay`` is its Keras
    ``decay`` (lr / (1 + decay * iterations); 'adam-keras' only). ``augment`` flips and
    shifts every training batch as the authors' ResNet runs did
    (:mod:`linkedonnx.train.augment`).
    ``from_checkpoint`` starts from a checkpoint's model and weights (linkified or not)
    instead of a freshly initialised ``model``: exactly one of the two is given.
    """

    model: str = ""
    data: str = "digits"
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.0
    nesterov: bool = False
    device: str = "auto"
    amp: bool = False
    compile: bool = False
    seed: int = 0
    init: str = "keras"
    out: str | os.PathLike[str] | None = None
    overwrite: bool = False
    resume: bool = False
    standardize: bool = False
    image_size: int | None = None
    max_steps: int | None = None
    max_seconds: float | None = None
    data_dir: str | os.PathLike[str] | None = None
    download: bool = False
    dead_samples: int | None = 2048
    checkpoint_every: int = 1
    progress: bool = False
    shuffle: bool = True
    train_subset: int | None = None
    keras_layers: bool = False
    lr_decay: float = 0.0
    augment: bool = False
    from_checkpoint: str | os.PathLike[str] | None = None

    def validate(self) -> TrainConfig:
        """Raise BadInputError (one line) for an invalid setting; return self."""
        checks = [
            (
                bool(self.model) != (self.from_checkpoint is not None),
                "give either --model or --from (a checkpoint), not both"
                if self.model
                else "give --model (a zoo name) or --from (a checkpoint)",
            ),
            (self.epochs >= 1, f"--epochs must be at least 1, got {self.epochs}"),
            (self.batch_size >= 1, f"--batch must be at least 1, got {self.batch_size}"),
            (self.lr > 0, f"--lr must be positive, got {self.lr}"),
            (
                self.optimizer in OPTIMIZERS,
                f"unknown optimizer {self.optimizer!r}; expected one of {', '.join(OPTIMIZERS)}",
            ),
            (
                self.device in DEVICES,
                f"unknown device {self.device!r}; expected one of {', '.join(DEVICES)}",
            ),
            (
                self.max_steps is None or self.max_steps >= 1,
                f"--max-steps must be at least 1, got {self.max_steps}",
            ),
            (
                self.max_seconds is None or self.max_seconds > 0,
                f"max seconds must be positive, got {self.max_seconds}",
            ),
            (
                self.dead_samples is None or self.dead_samples >= 0,
                f"--dead-samples must be >= 0, got {self.dead_samples}",
            ),
            (not (self.overwrite and self.resume), "--overwrite and --resume exclude each other"),
            (
                self.init in INITS,
                f"unknown init {self.init!r}; expected one of {', '.join(INITS)}",
            ),
            (self.checkpoint_every >= 1, "checkpoint_every must be at least 1"),
            (self.lr_decay >= 0, f"lr decay must be >= 0, got {self.lr_decay}"),
            (
                self.lr_decay == 0 or self.optimizer == "adam-keras",
                f"lr decay is Keras Adam's (optimizer adam-keras), not {self.optimizer}'s",
            ),
            (
                self.train_subset is None or self.train_subset >= 1,
                f"--samples must be at least 1, got {self.train_subset}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise BadInputError(message)
        return self

    @property
    def out_path(self) -> Path | None:
        """``out`` as a Path (None when the run writes nothing)."""
        return None if self.out is None else Path(self.out)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the settings."""
        data = asdict(self)
        for key in ("out", "data_dir", "from_checkpoint"):
            if data[key] is not None:
                data[key] = str(data[key])
        return data
