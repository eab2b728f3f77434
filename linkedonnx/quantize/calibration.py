"""Calibration batches for static quantization (no torch here).

The quantizer takes any iterable of batches, each a dict input name -> float32 array
(:data:`Batches`); :class:`BatchReader` hands them to ONNX Runtime's calibrator,
checking every batch against the model's inputs and counting samples.
:func:`calibration_batches` makes such batches from a data set name or an ``.npz``.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader

from linkedonnx.errors import BadInputError
from linkedonnx.onnx_io import check_readable_file
from linkedonnx.runtime.inputs import InputSignature, check_feeds, signature

Batches = Iterable[Mapping[str, np.ndarray]]
ProgressFn = Callable[[int], None]

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
    ``samples`` counts what was read, ``progress(samples)`` is told after each batch."""

    def __init__(
        self,
        batches: Batches,
        inputs: list[InputSignature],
        progress: ProgressFn | None = None,
    ) -> None:
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
            self._progress(self.samples)
        return feeds


def _split(arrays: Mapping[str, np.ndarray], samples: int | None, batch_size: int) -> list[dict]:
    count = min(len(a) for a in arrays.values())
    if samples is not None:
        count = min(count, samples)
    return [
        {name: a[start : start + batch_size] for name, a in arrays.items()}
        for start in range(0, count, batch_size)
    ]


def npz_batches(
    path: str | os.PathLike[str],
    inputs: list[InputSignature],
    samples: int | None = None,
    batch_size: int = BATCH_SIZE,
) -> list[dict[str, np.ndarray]]:
    """Batches from an ``.npz`` holding one array per model input (by name, or one
    ``arr_0`` for a one-input model; an array ``labels`` is allowed and ignored).
    Raises BadInputError for a missing or unreadable file, wrong names, dtypes or
    shapes, or no sample."""
    p = check_readable_file(path, "calibration data")
    try:
        with np.load(p, allow_pickle=False) as data:
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise BadInputError(f"{p} is a single .npy array; expected a .npz archive")
            arrays = {k: data[k] for k in data.files if k != "labels"}
    except BadInputError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise BadInputError(f"{p} is not a readable .npz file ({type(exc).__name__})") from None
    if len(inputs) == 1 and list(arrays) == ["arr_0"]:
        arrays = {inputs[0].name: arrays["arr_0"]}
    check_feeds(arrays, inputs, str(p))
    batches = _split(arrays, samples, batch_size)
    if not batches:
        raise BadInputError(f"{p} holds no sample")
    return batches
