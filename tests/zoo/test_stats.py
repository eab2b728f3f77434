"""Parameter and FLOP counting: hand-computed cases, meta vs real models, the zoo table."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from linkedonnx.errors import BadInputError
from linkedonnx.zoo import ModelSpec, build, names
from linkedonnx.zoo.stats import (
    count_flops,
    count_macs,
    count_parameters,
    model_stats,
    zoo_stats,
)


def test_count_parameters() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.PReLU(4), nn.Flatten(), nn.Linear(4, 2))
    assert count_parameters(model) == (3 * 9 * 4 + 4) + 4 + (4 * 2 + 2)
    model[1].weight.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == (3 * 9 * 4 + 4) + (4 * 2 + 2)


def test_count_macs_by_hand() -> None:
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),  # 8×8 out: 4·64 outputs × 27 MACs
        nn.ReLU(),
        nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2),  # 4×4 out: 6·16 × (2·9)
        nn.Flatten(),
        nn.Linear(96, 5),  # 96·5
    )
    per_image = 4 * 64 * 27 + 6 * 16 * 18 + 96 * 5
    assert count_macs(model, (1, 3, 8, 8)) == per_image
    assert count_macs(model, (3, 3, 8, 8)) == 3 * per_image
    assert count_flops(model, (1, 3, 8, 8)) == 2 * per_image


def test_count_macs_restores_mode_and_removes_hooks() -> None:
    model = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5))
    model.train()
    count_macs(model, (1, 3))
    assert model.training
    assert not model[0]._forward_hooks


def test_width_net_macs_analytically() -> None:
    conv = 50 * 30 * 30 * 3 * 9  # 3×3 valid conv of 50 filters on 3×32×32
    assert model_stats("width/relu").macs == conv + 50 * 30 * 30 * 10
    assert model_stats("width/lk-relu").macs == conv + 100 * 30 * 30 * 10
    assert model_stats("width/lk-relu").flops == 2 * model_stats("width/lk-relu").macs


@pytest.mark.parametrize("name", ["allcnn/lk-prelu", "resnet/ext-selu-nobn", "depth/lk-relu"])
def test_meta_stats_equal_real_model_counts(name: str) -> None:
    spec = ModelSpec(name, in_channels=1, image_size=16, num_classes=4)
    model = build(spec)
    stats = model_stats(spec)
    assert stats.parameters == count_parameters(model)
    assert stats.macs == count_macs(model, spec.input_shape(1))
    assert model_stats(spec, batch=2).macs == 2 * stats.macs


def test_zoo_stats_shortcut_equals_direct_counts() -> None:
    # zoo_stats counts MACs once per (family, form); check that equals counting each model.
    rows = {row.name: row for row in zoo_stats("width")}
    assert sorted(rows) == names("width")
    for name in names("width"):
        assert rows[name] == model_stats(name)
    resnet = {row.name: row for row in zoo_stats("resnet")}
    for name in ("resnet/lk-prelu-nobn", "resnet/lk-relu-minmax", "resnet/ext-swish"):
        assert resnet[name] == model_stats(name)


def test_zoo_stats_rows_and_dict() -> None:
    rows = zoo_stats("params")
    assert all(r.parameters > 0 and r.macs > 0 for r in rows)
    row = rows[0].to_dict()
    assert set(row) == {"name", "parameters", "macs", "flops"}
    assert row["flops"] == 2 * row["macs"]
    with pytest.raises(BadInputError):
        zoo_stats("nope")


def test_meta_counting_allocates_nothing() -> None:
    spec = ModelSpec("allcnn/lk-relu")
    with torch.device("meta"):
        model = build(spec)
    assert all(p.is_meta for p in model.parameters())
    assert count_macs(model, spec.input_shape(1)) == model_stats(spec).macs
