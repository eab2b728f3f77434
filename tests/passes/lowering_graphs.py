"""Hand-built graphs for the optimize tests: AllCNN-C-like and bottleneck-like linked
networks (function nodes), Conv -> BatchNormalization pairs, in the style of graphs.py."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

from tests.passes.graphs import GraphBuilder


def conv(b: GraphBuilder, x: str, cout: int, k: int = 3, stride: int = 1, bias: bool = True) -> str:
    """Conv with He-scaled random weights, 'same' padding and ``stride``."""
    n, cin, h, w = b.shapes[x]
    weight = b.const(b.weight((cout, cin, k, k), scale=float(np.sqrt(2.0 / (cin * k * k)))))
    inputs = [x, weight] + ([b.const(b.weight((cout,), 0.1))] if bias else [])
    pad = k // 2
    ho, wo = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    return b.node(
        "Conv",
        inputs,
        (n, cout, ho, wo),
        pads=[pad] * 4,
        strides=[stride, stride],
        kernel_shape=[k, k],
    )


def batchnorm(b: GraphBuilder, x: str) -> str:
    """Inference BatchNormalization with random statistics."""
    c = b.shapes[x][1]
    rng = b.rng
    params = [
        b.const(rng.uniform(0.5, 1.5, c)),
        b.const(rng.normal(0, 0.1, c)),
        b.const(rng.normal(0, 0.1, c)),
        b.const(rng.uniform(0.5, 1.5, c)),
    ]
    return b.node("BatchNormalization", [x, *params], b.shapes[x], epsilon=1e-3)


def allcnn_like(
    kind: str = "relu",
    batch: int = 2,
    size: int = 8,
    widths: tuple[int, ...] = (8, 8, 16),
    bn: bool = False,
    seed: int = 0,
) -> onnx.ModelProto:
    """Conv(3x3) [-> BN] -> linked ``kind`` per width (stride 2 every third), then a 1x1
    conv to 10 classes, GlobalAveragePool, Flatten. ``kind`` 'plain' uses Relu."""
    b = GraphBuilder(seed)
    x = b.input((batch, 3, size, size), "x")
    for i, width in enumerate(widths):
        x = conv(b, x, width, 3, stride=2 if i % 3 == 2 else 1)
        if bn:
            x = batchnorm(b, x)
        x = b.unary("Relu", x) if kind == "plain" else b.linked(kind, x, 1)
    x = conv(b, x, 10, 1)
    x = b.node("GlobalAveragePool", [x], (batch, 10, 1, 1))
    return b.model([b.node("Flatten", [x], (batch, 10), axis=1)])


def mlp_like(kind: str = "relu", batch: int = 2, seed: int = 0, matmul: bool = False):
    """Gemm (or MatMul+Add) -> linked ``kind`` (axis 1) -> Gemm/MatMul -> output."""
    b = GraphBuilder(seed)
    x = b.input((batch, 6), "x")
    h = b.matmul(x, 5) if matmul else b.gemm(x, 5, b=b.const(b.weight((5,))))
    h = b.linked(kind, h, 1)
    out = b.matmul(h, 4) if matmul else b.gemm(h, 4, b=b.const(b.weight((4,))))
    return b.model([out])


def pooled_like(kind: str = "relu", batch: int = 2, seed: int = 0) -> onnx.ModelProto:
    """Conv -> linked -> MaxPool -> Conv, and a second use of the linked output as a graph
    output: consumers the split forms cannot rewrite."""
    b = GraphBuilder(seed)
    x = b.input((batch, 3, 6, 6), "x")
    z = conv(b, x, 4)
    y = b.linked(kind, z, 1)
    p = b.node("MaxPool", [y], (batch, 8, 3, 3), kernel_shape=[2, 2], strides=[2, 2])
    return b.model([conv(b, p, 5), y])


def flatten_dense(
    kind: str = "relu",
    reshape: bool = False,
    trans_b: int = 1,
    matmul: bool = False,
    rows: tuple[int, int] = (0, -1),
) -> onnx.ModelProto:
    """Conv -> linked -> Flatten (or Reshape to ``rows``) -> Gemm (transB) or MatMul, as
    the width family ends."""
    b = GraphBuilder(4)
    x = b.input((2, 3, 3, 3), "x")
    y = b.linked(kind, conv(b, x, 4), 1)
    if reshape:
        shape = b.fresh("shape")
        b.inits.append(numpy_helper.from_array(np.array(rows, np.int64), shape))
        flat = b.node("Reshape", [y, shape], (2, 72))
    else:
        flat = b.node("Flatten", [y], (2, 72), axis=1)
    if matmul:
        return b.model([b.matmul(flat, 5)])
    return b.model([b.gemm(flat, 5, b=b.const(b.weight((5,))), transB=trans_b)])


def conv_linked_conv(kind: str = "relu", bn: bool = False, seed: int = 0) -> onnx.ModelProto:
    """Conv [-> BatchNormalization] -> linked ``kind`` -> Conv -> output: one site each
    lowering form and batch-norm folding can rewrite."""
    b = GraphBuilder(seed)
    x = b.input((2, 3, 5, 5), "x")
    z = conv(b, x, 4)
    if bn:
        z = batchnorm(b, z)
    return b.model([conv(b, b.linked(kind, z, 1), 6)])


def weights_as_inputs(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` whose initializers are also graph inputs (as torch.onnx writes
    them with keep_initializers_as_inputs, opset <= 13): callers may override them."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    for init in out.graph.initializer:
        out.graph.input.append(
            onnx.helper.make_tensor_value_info(init.name, init.data_type, list(init.dims))
        )
    onnx.checker.check_model(out, full_check=True)
    return out


def new_weight_feeds(model: onnx.ModelProto, seed: int = 1) -> dict[str, np.ndarray]:
    """Other values for every initializer that is a graph input: each element scaled by a
    random factor in [0.5, 2) (signs kept, so BatchNormalization variances stay positive)."""
    rng = np.random.default_rng(seed)
    inputs = {i.name for i in model.graph.input}
    feeds = {}
    for init in model.graph.initializer:
        if init.name in inputs:
            arr = numpy_helper.to_array(init)
            feeds[init.name] = (arr * rng.uniform(0.5, 2.0, arr.shape)).astype(arr.dtype)
    return feeds
