"""Small ONNX models the CLI tests write: one Relu, and Conv -> CReLU -> Conv."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def relu_model(path: Path) -> Path:
    """Write a one-Relu model (input x, output y, [1, 4] float) to ``path``."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.save(model, path)
    return path


def conv_crelu_conv(path: Path, weights_as_inputs: bool = True) -> Path:
    """Write Conv -> CReLU (Relu, Neg, Relu, Concat) -> Conv at opset 13 to ``path``;
    with ``weights_as_inputs`` the weights are also graph inputs, as older exporters
    (keep_initializers_as_inputs) write them."""
    rng = np.random.default_rng(0)
    weights = [
        numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "W1"),
        numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "B1"),
        numpy_helper.from_array(rng.standard_normal((5, 8, 3, 3)).astype(np.float32), "W2"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "W1", "B1"], ["z"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["z"], ["p"]),
        helper.make_node("Neg", ["z"], ["nz"]),
        helper.make_node("Relu", ["nz"], ["n"]),
        helper.make_node("Concat", ["p", "n"], ["c"], axis=1),
        helper.make_node("Conv", ["c", "W2"], ["y"], pads=[1, 1, 1, 1]),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])]
    if weights_as_inputs:
        inputs += [
            helper.make_tensor_value_info(w.name, TensorProto.FLOAT, list(w.dims)) for w in weights
        ]
    output = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5, 8, 8])
    graph = helper.make_graph(nodes, "g", inputs, [output], initializer=weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.save(model, path)
    return path
