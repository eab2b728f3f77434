"""Torch-free data: data sets as numpy arrays and the preprocessing that turns stored
images into model input, recorded in ONNX models as ``linkedonnx.preprocess``.

- :mod:`~linkedonnx.arrays.preprocess`: :class:`Preprocess` (data set, value scale,
  per-channel mean/std when standardized, image size, channels; JSON), the one
  :func:`apply` both worlds use, :func:`read_preprocess` / :func:`write_preprocess`;
- :mod:`~linkedonnx.arrays.datasets`: every data set name as stored arrays
  (:func:`load_raw`), :func:`preprocess_for` a data set;
- :mod:`~linkedonnx.arrays.labelled`: a name or an ``.npz`` as prepared labelled batches
  for a model (:func:`model_data`), options for models that record no preprocessing;
- raw readers: :mod:`~linkedonnx.arrays.idx` (IDX, Fashion-MNIST),
  :mod:`~linkedonnx.arrays.cifar` (CIFAR-10 batches); digits come through scikit-learn.
"""

from linkedonnx.arrays.datasets import (
    DEFAULT_IMAGE_SIZE,
    SPLITS,
    RawData,
    load_raw,
    names,
    preprocess_for,
)
from linkedonnx.arrays.labelled import (
    Labelled,
    PreprocessOptions,
    labelled,
    load_data,
    model_data,
    resolve_preprocess,
)
from linkedonnx.arrays.preprocess import (
    METADATA_KEY,
    Preprocess,
    apply,
    read_preprocess,
    resize_bilinear,
    write_preprocess,
)

__all__ = [
    "DEFAULT_IMAGE_SIZE",
    "METADATA_KEY",
    "SPLITS",
    "Labelled",
    "Preprocess",
    "PreprocessOptions",
    "RawData",
    "apply",
    "labelled",
    "load_data",
    "load_raw",
    "model_data",
    "names",
    "preprocess_for",
    "read_preprocess",
    "resize_bilinear",
    "resolve_preprocess",
    "write_preprocess",
]
