"""The embedded default dataset: scikit-learn's handwritten digits (no download).

1797 grayscale 8x8 images with values 0..16, 10 classes; split once with a fixed seed
(stratified, 20% test) and resized to the model's size when batches are prepared.
"""

from __future__ import annotations

import numpy as np
import torch

from linkedonnx.data.base import ImageData

#: Seed of the fixed train/test split (not the training seed).
SPLIT_SEED = 0
TEST_FRACTION = 0.2


def load_digits_data(image_size: int = 16) -> ImageData:
    """Return the digits as ImageData (raw scale 16 -> inputs in 0..1) at ``image_size``."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.uint8)[:, None, :, :]
    labels = np.asarray(bunch.target, dtype=np.int64)
    idx_train, idx_test = train_test_split(
        np.arange(len(labels)), test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=labels
    )
    return ImageData(
        name="digits",
        train_images=torch.from_numpy(images[idx_train]),
        train_labels=torch.from_numpy(labels[idx_train]),
        test_images=torch.from_numpy(images[idx_test]),
        test_labels=torch.from_numpy(labels[idx_test]),
        num_classes=10,
        scale=16.0,
        image_size=image_size,
    )
