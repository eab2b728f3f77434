"""CIFAR-10 from a local folder in the standard ``cifar-10-batches-py`` layout.

torchvision's ``CIFAR10`` is used when torchvision imports (and may download, when the
caller allows it); otherwise this module reads the same files itself. The batches are
Python pickles; they are read with an unpickler that only resolves the few numpy
names an array needs (:mod:`linkedonnx.arrays.cifar`), so a tampered file cannot run code.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from linkedonnx.arrays.cifar import FOLDER, TEST_FILES, TRAIN_FILES, load_cifar10_arrays
from linkedonnx.arrays.datasets import RawData
from linkedonnx.data.base import ImageData
from linkedonnx.errors import BadInputError, MissingDependencyError, first_line

__all__ = ["FOLDER", "TEST_FILES", "TRAIN_FILES", "load_cifar10_data"]


def _torchvision_cifar(root: Path, download: bool) -> tuple[np.ndarray, ...] | None:
    """Load through torchvision when it imports; None when it is unusable here."""
    try:
        from torchvision.datasets import CIFAR10
    except Exception:  # absent, or broken beside this torch build
        return None
    if root.name == FOLDER:
        root = root.parent
    try:
        train = CIFAR10(str(root), train=True, download=download)
        test = CIFAR10(str(root), train=False, download=download)
    except RuntimeError as exc:
        raise BadInputError(f"CIFAR-10 in {root}: {first_line(exc)}") from None
    return (
        np.ascontiguousarray(train.data.transpose(0, 3, 1, 2)),
        np.asarray(train.targets, dtype=np.int64),
        np.ascontiguousarray(test.data.transpose(0, 3, 1, 2)),
        np.asarray(test.targets, dtype=np.int64),
    )


def load_cifar10_data(
    root: str | os.PathLike[str] | None,
    image_size: int = 32,
    download: bool = False,
    use_torchvision: bool = True,
) -> ImageData:
    """Load CIFAR-10 from ``root`` (the batches folder or its parent).

    Raises BadInputError when no folder is given or it lacks the data, and
    MissingDependencyError when ``download`` is asked for without torchvision.
    """
    if root is None:
        raise BadInputError("cifar10 needs a data folder (--data-dir DIR)")
    root = Path(root)
    arrays = _torchvision_cifar(root, download) if use_torchvision else None
    if arrays is None:
        if download and not (root / FOLDER).is_dir() and not (root / TRAIN_FILES[0]).is_file():
            raise MissingDependencyError(
                "downloading CIFAR-10 needs a working torchvision; "
                f"or place {FOLDER}/ in {root} yourself"
            )
        arrays = load_cifar10_arrays(root)
    return ImageData.from_raw(RawData("cifar10", *arrays, num_classes=10, scale=255.0), image_size)
