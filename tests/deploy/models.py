"""A small digits classifier the deploy tests serve: Conv -> CReLU -> Flatten -> Gemm,
the Gemm fitted by least squares on the prepared digits train split (about 95% test
accuracy), with the digits preprocessing recorded (16x16, standardized)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from linkedonnx.arrays import apply, load_raw, preprocess_for, write_preprocess


def _graph(weights: list[onnx.TensorProto], with_head: bool) -> onnx.ModelProto:
    nodes = [
        helper.make_node("Conv", ["x", "W1", "B1"], ["z"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["z"], ["p"]),
        helper.make_node("Neg", ["z"], ["nz"]),
        helper.make_node("Relu", ["nz"], ["n"]),
        helper.make_node("Concat", ["p", "n"], ["c"], axis=1),
        helper.make_node("Flatten", ["c"], ["features"], axis=1),
    ]
    out = "features"
    if with_head:
        nodes.append(helper.make_node("Gemm", ["features", "W2", "B2"], ["logits"]))
        out = "logits"
    graph = helper.make_graph(
        nodes,
        "digits",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 16, 16])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", None])],
        initializer=weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def digits_classifier(path: Path) -> Path:
    """Write the classifier to ``path`` and return it."""
    import onnxruntime as ort

    raw = load_raw("digits")
    pre = preprocess_for(raw, 16, standardize=True)
    rng = np.random.default_rng(0)
    convs = [
        numpy_helper.from_array((rng.standard_normal((8, 1, 3, 3)) * 0.5).astype(np.float32), "W1"),
        numpy_helper.from_array((rng.standard_normal(8) * 0.1).astype(np.float32), "B1"),
    ]
    body = _graph(convs, with_head=False)
    session = ort.InferenceSession(body.SerializeToString(), providers=["CPUExecutionProvider"])
    features = session.run(None, {"x": apply(raw.train_images, pre)})[0].astype(np.float64)
    design = np.hstack([features, np.ones((len(features), 1))])
    targets = np.eye(10)[raw.train_labels]
    solution = np.linalg.solve(
        design.T @ design + 1.0 * np.eye(design.shape[1]), design.T @ targets
    )
    head = [
        numpy_helper.from_array(solution[:-1].astype(np.float32), "W2"),
        numpy_helper.from_array(solution[-1].astype(np.float32), "B2"),
    ]
    model = _graph(convs + head, with_head=True)
    write_preprocess(model, pre)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)
    return path
