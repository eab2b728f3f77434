"""Data sets by name as numpy arrays in their stored form (no torch): 'digits' (embedded,
through scikit-learn), 'fashion-mnist' (IDX files), 'cifar10' (batch files) and
'synthetic' (seeded, for tests). The torch side (:mod:`linkedonnx.data`) wraps the same
arrays; both prepare them with :func:`linkedonnx.arrays.preprocess.apply`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from linkedonnx.arrays.preprocess import Preprocess, channel_stats
from linkedonnx.errors import BadInputError

#: Data set name -> default image side the models see.
DEFAULT_IMAGE_SIZE = {"digits": 16, "cifar10": 32, "fashion-mnist": 28, "synthetic": 8}
#: The data sets that read a folder (``data_dir``); the others refuse one.
READS_FOLDER = ("cifar10", "fashion-mnist")
#: Split names.
SPLITS = ("train", "test")
#: Seed of the digits' fixed train/test split (not a training seed) and its test share.
DIGITS_SPLIT_SEED = 0
DIGITS_TEST_FRACTION = 0.2


@dataclass
class RawData:
    """Train and test splits as stored (NCHW images in their stored dtype, int64 labels),
    the class count and the value ``scale`` that maps stored values to 0..1."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    num_classes: int
    scale: float

    @property
    def channels(self) -> int:
        """Number of image channels."""
        return int(self.train_images.shape[1])

    def split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """(images, labels) of split 'train' or 'test'. Raises BadInputError otherwise."""
        if split == "train":
            return self.train_images, self.train_labels
        if split == "test":
            return self.test_images, self.test_labels
        raise BadInputError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")


def names() -> list[str]:
    """The data set names :func:`load_raw` accepts."""
    return sorted(DEFAULT_IMAGE_SIZE)


def digits_arrays() -> RawData:
    """scikit-learn's 1797 handwritten digits (8x8, values 0..16, scale 16), split once
    (stratified, 20% test, seed :data:`DIGITS_SPLIT_SEED`)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.uint8)[:, None, :, :]
    labels = np.asarray(bunch.target, dtype=np.int64)
    idx_train, idx_test = train_test_split(
        np.arange(len(labels)),
        test_size=DIGITS_TEST_FRACTION,
        random_state=DIGITS_SPLIT_SEED,
        stratify=labels,
    )
    return RawData(
        "digits", images[idx_train], labels[idx_train], images[idx_test], labels[idx_test],
        num_classes=10, scale=16.0,
    )  # fmt: skip


def synthetic_arrays(
    image_size: int = 8,
    in_channels: int = 1,
    num_classes: int = 4,
    train_size: int = 128,
    test_size: int = 64,
    seed: int = 0,
) -> RawData:
    """Learnable random uint8 images (one random prototype per class plus noise), the
    same for a seed."""
    rng = np.random.default_rng(seed)
    shape = (in_channels, image_size, image_size)
    prototypes = rng.random((num_classes, *shape)) * 200.0

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, num_classes, n).astype(np.int64)
        noise = rng.standard_normal((n, *shape)) * 30.0
        images = np.clip(prototypes[labels] + noise + 28.0, 0, 255).round().astype(np.uint8)
        return images, labels

    train_x, train_y = make(train_size)
    test_x, test_y = make(test_size)
    return RawData("synthetic", train_x, train_y, test_x, test_y, num_classes, 255.0)


def load_raw(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    image_size: int | None = None,
    in_channels: int | None = None,
) -> RawData:
    """Data set ``name`` as stored. ``data_dir``: the folder of cifar10 (required) or
    fashion-mnist (default: where its Debian package puts it); ``image_size`` and
    ``in_channels`` only shape the synthetic images (default 8 and 1). Raises
    BadInputError for an unknown name, missing data, or a ``data_dir`` for a data set
    that reads none."""
    if name not in DEFAULT_IMAGE_SIZE:
        raise BadInputError(f"unknown dataset {name!r}; expected one of {', '.join(names())}")
    if data_dir is not None and name not in READS_FOLDER:
        raise BadInputError(
            f"--data-dir is read by {' and '.join(READS_FOLDER)} only; {name} reads no folder"
        )
    if name == "digits":
        return digits_arrays()
    if name == "synthetic":
        return synthetic_arrays(
            image_size=image_size or DEFAULT_IMAGE_SIZE[name], in_channels=in_channels or 1
        )
    if name == "fashion-mnist":
        from linkedonnx.arrays.idx import load_fashion_mnist

        return RawData(name, *load_fashion_mnist(data_dir), num_classes=10, scale=255.0)
    if data_dir is None:
        raise BadInputError("cifar10 needs a data folder (--data-dir DIR)")
    from linkedonnx.arrays.cifar import load_cifar10_arrays

    return RawData(name, *load_cifar10_arrays(data_dir), num_classes=10, scale=255.0)


def preprocess_for(
    raw: RawData, image_size: int | None = None, standardize: bool = False
) -> Preprocess:
    """The preprocessing a model trained on ``raw`` uses: its value scale, the train
    split's channel statistics when ``standardize``, ``image_size`` (None: the data
    set's default)."""
    mean, std = channel_stats(raw.train_images, raw.scale) if standardize else (None, None)
    size = DEFAULT_IMAGE_SIZE.get(raw.name) if image_size is None else int(image_size)
    return Preprocess(raw.name, raw.scale, mean, std, size, raw.channels)
