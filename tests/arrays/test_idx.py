"""IDX reader and the Fashion-MNIST folder (tiny files written by the tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from linkedonnx.arrays import idx
from linkedonnx.errors import BadInputError
from tests.arrays.idx_files import write_fashion, write_idx


@pytest.mark.parametrize("dtype", ["u1", "i1", "<i2", "<i4", "<f4", "<f8"])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_read_idx_round_trip(tmp_path: Path, dtype: str, name: str) -> None:
    array = (np.arange(2 * 3 * 4) - 7).astype(dtype).reshape(2, 3, 4)
    got = idx.read_idx(write_idx(tmp_path / name, array))
    assert got.dtype == np.dtype(dtype).newbyteorder("=")
    assert np.array_equal(got, array)


def test_read_idx_refuses_bad_files(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "a.idx", np.zeros((3, 5), np.uint8))
    raw = path.read_bytes()
    (tmp_path / "short").write_bytes(raw[:-1])
    (tmp_path / "magic").write_bytes(b"\x01" + raw[1:])
    (tmp_path / "header").write_bytes(raw[:6])
    (tmp_path / "bad.gz").write_bytes(raw)
    for name, fragment in [("short", "holds"), ("magic", "not an IDX"), ("header", "truncated"),
                           ("bad.gz", "cannot read"), ("missing", "cannot read")]:  # fmt: skip
        with pytest.raises(BadInputError, match=fragment):
            idx.read_idx(tmp_path / name)


def test_fashion_mnist_folder(tmp_path: Path) -> None:
    arrays = write_fashion(tmp_path / "fm")
    train_x, train_y, test_x, test_y = idx.load_fashion_mnist(tmp_path / "fm")
    assert train_x.shape == (12, 1, 28, 28) and train_x.dtype == np.uint8
    assert np.array_equal(test_x[:, 0], arrays["test_images"])
    assert train_y.dtype == np.int64 and np.array_equal(train_y, arrays["train_labels"])
    assert np.array_equal(test_y, arrays["test_labels"])


def test_fashion_mnist_missing_package_names_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(idx, "FASHION_MNIST_DIR", tmp_path / "absent")
    with pytest.raises(BadInputError, match="dataset-fashion-mnist"):
        idx.load_fashion_mnist()
    with pytest.raises(BadInputError, match="missing t10k-images"):
        write_fashion(tmp_path / "fm")
        (tmp_path / "fm" / "t10k-images-idx3-ubyte.gz").unlink()
        idx.load_fashion_mnist(tmp_path / "fm")


def test_fashion_mnist_mismatched_labels(tmp_path: Path) -> None:
    write_fashion(tmp_path / "fm")
    write_idx(tmp_path / "fm" / "t10k-labels-idx1-ubyte.gz", np.zeros(2, np.uint8))
    with pytest.raises(BadInputError, match="do not pair up"):
        idx.load_fashion_mnist(tmp_path / "fm")


def test_only_folder_data_sets_take_a_folder(tmp_path: Path) -> None:
    from linkedonnx.arrays.datasets import load_raw

    with pytest.raises(BadInputError, match="digits reads no folder"):
        load_raw("digits", tmp_path)
    assert load_raw("synthetic", image_size=5, in_channels=3).train_images.shape[1:] == (3, 5, 5)
