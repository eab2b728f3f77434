"""Test helper: write tiny IDX files (plain or gzipped) and a Fashion-MNIST folder."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from linkedonnx.arrays.idx import FASHION_MNIST_FILES

_CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype(">i2"): 0x0B,
          np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}  # fmt: skip


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array`` (big-endian values)."""
    big = array.astype(array.dtype.newbyteorder(">")) if array.dtype.itemsize > 1 else array
    header = bytes([0, 0, _CODES[big.dtype], array.ndim])
    header += np.asarray(array.shape, dtype=">u4").tobytes()
    return header + big.tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file, gzipped when the name ends in .gz."""
    data = idx_bytes(array)
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as handle:
            handle.write(data)
    else:
        path.write_bytes(data)
    return path


def write_fashion(folder: Path, train: int = 12, test: int = 6, seed: int = 0) -> dict:
    """A tiny Fashion-MNIST folder (28x28 uint8, labels 0..9, gzipped); returns the arrays."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_images": rng.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        "train_labels": (np.arange(train) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        "test_labels": (np.arange(test) % 10).astype(np.uint8),
    }
    for key, stem in FASHION_MNIST_FILES.items():
        write_idx(folder / f"{stem}.gz", arrays[key])
    return arrays
