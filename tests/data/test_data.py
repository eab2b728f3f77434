"""Tests for linkedonnx.data: digits, synthetic, CIFAR-10 reader, preparation."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from linkedonnx import data
from linkedonnx.data import cifar
from linkedonnx.errors import BadInputError, MissingDependencyError


def test_digits_split_is_fixed_and_complete() -> None:
    a = data.load("digits")
    b = data.load("digits")
    assert len(a.train_labels) + len(a.test_labels) == 1797
    assert torch.equal(a.train_images, b.train_images)
    assert torch.equal(a.test_labels, b.test_labels)
    assert set(a.test_labels.tolist()) == set(range(10))
    assert a.in_channels == 1


def test_digits_prepare_raw_scales_to_unit_range_and_resizes() -> None:
    d = data.load("digits", image_size=32)
    x = d.prepare(d.train_images[:20])
    assert x.shape == (20, 1, 32, 32)
    assert x.dtype == torch.float32
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert float(x.max()) > 0.9  # raw: only divided by 16


def test_standardize_uses_train_statistics() -> None:
    d = data.load("digits", image_size=8, standardize=True)
    x = d.prepare(d.train_images)
    assert abs(float(x.mean())) < 1e-4
    assert abs(float(x.std()) - 1.0) < 1e-3
    t = d.prepare(d.test_images)
    assert abs(float(t.mean())) < 0.2  # test split: same statistics, not its own


def test_synthetic_is_seeded() -> None:
    a = data.load("synthetic")
    b = data.load("synthetic")
    assert torch.equal(a.train_images, b.train_images)
    assert a.train_images.dtype == torch.uint8


@pytest.mark.parametrize("name", ["mnist", "", "Digits"])
def test_unknown_dataset_is_bad_input(name: str) -> None:
    with pytest.raises(BadInputError, match="unknown dataset"):
        data.load(name)


def _write_batch(path: Path, n: int, offset: int) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(offset)
    images = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = [(i + offset) % 10 for i in range(n)]
    entry = {"batch_label": "synthetic", "data": images, "labels": labels, "filenames": []}
    with open(path, "wb") as handle:
        pickle.dump(entry, handle, protocol=2)
    return images, labels


def _write_cifar(root: Path) -> tuple[np.ndarray, np.ndarray]:
    folder = root / cifar.FOLDER
    folder.mkdir(parents=True)
    train = [_write_batch(folder / f, 3, i) for i, f in enumerate(cifar.TRAIN_FILES)]
    test_images, test_labels = _write_batch(folder / "test_batch", 4, 99)
    assert train
    return test_images, np.asarray(test_labels)


def test_cifar_reader_reads_standard_layout(tmp_path: Path) -> None:
    test_images, test_labels = _write_cifar(tmp_path)
    for root in (tmp_path, tmp_path / cifar.FOLDER):
        d = cifar.load_cifar10_data(root, use_torchvision=False)
        assert d.train_images.shape == (15, 3, 32, 32)
        assert d.test_images.shape == (4, 3, 32, 32)
        assert np.array_equal(d.test_images.numpy().reshape(4, -1), test_images)
        assert np.array_equal(d.test_labels.numpy(), test_labels)
        assert d.prepare(d.test_images).max() <= 1.0


def test_cifar_reader_refuses_code_in_pickles(tmp_path: Path) -> None:
    _write_cifar(tmp_path)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(tmp_path / cifar.FOLDER / "test_batch", "wb") as handle:
        pickle.dump({"data": Evil(), "labels": []}, handle, protocol=2)
    with pytest.raises(BadInputError, match="not a CIFAR-10 batch"):
        cifar.load_cifar10_data(tmp_path, use_torchvision=False)


def test_cifar_missing_folder_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no CIFAR-10 data"):
        data.load("cifar10", data_dir=tmp_path / "nowhere")
    with pytest.raises(BadInputError, match="needs a data folder"):
        data.load("cifar10")


def test_cifar_download_without_torchvision(tmp_path: Path) -> None:
    with pytest.raises(MissingDependencyError):
        cifar.load_cifar10_data(tmp_path, download=True, use_torchvision=False)


def test_cifar_truncated_batch_is_bad_input(tmp_path: Path) -> None:
    _write_cifar(tmp_path)
    batch = tmp_path / cifar.FOLDER / "data_batch_1"
    batch.write_bytes(batch.read_bytes()[:100])
    with pytest.raises(BadInputError):
        cifar.load_cifar10_data(tmp_path, use_torchvision=False)
