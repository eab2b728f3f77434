"""Labelled numpy batches for a model: a data set name or an ``.npz`` file, prepared with
the preprocessing the model records (``linkedonnx.preprocess``) or the options given
for models that record none (no torch).

An ``.npz`` holds the stored images under the model's input name (or as the only
array besides the labels) and ``labels`` (integer classes); the preprocessing is
applied to it as to a named data set (``scale 1`` without standardization feeds
already-prepared float inputs unchanged).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from linkedonnx.arrays.datasets import DEFAULT_IMAGE_SIZE, SPLITS, RawData, load_raw, names
from linkedonnx.arrays.npz import read_npz_arrays
from linkedonnx.arrays.preprocess import (
    Preprocess,
    apply,
    channel_stats,
    parse_floats,
    read_preprocess,
)
from linkedonnx.errors import BadInputError

LABELS = "labels"


@dataclass(frozen=True)
class PreprocessOptions:
    """Preprocessing given on the command line: each field None when not given.
    ``standardize`` True computes the statistics from a named data set's train split."""

    scale: float | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    standardize: bool | None = None
    image_size: int | None = None

    @classmethod
    def parse(
        cls,
        scale: float | None = None,
        mean: str | None = None,
        std: str | None = None,
        standardize: bool | None = None,
        image_size: int | None = None,
    ) -> PreprocessOptions:
        """Options from command-line text (``mean``/``std`` comma-separated, one value
        per channel). Raises BadInputError for non-numbers or a non-positive scale."""
        if scale is not None and not (np.isfinite(scale) and scale > 0):
            raise BadInputError(f"--scale must be a positive number, got {scale}")
        return cls(
            scale=scale,
            mean=None if mean is None else parse_floats(mean, "--mean"),
            std=None if std is None else parse_floats(std, "--std"),
            standardize=standardize,
            image_size=image_size,
        )


@dataclass
class Labelled:
    """Labelled samples of one split: ``stored`` images [N, C, H, W] as the data set
    keeps them, int64 ``labels`` [N], where they came from (``source``) and the
    ``preprocess`` that turns them into float32 model input, applied batch by batch
    (:meth:`batches`, :meth:`first`) or to the whole split (:attr:`images`)."""

    stored: np.ndarray
    labels: np.ndarray
    source: str
    preprocess: Preprocess

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def images(self) -> np.ndarray:
        """The whole split prepared (float32 [N, C, H', W'])."""
        return apply(self.stored, self.preprocess)

    def first(self, count: int) -> np.ndarray:
        """The first ``count`` prepared images, the split repeated when it holds fewer."""
        if count < 1:
            raise BadInputError(f"count must be at least 1, got {count}")
        reps = -(-count // len(self.stored))
        chosen = np.concatenate([self.stored] * reps) if reps > 1 else self.stored
        return apply(chosen[:count], self.preprocess)

    def batches(self, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Prepared (images, labels) batches of ``batch_size`` in order (the last may be
        smaller). Raises BadInputError for batch_size < 1."""
        if batch_size < 1:
            raise BadInputError(f"batch size must be at least 1, got {batch_size}")
        for start in range(0, len(self.labels), batch_size):
            stop = start + batch_size
            yield apply(self.stored[start:stop], self.preprocess), self.labels[start:stop]


def is_npz(data: str | os.PathLike[str]) -> bool:
    """True when ``data`` names an .npz file rather than a data set."""
    return os.fspath(data).lower().endswith(".npz")


def read_npz(path: str | os.PathLike[str], input_name: str | None = None) -> RawData:
    """Stored images and labels from an .npz: the array named ``input_name`` (or the
    only array besides ``labels``) and ``labels``; both as the test split (the train
    split is empty). Raises BadInputError for a missing or unreadable file, pickled
    arrays, missing or extra arrays, or labels that do not pair with the images."""
    p, arrays = read_npz_arrays(path, "data")
    if LABELS not in arrays:
        raise BadInputError(f"{p} has no '{LABELS}' array (arrays: {sorted(arrays)})")
    others = sorted(k for k in arrays if k != LABELS)
    wanted = input_name if input_name in arrays else (others[0] if len(others) == 1 else None)
    if wanted is None or len(others) != 1:
        expected = f"'{input_name}'" if input_name else "one image array"
        raise BadInputError(f"{p}: expected {expected} and '{LABELS}', found {others}")
    images, labels = arrays[wanted], arrays[LABELS]
    if images.ndim != 4:
        raise BadInputError(f"{p}: '{wanted}' has shape {list(images.shape)}; expected NCHW")
    if (
        labels.ndim != 1
        or len(labels) != len(images)
        or not np.issubdtype(labels.dtype, np.integer)
    ):
        raise BadInputError(
            f"{p}: '{LABELS}' must be {len(images)} integer classes, got "
            f"{labels.dtype}{list(labels.shape)}"
        )
    labels = labels.astype(np.int64)
    num_classes = int(labels.max()) + 1 if len(labels) else 0
    empty = images[:0]
    return RawData(str(p), empty, labels[:0], images, labels, num_classes, scale=1.0)


def resolve_preprocess(
    recorded: Preprocess | None,
    raw: RawData,
    options: PreprocessOptions = PreprocessOptions(),
    *,
    model_side: int | None = None,
    what: str = "the model",
) -> Preprocess:
    """The preprocessing to feed ``raw`` to a model: the ``recorded`` one with any
    ``options`` laid over it, or, when nothing is recorded, one built from the options
    (a named data set gives its value scale and, with ``standardize``, its train
    statistics). The image side is the recorded one, else ``model_side``, else the data
    set's default. Raises BadInputError naming the options that are missing."""
    named = raw.name in DEFAULT_IMAGE_SIZE
    if recorded is None:
        missing = []
        if options.scale is None and not named:
            missing.append("--scale")
        if options.mean is None and options.standardize is None:
            missing.append("--mean and --std, or --no-standardize" if not named else
                           "--standardize or --no-standardize (or --mean and --std)")  # fmt: skip
        if missing:
            raise BadInputError(
                f"{what} records no preprocessing (linkedonnx.preprocess); "
                f"give {' and '.join(missing)}"
            )
        side = model_side if model_side is not None else DEFAULT_IMAGE_SIZE.get(raw.name)
        base = Preprocess(raw.name if named else None, raw.scale, None, None, side, None)
    else:
        base = recorded
    if options.scale is not None:
        base = replace(base, scale=options.scale)
    if options.image_size is not None:
        base = replace(base, image_size=options.image_size)
    if (options.mean is None) != (options.std is None):
        raise BadInputError("--mean and --std go together (one value per channel each)")
    if options.mean is not None:
        if options.standardize is False:
            raise BadInputError("--mean/--std and --no-standardize contradict each other")
        base = replace(base, mean=options.mean, std=options.std)
    elif options.standardize is False:
        base = replace(base, mean=None, std=None)
    elif options.standardize and (recorded is None or not recorded.standardized):
        if not len(raw.train_images):
            raise BadInputError(
                "--standardize needs a named data set (its train split gives the "
                "statistics); give --mean and --std"
            )
        mean, std = channel_stats(raw.train_images, base.scale)
        base = replace(base, mean=mean, std=std)
    return replace(base, channels=base.channels if base.channels else raw.channels)


def _split_arrays(raw: RawData, split: str, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    if split not in SPLITS:
        raise BadInputError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    images, labels = raw.split(split)
    if not len(labels):
        raise BadInputError(f"{raw.name} has no {split} split")
    if limit is not None:
        if limit < 1:
            raise BadInputError(f"limit must be at least 1, got {limit}")
        images, labels = images[:limit], labels[:limit]
    return images, labels


def load_data(
    data: str | os.PathLike[str],
    data_dir: str | os.PathLike[str] | None = None,
    input_name: str | None = None,
    image_size: int | None = None,
    in_channels: int | None = None,
) -> RawData:
    """A data set name (see :func:`linkedonnx.arrays.datasets.names`) or an .npz path
    as stored arrays (``image_size`` and ``in_channels`` only shape the synthetic set). Raises
    BadInputError for an unknown name or an unreadable file."""
    text = os.fspath(data)
    if is_npz(text):
        return read_npz(text, input_name)
    if text not in DEFAULT_IMAGE_SIZE:
        raise BadInputError(
            f"unknown dataset {text!r}; expected one of {', '.join(names())} or an .npz file"
        )
    return load_raw(text, data_dir, image_size=image_size, in_channels=in_channels)


def labelled(
    raw: RawData, preprocess: Preprocess, split: str = "test", limit: int | None = None
) -> Labelled:
    """The first ``limit`` (None: all) samples of ``split``, to be prepared with
    ``preprocess``. Raises BadInputError for an unknown or empty split or images that
    do not fit the preprocessing."""
    images, labels = _split_arrays(raw, split, limit)
    apply(images[:1], preprocess)  # channels and shape checked now, not at the first batch
    source = raw.name if raw.name in DEFAULT_IMAGE_SIZE else Path(raw.name).name
    return Labelled(images, labels, f"{source} {split}", preprocess)


def _image_input(model: Any) -> tuple[str, int | None, int | None]:
    """(name, fixed side or None, fixed channels or None) of the model's only input,
    which must be NCHW."""
    from linkedonnx.runtime.inputs import data_inputs

    inputs = data_inputs(model)
    if len(inputs) != 1 or len(inputs[0].dims) != 4:
        described = ", ".join(s.describe() for s in inputs)
        raise BadInputError(f"labelled data feeds one NCHW image input; the model has {described}")
    dims = inputs[0].dims
    side = dims[3] if isinstance(dims[3], int) and dims[2] == dims[3] else None
    channels = dims[1] if isinstance(dims[1], int) else None
    return inputs[0].name, side, channels


def model_data(
    model: Any,
    data: str | os.PathLike[str] | None = None,
    *,
    split: str = "test",
    options: PreprocessOptions | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    what: str = "the model",
) -> tuple[str, Labelled]:
    """Labelled batches for an ONNX ModelProto: ``data`` (None: the data set its
    preprocessing records) prepared as the model records, or as ``options`` say (None:
    no options given).
    Returns (input name, Labelled). Raises BadInputError when no data set is given or
    recorded, the preprocessing is missing, or the data does not fit the model."""
    recorded = read_preprocess(model)
    if data is None:
        if recorded is None or recorded.dataset is None:
            raise BadInputError(f"{what} records no data set; give --data NAME or a .npz file")
        data = recorded.dataset
    name, side, channels = _image_input(model)
    raw = load_data(
        data, data_dir, name, recorded.image_size if recorded else side, in_channels=channels
    )
    preprocess = resolve_preprocess(
        recorded, raw, options or PreprocessOptions(), model_side=side, what=what
    )
    return name, labelled(raw, preprocess, split, limit)
