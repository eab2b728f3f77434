"""Per-layer parity across lowering forms (issue 12's acceptance): a digits-trained
allcnn/lk-relu whose 4th linkage is perturbed, lowered to each form (and to float16),
against the function-form export and against the checkpoint: the first row over
tolerance is that layer's module path and every earlier linked layer has a passing row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from linkedonnx.runtime.points import is_linked_node, parse_scopes
from linkedonnx.validate import validate

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """(checkpoint, its function-form export): a few steps on the embedded digits."""
    from linkedonnx.export import export_source
    from linkedonnx.train import TrainConfig, train

    folder = tmp_path_factory.mktemp("per_layer")
    config = TrainConfig(
        model="allcnn/lk-relu",
        data="digits",
        epochs=1,
        max_steps=3,
        image_size=8,
        device="cpu",
        out=folder / "run",
        dead_samples=None,
    )
    train(config)
    checkpoint = folder / "run" / "best.safetensors"
    model = folder / "m.onnx"
    export_source(checkpoint, model)
    return checkpoint, model


def linked_paths(model: onnx.ModelProto) -> list[str]:
    """Module paths of the linked nodes in graph order."""
    return [
        parse_scopes(p.value)[-1]
        for n in model.graph.node
        if is_linked_node(n)
        for p in n.metadata_props
        if p.key == "pkg.torch.onnx.name_scopes"
    ]


def perturb_linkage(source: Path, target: Path, index: int, delta: float = 0.1) -> str:
    """Copy the function-form model with the ``index``-th (1-based) linked layer's
    pre-activation z shifted by ``delta`` (its producer's bias); return its module path."""
    model = onnx.load(source)
    linked = [n for n in model.graph.node if is_linked_node(n)]
    node = linked[index - 1]
    producer = next(n for n in model.graph.node if node.input[0] in n.output)
    bias = next(i for i in model.graph.initializer if i.name == producer.input[2])
    bias.CopyFrom(
        numpy_helper.from_array(numpy_helper.to_array(bias) + np.float32(delta), bias.name)
    )
    onnx.save(model, target)
    return linked_paths(model)[index - 1]


@pytest.mark.parametrize("variant", ["split", "dw", "stacked", "inline", "fp16"])
def test_the_first_row_over_tolerance_is_the_perturbed_layer(trained, tmp_path, variant) -> None:
    from linkedonnx.passes.optimize import optimize_file

    checkpoint, function_form = trained
    perturbed = tmp_path / "perturbed.onnx"
    path = perturb_linkage(function_form, perturbed, 4)
    assert path == "conv4.1"
    earlier = linked_paths(onnx.load(function_form))[:3]
    lowered = tmp_path / f"{variant}.onnx"
    if variant == "fp16":
        optimize_file(perturbed, lowered, fp16=True)
    else:
        optimize_file(perturbed, lowered, form=variant)
    for reference in (str(function_form), str(checkpoint)):
        report = validate(lowered, reference, batch=2, per_layer=True)
        assert not report.passed  # the drift reaches the outputs
        layers = report.layers
        assert layers is not None and layers.first_drift is not None
        assert layers.first_drift.path == path, (variant, reference, layers.first_drift.label)
        before = layers.rows[: layers.rows.index(layers.first_drift)]
        assert {f"{p} z" for p in earlier} <= {r.label for r in before}, (variant, reference)
        assert all(r.comparison.passed for r in before)


@pytest.mark.parametrize("fp16_io", [False, True])
def test_a_trained_float16_export_validates_with_default_tolerances(
    trained, tmp_path, fp16_io
) -> None:
    from linkedonnx.passes.optimize import optimize_file

    checkpoint, function_form = trained
    half = tmp_path / "h.onnx"
    optimize_file(function_form, half, fp16=True, keep_io_float32=not fp16_io)
    for reference in (str(function_form), str(checkpoint)):
        report = validate(half, reference, batch=8, per_layer=True)
        assert report.passed, report.summary()
        assert report.layers is not None and report.layers.first_drift is None
