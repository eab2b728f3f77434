"""A fixed stratified subset of a training split: the same images whatever the run's
seed, every class in proportion to its share of the split."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from linkedonnx.data.base import ImageData
from linkedonnx.errors import BadInputError

#: Seed of the subset's draw (fixed: every run of an experiment sees the same images).
SUBSET_SEED = 0


def stratified_indices(labels: np.ndarray, count: int, seed: int = SUBSET_SEED) -> np.ndarray:
    """``count`` indices into ``labels``, sorted (the split's own order is kept), drawn per
    class without replacement; class c gets round(count * n_c / n) by largest remainder,
    so the class shares match the split's to within one image. Raises BadInputError when
    ``count`` is not between 1 and len(labels)."""
    labels = np.asarray(labels)
    n = len(labels)
    if not 1 <= count <= n:
        raise BadInputError(f"--samples must be between 1 and {n}, got {count}")
    classes, sizes = np.unique(labels, return_counts=True)
    exact = sizes * count / n
    take = np.floor(exact).astype(int)
    order = np.argsort(-(exact - take), kind="stable")
    take[order[: count - int(take.sum())]] += 1
    rng = np.random.default_rng(seed)
    chosen = [
        rng.choice(np.flatnonzero(labels == c), size=k, replace=False)
        for c, k in zip(classes, take, strict=True)
    ]
    return np.sort(np.concatenate(chosen))


def stratified_subset(data: ImageData, count: int, seed: int = SUBSET_SEED) -> ImageData:
    """``data`` with its train split cut to :func:`stratified_indices` (the test split
    whole). Raises BadInputError for a ``count`` out of range."""
    import torch

    index = torch.from_numpy(stratified_indices(data.train_labels.numpy(), count, seed))
    return replace(
        data, train_images=data.train_images[index], train_labels=data.train_labels[index]
    )
