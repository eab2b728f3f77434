"""Datasets by name: 'digits' (embedded default), 'fashion-mnist' (the Debian package's
IDX files or a folder), 'cifar10' (local folder), 'synthetic'.

``load(name, ...)`` returns an :class:`ImageData` whose ``prepare`` turns stored images
into model input: raw (divided by the value scale, as in the paper) or standardized
(per-channel mean/std of the train split). The arrays and the preparation come from
the torch-free :mod:`linkedonnx.arrays`, which the ONNX side uses too.
"""

from __future__ import annotations

import os

from linkedonnx.arrays.datasets import DEFAULT_IMAGE_SIZE, load_raw
from linkedonnx.data.base import ImageData
from linkedonnx.errors import BadInputError


def names() -> list[str]:
    """Return the dataset names :func:`load` accepts."""
    return sorted(DEFAULT_IMAGE_SIZE)


def load(
    name: str,
    *,
    image_size: int | None = None,
    standardize: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = False,
    in_channels: int | None = None,
) -> ImageData:
    """Load dataset ``name`` at ``image_size`` (None: the dataset's default);
    ``in_channels`` sets the synthetic images' channels (default 1; others have theirs).

    Raises BadInputError for an unknown name, a bad size, a missing data folder, or a
    ``data_dir`` given for a dataset that reads none (only fashion-mnist and cifar10 do).
    """
    if name not in DEFAULT_IMAGE_SIZE:
        raise BadInputError(f"unknown dataset {name!r}; expected one of {', '.join(names())}")
    size = DEFAULT_IMAGE_SIZE[name] if image_size is None else int(image_size)
    if size < 1:
        raise BadInputError(f"image size must be positive, got {size}")
    if name == "cifar10":
        from linkedonnx.data.cifar import load_cifar10_data

        data = load_cifar10_data(data_dir, size, download=download)
    else:
        data = ImageData.from_raw(
            load_raw(name, data_dir, image_size=size, in_channels=in_channels), size
        )
    return data.standardize() if standardize else data


__all__ = ["DEFAULT_IMAGE_SIZE", "ImageData", "load", "names"]
