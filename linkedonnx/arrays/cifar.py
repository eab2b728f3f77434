"""CIFAR-10 batch files (``cifar-10-batches-py``) read with numpy only.

The batches are Python pickles; they are read with an unpickler that only resolves the
few numpy names an array needs, so a tampered file cannot run code.
"""

from __future__ import annotations

import codecs
import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from linkedonnx.errors import BadInputError

FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILES = ("test_batch",)

_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]
_SAFE_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,  # how Python 3 pickles bytes at protocol 2
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that resolves only numpy's array-reconstruction names."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _SAFE_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"forbidden global {module}.{name}") from None


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 batch file: (uint8 images [N, 3, 32, 32], int64 labels [N]).

    Raises BadInputError when the file is not a valid batch.
    """
    try:
        with open(path, "rb") as handle:
            entry = _NumpyOnlyUnpickler(io.BytesIO(handle.read()), encoding="latin1").load()
        data = np.asarray(entry["data"], dtype=np.uint8)
        labels = np.asarray(entry.get("labels", entry.get("fine_labels")), dtype=np.int64)
        images = data.reshape(-1, 3, 32, 32)
    except Exception as exc:  # any malformed content: one line for the user
        raise BadInputError(f"{path} is not a CIFAR-10 batch file ({type(exc).__name__})") from None
    if len(images) != len(labels):
        raise BadInputError(f"{path}: {len(images)} images but {len(labels)} labels")
    return images, labels


def find_folder(root: str | os.PathLike[str]) -> Path:
    """Return the ``cifar-10-batches-py`` folder: ``root`` itself or its child of that name.

    Raises BadInputError when neither holds the batch files.
    """
    root = Path(root)
    for candidate in (root, root / FOLDER):
        if all((candidate / f).is_file() for f in TRAIN_FILES + TEST_FILES):
            return candidate
    raise BadInputError(
        f"no CIFAR-10 data in {root}: expected {FOLDER}/ with "
        f"{', '.join(TRAIN_FILES + TEST_FILES)} (pass --download to fetch it with torchvision)"
    )


def load_cifar10_arrays(
    root: str | os.PathLike[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CIFAR-10 from ``root`` (the batches folder or its parent): (train images uint8
    [50000, 3, 32, 32], train labels int64, test images, test labels).
    Raises BadInputError when the folder lacks the batch files or one is malformed."""
    folder = find_folder(root)
    train = [read_batch(folder / f) for f in TRAIN_FILES]
    test = [read_batch(folder / f) for f in TEST_FILES]
    return (
        np.concatenate([x for x, _ in train]),
        np.concatenate([y for _, y in train]),
        np.concatenate([x for x, _ in test]),
        np.concatenate([y for _, y in test]),
    )
