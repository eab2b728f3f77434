"""Calibration batches for static quantization (no torch here).

The quantizer takes any iterable of batches, each a dict input name -> float32 array
(:data:`Batches`); :class:`BatchReader` hands them to ONNX Runtime's calibrator,
checking every batch against the model's inputs and counting samples.
:func:`calibration_batches` makes such batches from a data set name or an ``.npz``
through the torch-free data module (:mod:`linkedonnx.arrays`) with the model's
recorded preprocessing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader

from linkedonnx.arrays.labelled import PreprocessOptions
from linkedonnx.errors import BadInputError
from linkedonnx.runtime.inputs import InputSignature, check_feeds, signature

Batches = Iterable[Mapping[str, np.ndarray]]
#: Told (samples read, samples in all) after each calibration batch.
ProgressFn = Callable[[int, int], None]

#: Samples per calibration batch made by :func:`calibration_batches`.
BATCH_SIZE = 32


def float_inputs(model: onnx.ModelProto) -> list[InputSignature]:
    """The model's inputs, checked for calibration: at least one, all float32.
    Raises BadInputError otherwise."""
    inputs = signature(model)
    if not inputs or not any(sig.dtype == np.float32 for sig in inputs):
        raise BadInputError("the model has no float32 input; there is nothing to calibrate")
    other = [sig.describe() for sig in inputs if sig.dtype != np.float32]
    if other:
        raise BadInputError(f"calibration feeds float32 inputs only; the model also has {other}")
    return inputs


class BatchReader(CalibrationDataReader):
    """ONNX Runtime's CalibrationDataReader over ``batches``: each batch is checked
    against ``inputs`` (names, dtypes, ranks, fixed sizes; BadInputError otherwise),
    ``samples`` counts what was read, ``progress(samples, total)`` is told after each
    batch (``total``: the samples of all batches when ``batches`` is a sequence, else 0)."""

    def __init__(
        self,
        batches: Batches,
        inputs: list[InputSignature],
        progress: ProgressFn | None = None,
    ) -> None:
        self.total = (
            sum(len(next(iter(b.values()), ())) for b in batches)
            if isinstance(batches, Sequence)
            else 0
        )
        self._batches: Iterator[Mapping[str, np.ndarray]] = iter(batches)
        self._inputs = inputs
        self._progress = progress
        self.batches = 0
        self.samples = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        """The next batch (checked), or None at the end."""
        batch = next(self._batches, None)
        if batch is None:
            return None
        feeds = {name: np.asarray(array) for name, array in batch.items()}
        check_feeds(feeds, self._inputs, f"calibration batch {self.batches}")
        first = next(iter(feeds.values()))
        if first.ndim == 0 or first.shape[0] == 0:
            raise BadInputError(f"calibration batch {self.batches} holds no sample")
        self.batches += 1
        self.samples += int(first.shape[0])
        if self._progress is not None:
            self._progress(self.samples, self.total)
        return feeds


def calibration_batches(
    model: onnx.ModelProto,
    data: str | os.PathLike[str],
    *,
    samples: int | None = None,
    batch_size: int = BATCH_SIZE,
    options: PreprocessOptions | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> tuple[list[dict[str, np.ndarray]], str]:
    """Calibration batches for ``model`` from a data set name (its train split) or an
    ``.npz`` (stored images under the input name, and ``labels``), prepared with the
    preprocessing the model records (or ``options`` for a model that records none),
    the first ``samples`` (None: all), in batches of ``batch_size`` (of the model's batch
    size when its input fixes one). Returns (batches, source description). Raises
    BadInputError for an unknown data set, a bad or empty file, images of a
    non-numeric dtype, or missing preprocessing."""
    from linkedonnx.arrays.labelled import is_npz, model_data

    if samples is not None and samples < 1:
        raise BadInputError(f"samples must be at least 1, got {samples}")
    if batch_size < 1:
        raise BadInputError(f"batch size must be at least 1, got {batch_size}")
    split = "test" if is_npz(data) else "train"
    try:
        name, prepared = model_data(
            model,
            data,
            split=split,
            options=options,
            data_dir=data_dir,
            limit=samples,
        )
        fixed = next((s.dims[0] for s in signature(model) if s.name == name and s.dims), None)
        if isinstance(fixed, int) and fixed > 0:  # a fixed batch dim: batches of exactly that
            batch_size = fixed
        batches = [
            {name: images}
            for images, _ in prepared.batches(batch_size)
            if not isinstance(fixed, int) or len(images) == fixed
        ]
    except BadInputError:  # a ValueError too: keep its own message
        raise
    except (TypeError, ValueError) as exc:  # images numpy cannot turn into float32
        raise BadInputError(f"{data}: the images are not numeric ({exc})") from None
    if not batches:
        raise BadInputError(f"the calibration data {data} holds no sample")
    return batches, prepared.source
