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


def _counts(report) -> list[tuple[str, int, int, int | None]]:
    return [(la.kind, la.units, la.dead, la.dead_linkages) for la in report.layers]


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
    # issue 28.4: the ONNX layers take the export's module names (conv1a.1), not node__symbolic
    assert [la.name for la in from_onnx.layers] == [la.name for la in from_torch.layers]
    peaks_torch = [la.peak for la in from_torch.layers]
    assert all(p is not None and p >= 0 for p in peaks_torch)
    assert peaks_torch == pytest.approx([la.peak for la in from_onnx.layers], rel=1e-4, abs=1e-7)
    if "relu" in name and "prelu" not in name:
        assert from_torch.dead > 0  # the negative biases killed some ReLU units
    assert any(kind.startswith("lk-") for kind, _, _, _ in _counts(from_torch))


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
    with pytest.raises(BadInputError, match="--samples"):
        inspect_source("zoo:depth/relu", "synthetic", batches=0)
    spec = ModelSpec("width/relu", in_channels=3, image_size=8, num_classes=4)
    ckpt = save_checkpoint(tmp_path / "c.safetensors", spec, build(spec).state_dict())
    with pytest.raises(BadInputError, match="channels"):
        inspect_source(str(ckpt), "digits")
    synthetic = inspect_source(str(ckpt), "synthetic", batches=1)  # made to the model's size
    assert synthetic.data == "synthetic" and "synthetic data" in synthetic.notes[0]


def test_a_linkage_is_dead_only_when_both_halves_are(tmp_path: Path) -> None:
    """A channel with zero weights and bias has z = 0 everywhere: both of its halves are
    zero, so its linkage is dead, in the torch count and the ONNX count alike."""
    spec = ModelSpec("depth/lk-relu", in_channels=1, image_size=8, num_classes=4)
    torch.manual_seed(0)
    model = initialize(build(spec), "keras").eval()
    first = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    with torch.no_grad():
        first.weight[0].zero_()
        first.bias[0] = 0.0
    ckpt = save_checkpoint(tmp_path / "m.safetensors", spec, model.state_dict())
    onnx_path = tmp_path / "m.onnx"
    export_model(model, spec, onnx_path)
    from_torch = inspect_source(str(ckpt), "synthetic", batches=1, batch_size=32)
    from_onnx = inspect_source(str(onnx_path), "synthetic", batches=1, batch_size=32)
    assert _counts(from_torch) == _counts(from_onnx)
    layer = from_torch.layers[0]
    assert layer.dead_linkages >= 1 and layer.dead >= 2 * layer.dead_linkages
    assert layer.linkages == layer.units // 2
    assert from_torch.linkages == sum(la.units for la in from_torch.layers) // 2
    assert from_torch.to_dict()["dead_linkages"] == from_torch.dead_linkages >= 1


def test_plain_models_have_no_linkages() -> None:
    report = inspect_source("zoo:depth/relu", "synthetic", batches=1, batch_size=8)
    assert report.dead_linkages is None and report.linkages == 0
    assert all(la.dead_linkages is None for la in report.layers)


def test_dead_linkages_of_a_mask() -> None:
    import numpy as np

    from linkedonnx.dead_unit_report import dead_linkages

    # halves [alive, dead, dead | dead, alive, dead]: only the third linkage is dead
    assert dead_linkages(np.array([1, 0, 0, 0, 1, 0], bool)) == 1
    with pytest.raises(ValueError, match="even"):
        dead_linkages(np.ones(3, bool))


def test_peaks_show_the_vanishing_signal_of_the_deep_relu_net() -> None:
    """At the Glorot ('keras') init the 51-layer ReLU net's activations shrink with depth:
    the peak |activation| of the last layer is orders of magnitude below the first's."""
    report = inspect_source("zoo:depth/relu", "synthetic", batches=1, batch_size=16, init="keras")
    peaks = [la.peak for la in report.layers]
    assert peaks[0] > 0 and peaks[-1] < peaks[0] * 1e-3
    default = inspect_source("zoo:depth/relu", "synthetic", batches=1, batch_size=16, init="torch")
    assert [la.peak for la in default.layers] != peaks  # a different initialisation
    with pytest.raises(BadInputError, match="unknown init"):
        inspect_source("zoo:depth/relu", "synthetic", batches=1, init="xavier")
