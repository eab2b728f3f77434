"""Labelled batches for a model: data set names and .npz files, the preprocessing the
model records or the options given when it records none."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from linkedonnx.arrays import (
    Preprocess,
    PreprocessOptions,
    apply,
    load_raw,
    model_data,
    preprocess_for,
    resolve_preprocess,
    write_preprocess,
)
from linkedonnx.arrays.labelled import read_npz
from linkedonnx.errors import BadInputError


def _model(side: int | str = 16, channels: int = 1) -> onnx.ModelProto:
    """A one-input NCHW model (global average pool), enough for the input signature."""
    x = helper.make_tensor_value_info("img", TensorProto.FLOAT, ["batch", channels, side, side])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, None)
    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["img"], ["out"])], "g", [x], [y]
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def test_recorded_preprocessing_and_data_set_are_the_defaults() -> None:
    model = _model()
    pre = preprocess_for(load_raw("digits"), 16, standardize=True)
    write_preprocess(model, pre)
    name, data = model_data(model)
    assert name == "img" and data.preprocess == pre and data.source == "digits test"
    assert data.images.shape == (360, 1, 16, 16) and data.labels.shape == (360,)
    raw = load_raw("digits")
    np.testing.assert_array_equal(data.images, apply(raw.test_images, pre))
    _, train = model_data(model, split="train", limit=5)
    assert len(train) == 5
    # an option laid over the record
    _, plain = model_data(model, options=PreprocessOptions(standardize=False))
    assert not plain.preprocess.standardized and float(plain.images.max()) <= 1.0
    batches = list(data.batches(100))
    assert [len(y) for _, y in batches] == [100, 100, 100, 60]


def test_model_without_record_needs_options() -> None:
    model = _model(side="h")
    with pytest.raises(BadInputError, match="records no data set"):
        model_data(model)
    with pytest.raises(BadInputError, match="--standardize or --no-standardize"):
        model_data(model, "digits", what="m.onnx")
    _, data = model_data(model, "digits", options=PreprocessOptions(standardize=True))
    assert data.preprocess.scale == 16.0 and data.preprocess.image_size == 16
    assert data.preprocess.standardized and data.preprocess.channels == 1
    _, fixed = model_data(_model(side=12), "digits", options=PreprocessOptions(standardize=False))
    assert fixed.images.shape[-1] == 12  # the model's own side


def test_synthetic_data_takes_the_models_channels_and_side() -> None:
    # synthetic images used to have one channel whatever the model took
    options = PreprocessOptions(standardize=False)
    _, data = model_data(_model(side=8, channels=3), "synthetic", options=options)
    assert data.images.shape[1:] == (3, 8, 8) and data.preprocess.channels == 3


def test_npz_data(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 1, 16, 16), dtype=np.uint8)
    labels = np.arange(7) % 3
    path = tmp_path / "d.npz"
    np.savez(path, img=images, labels=labels)
    model = _model()
    with pytest.raises(BadInputError, match="--scale and --mean and --std, or --no-standardize"):
        model_data(model, path)
    with pytest.raises(BadInputError, match="needs a named data set"):
        model_data(model, path, options=PreprocessOptions(scale=255.0, standardize=True))
    opts = PreprocessOptions(scale=255.0, mean=(0.5,), std=(0.25,))
    _, data = model_data(model, path, options=opts)
    np.testing.assert_allclose(data.images, (images / 255.0 - 0.5) / 0.25, atol=1e-6)
    assert np.array_equal(data.labels, labels) and data.source == "d.npz test"
    # a recorded preprocessing applies to the file as to a data set
    write_preprocess(model, Preprocess("cifar10", 255.0, image_size=16, channels=1))
    _, recorded = model_data(model, path)
    np.testing.assert_allclose(recorded.images, images / 255.0, atol=1e-7)
    with pytest.raises(BadInputError, match="no train split"):
        model_data(model, path, split="train")


def test_bad_npz_files(tmp_path: Path) -> None:
    images = np.zeros((3, 1, 4, 4), np.uint8)
    cases = {
        "nolabels.npz": {"img": images},
        "two.npz": {"a": images, "b": images, "labels": np.zeros(3, int)},
        "rank.npz": {"img": images[0], "labels": np.zeros(1, int)},
        "float.npz": {"img": images, "labels": np.zeros(3)},
        "count.npz": {"img": images, "labels": np.zeros(2, int)},
    }
    fragments = ["no 'labels'", "expected 'img'", "expected NCHW", "integer classes", "3 integer"]
    for (name, content), fragment in zip(cases.items(), fragments, strict=True):
        np.savez(tmp_path / name, **content)
        with pytest.raises(BadInputError, match=fragment):
            read_npz(tmp_path / name, "img")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(BadInputError, match=r"not a readable \.npz"):
        read_npz(tmp_path / "junk.npz")


def test_resolve_refuses_contradictions() -> None:
    raw = load_raw("synthetic")
    with pytest.raises(BadInputError, match="go together"):
        resolve_preprocess(None, raw, PreprocessOptions(mean=(0.5,)))
    with pytest.raises(BadInputError, match="contradict"):
        resolve_preprocess(None, raw, PreprocessOptions(mean=(0.5,), std=(0.2,), standardize=False))
    with pytest.raises(BadInputError, match="unknown dataset"):
        model_data(_model(), "mnist", options=PreprocessOptions(standardize=False))
    with pytest.raises(BadInputError, match="unknown split"):
        model_data(_model(), "digits", split="val", options=PreprocessOptions(standardize=False))
