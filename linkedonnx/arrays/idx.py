"""IDX files (the MNIST / Fashion-MNIST format), plain or gzipped, read with numpy only,
and the Fashion-MNIST folder as the Debian package ``dataset-fashion-mnist`` installs it.

An IDX file is two zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, one big-endian
uint32 per dimension, then the values big-endian in C order.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from linkedonnx.errors import BadInputError

#: Where ``apt-get install dataset-fashion-mnist`` puts the four gzipped IDX files.
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_PACKAGE = "dataset-fashion-mnist"
FASHION_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (gzipped when its name ends in .gz) into a native-endian array.

    Raises BadInputError for a missing, truncated or malformed file.
    """
    p = Path(path)
    try:
        if p.suffix == ".gz":
            with gzip.open(p, "rb") as handle:
                raw = handle.read()
        else:
            raw = p.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise BadInputError(f"cannot read IDX file {p} ({type(exc).__name__})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES:
        raise BadInputError(f"{p} is not an IDX file (bad magic number)")
    dtype, ndim = _TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise BadInputError(f"{p}: truncated IDX header")
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != count * dtype.itemsize:
        raise BadInputError(
            f"{p}: IDX header says {list(shape)} ({count * dtype.itemsize} bytes of data) "
            f"but the file holds {len(raw) - header}"
        )
    values = np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def load_fashion_mnist(
    folder: str | os.PathLike[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fashion-MNIST from ``folder`` (default :data:`FASHION_MNIST_DIR`): (train images
    uint8 [60000, 1, 28, 28], train labels int64, test images, test labels), each file
    gzipped or not. Raises BadInputError naming the Debian package when the default
    folder lacks the files, or naming the missing files for a given folder."""
    root = FASHION_MNIST_DIR if folder is None else Path(folder)
    found = {key: _find(root, stem) for key, stem in FASHION_MNIST_FILES.items()}
    missing = [FASHION_MNIST_FILES[k] + ".gz" for k, v in found.items() if v is None]
    if missing:
        if folder is None:
            raise BadInputError(
                f"fashion-mnist needs the Debian package {FASHION_MNIST_PACKAGE} "
                f"(apt-get install {FASHION_MNIST_PACKAGE}) or --data-dir DIR with its IDX files"
            )
        raise BadInputError(f"no Fashion-MNIST in {root}: missing {', '.join(missing)}")
    arrays = {key: read_idx(path) for key, path in found.items() if path is not None}
    result = []
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise BadInputError(
                f"{root}: {split} images {list(images.shape)} and labels "
                f"{list(labels.shape)} do not pair up"
            )
        result += [images[:, None, :, :].astype(np.uint8), labels.astype(np.int64)]
    return result[0], result[1], result[2], result[3]
