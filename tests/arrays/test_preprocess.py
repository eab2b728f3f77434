"""Preprocess: the one preparation function against torch, JSON and model metadata."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F

from linkedonnx.arrays.preprocess import (
    METADATA_KEY,
    Preprocess,
    apply,
    channel_stats,
    parse_floats,
    read_preprocess,
    resize_bilinear,
    write_preprocess,
)
from linkedonnx.errors import BadInputError


@pytest.mark.parametrize(
    ("shape", "size"),
    [((2, 1, 8, 8), 16), ((2, 3, 28, 28), 16), ((1, 2, 5, 7), (9, 4)), ((3, 1, 16, 16), 8),
     ((1, 1, 3, 3), 32), ((2, 3, 32, 32), 32), ((1, 1, 7, 11), (13, 5))],
)  # fmt: skip
def test_resize_matches_torch_interpolate(shape: tuple, size: int | tuple) -> None:
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    hw = (size, size) if isinstance(size, int) else size
    expected = F.interpolate(torch.from_numpy(x), size=hw, mode="bilinear", align_corners=False)
    got = resize_bilinear(x, size)
    assert got.dtype == np.float32 and got.shape == tuple(expected.shape)
    np.testing.assert_allclose(got, expected.numpy(), rtol=0, atol=1e-6)


def test_apply_matches_the_torch_formula() -> None:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (4, 3, 10, 10), dtype=np.uint8)
    mean, std = channel_stats(images, 255.0)
    pre = Preprocess("x", 255.0, mean, std, 16, 3)
    t = torch.from_numpy(images).float() / 255.0
    t = (t - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)
    t = F.interpolate(t, size=(16, 16), mode="bilinear", align_corners=False)
    np.testing.assert_allclose(apply(images, pre), t.numpy(), rtol=0, atol=1e-6)
    # statistics as torch computes them (float64, unbiased std)
    x = torch.from_numpy(images).double() / 255.0
    np.testing.assert_allclose(mean, x.mean(dim=(0, 2, 3)).float().numpy(), rtol=0, atol=1e-7)
    np.testing.assert_allclose(std, x.std(dim=(0, 2, 3)).float().numpy(), rtol=0, atol=1e-7)


def test_apply_checks_channels() -> None:
    with pytest.raises(BadInputError, match="3 channel"):
        apply(np.zeros((1, 3, 4, 4)), Preprocess("d", 1.0, channels=1))
    with pytest.raises(BadInputError, match="mean/std have 1"):
        apply(np.zeros((1, 3, 4, 4)), Preprocess("d", 1.0, (0.5,), (0.2,)))
    with pytest.raises(BadInputError, match="N, C, H, W"):
        apply(np.zeros((3, 4, 4)), Preprocess("d", 1.0))


def test_json_and_metadata_round_trip() -> None:
    pre = Preprocess("cifar10", 255.0, (0.49, 0.48, 0.45), (0.25, 0.24, 0.26), 32, 3)
    assert Preprocess.from_json(pre.to_json()) == pre
    plain = Preprocess("digits", 16.0, image_size=16, channels=1)
    assert Preprocess.from_json(plain.to_json()) == plain and not plain.standardized
    model = onnx.ModelProto()
    model.metadata_props.add(key="other", value="kept")
    assert read_preprocess(model) is None
    write_preprocess(model, plain)
    write_preprocess(model, pre)  # replaces
    assert read_preprocess(model) == pre
    assert [p.key for p in model.metadata_props] == ["other", METADATA_KEY]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("{", "not valid JSON"), ("[1]", "not a JSON object"), ('{"dataset": "d"}', "malformed"),
     ('{"scale": 0}', "positive"), ('{"scale": 1, "mean": [0.5]}', "both a mean and a std"),
     ('{"scale": 1, "mean": [0.5], "std": [0]}', "std values"),
     ('{"scale": 1, "mean": [0.5], "std": [1], "channels": 3}', "for 3 channel")],
)  # fmt: skip
def test_bad_records(text: str, fragment: str) -> None:
    with pytest.raises(BadInputError, match=fragment):
        Preprocess.from_json(text)


def test_parse_floats() -> None:
    assert parse_floats("0.5,1,2e-1", "--mean") == (0.5, 1.0, 0.2)
    for bad in ("a", "1,,2", "nan"):
        with pytest.raises(BadInputError, match="--mean"):
            parse_floats(bad, "--mean")
