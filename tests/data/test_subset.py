"""The fixed stratified training subset."""

from __future__ import annotations

import numpy as np
import pytest

from linkedonnx.data import load
from linkedonnx.data.subset import stratified_indices, stratified_subset
from linkedonnx.errors import BadInputError


def test_class_shares_follow_the_split_within_one_image() -> None:
    labels = np.repeat(np.arange(3), [50, 30, 20])
    picked = stratified_indices(labels, 10)
    assert len(picked) == 10 and len(set(picked.tolist())) == 10
    assert np.bincount(labels[picked], minlength=3).tolist() == [5, 3, 2]
    assert np.all(np.diff(picked) > 0)  # the split's own order is kept
    uneven = stratified_indices(labels, 7)
    counts = np.bincount(labels[uneven], minlength=3)
    assert counts.sum() == 7 and np.all(np.abs(counts - 7 * np.array([0.5, 0.3, 0.2])) < 1)


def test_the_subset_is_fixed() -> None:
    labels = np.random.default_rng(1).integers(0, 10, 500)
    assert np.array_equal(stratified_indices(labels, 100), stratified_indices(labels, 100))
    assert not np.array_equal(stratified_indices(labels, 100), stratified_indices(labels, 100, 1))


@pytest.mark.parametrize("count", [0, 101])
def test_bad_sizes(count: int) -> None:
    with pytest.raises(BadInputError, match="--samples"):
        stratified_indices(np.zeros(100, dtype=int), count)


def test_subset_of_a_dataset_keeps_the_test_split() -> None:
    data = load("digits", image_size=8)
    small = stratified_subset(data, 100)
    assert len(small.train_labels) == 100 and small.test_labels is data.test_labels
    assert sorted(set(small.train_labels.tolist())) == list(range(10))
