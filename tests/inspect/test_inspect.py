"""inspect_source: torch hooks and ONNX Runtime give the same dead-unit counts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from linkedonnx.checkpoint import save_checkpoint
from linkedonnx.errors import BadInputError
from linkedonnx.export import export_model
from linkedonnx.inspect import inspect_source
from linkedonnx.train.init import initialize
from linkedonnx.zoo import ModelSpec, build


def _counts(report) -> list[tuple[str, int, int]]:
    return [(layer.kind, layer.units, layer.dead) for layer in report.layers]


@pytest.mark.parametrize("name", ["params/lk-prelu", "resnet/lk-relu-nobn"])
def test_checkpoint_and_onnx_agree(tmp_path: Path, name: str) -> None:
    spec = ModelSpec(name, in_channels=1, image_size=8, num_classes=4)
    torch.manual_seed(0)
    model = initialize(build(spec), "keras").eval()
    with torch.no_grad():  # push some biases negative so that some units die
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d | torch.nn.Linear) and module.bias is not None:
                module.bias.copy_(torch.linspace(-3, 1, module.bias.numel()))
    ckpt = save_checkpoint(tmp_path / "m.safetensors", spec, model.state_dict())
    onnx_path = tmp_path / "m.onnx"
    export_model(model, spec, onnx_path)
    from_torch = inspect_source(str(ckpt), "synthetic", batches=2, batch_size=32)
    from_onnx = inspect_source(str(onnx_path), "synthetic", batches=2, batch_size=32)
    assert from_torch.samples == from_onnx.samples == 64
    assert _counts(from_torch) == _counts(from_onnx)
    if "relu" in name and "prelu" not in name:
        assert from_torch.dead > 0  # the negative biases killed some ReLU units
    assert any(kind.startswith("lk-") for kind, _, _ in _counts(from_torch))


def test_zoo_source_counts_every_activation_layer() -> None:
    report = inspect_source("zoo:depth/relu", "synthetic", batches=1, batch_size=16)
    assert len(report.layers) == 51
    assert all(layer.units == 4 and layer.kind == "relu" for layer in report.layers)
    linked = inspect_source("zoo:depth/lk-relu", "synthetic", batches=1, batch_size=16)
    assert all(layer.units == 8 and layer.kind == "lk-relu" for layer in linked.layers)


def test_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(BadInputError):
        inspect_source(str(tmp_path / "missing.safetensors"), "synthetic")
    with pytest.raises(BadInputError):
        inspect_source(str(tmp_path / "missing.onnx"), "synthetic")
    with pytest.raises(BadInputError, match="unknown model"):
        inspect_source("zoo:depth/bogus", "synthetic")
    with pytest.raises(BadInputError, match="unknown dataset"):
        inspect_source("zoo:depth/relu", "bogus")
    with pytest.raises(BadInputError, match="--batches"):
        inspect_source("zoo:depth/relu", "synthetic", batches=0)
    spec = ModelSpec("width/relu", in_channels=3, image_size=8, num_classes=4)
    ckpt = save_checkpoint(tmp_path / "c.safetensors", spec, build(spec).state_dict())
    with pytest.raises(BadInputError, match="channels"):
        inspect_source(str(ckpt), "synthetic")
