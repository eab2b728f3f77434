"""``quantize --data synthetic`` on a real-world file (issue 22): the classic SqueezeNet of
the onnx package's light models (opset 9, IR 3), with seeded random weights in place of
its ConstantOfShape fills. Every Conv is quantized (QDQ on its input, weight and
output) and the logits (the Softmax input) stay within 5% relative L2 error on 64
synthetic images."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from linkedonnx.arrays.labelled import PreprocessOptions, model_data
from linkedonnx.runtime.session import make_session
from tests.cli.invoke import run_cli

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.insert(0, str(ROOT / "benchmarks"))

from _corpus import corpus_models, source_file  # noqa: E402

MAX_RELATIVE_L2 = 0.05


def _logits(model: onnx.ModelProto, images: np.ndarray) -> np.ndarray:
    """The input of ``model``'s Softmax (the logits) for each image, one at a time, as
    [N, classes] (the source's is [N, classes, 1, 1], the quantized model's flat)."""
    (softmax,) = [n for n in model.graph.node if n.op_type == "Softmax"]
    model.graph.output.append(onnx.helper.make_tensor_value_info(softmax.input[0], 1, None))
    session = make_session(model, "cpu")
    name = session.get_inputs()[0].name
    rows = [session.run(None, {name: images[i : i + 1]})[-1] for i in range(len(images))]
    return np.concatenate([row.reshape(1, -1) for row in rows])  # [N, classes]


def test_quantize_synthetic_on_light_squeezenet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (squeezenet,) = [m for m in corpus_models(("light",)) if m.name == "light_squeezenet"]
    source = source_file(squeezenet, tmp_path)
    out = tmp_path / "int8.onnx"
    code, printed, err = run_cli(
        capsys, "quantize", str(source), "-o", str(out), "--data", "synthetic",
        "--no-standardize", "--samples", "64",
    )  # fmt: skip
    assert code == 0, err
    assert "upgraded opset 9 -> 17" in printed

    quantized = onnx.load(out)
    producer = {o: n.op_type for n in quantized.graph.node for o in n.output}
    consumers: dict[str, list[str]] = {}
    for node in quantized.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node.op_type)
    convs = [n for n in quantized.graph.node if n.op_type == "Conv"]
    assert len(convs) == 26  # every Conv of SqueezeNet 1.0
    for conv in convs:
        assert producer.get(conv.input[0]) == "DequantizeLinear", conv.name
        assert producer.get(conv.input[1]) == "DequantizeLinear", conv.name
        assert consumers[conv.output[0]] in (["QuantizeLinear"], ["Relu"]), conv.name
        if consumers[conv.output[0]] == ["Relu"]:  # ORT quantizes after the fused ReLU
            relu = next(n for n in quantized.graph.node if conv.output[0] in n.input)
            assert consumers[relu.output[0]] == ["QuantizeLinear"], conv.name

    given = onnx.load(source)
    _, data = model_data(
        given, "synthetic", split="test", options=PreprocessOptions(standardize=False), limit=64
    )
    images = data.images[:64]
    assert len(images) == 64
    want, got = _logits(given, images), _logits(quantized, images)
    error = np.linalg.norm(got - want) / np.linalg.norm(want)
    assert error <= MAX_RELATIVE_L2, error
