"""FoldBatchNormPass: Conv -> BatchNormalization folded exactly (to float32 rounding);
left alone where folding would be wrong."""

from __future__ import annotations

import numpy as np
import onnx
import onnx_ir as ir

from linkedonnx.passes.fold_batchnorm import FoldBatchNormPass
from tests.passes.graphs import GraphBuilder, random_feeds, run
from tests.passes.lowering_graphs import allcnn_like, batchnorm, conv


def fold(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict[str, int]]:
    p = FoldBatchNormPass()
    result = p(ir.from_proto(model))
    out = ir.to_proto(result.model)
    onnx.checker.check_model(out, full_check=True)
    return out, dict(p.counts)


def assert_exact(a: onnx.ModelProto, b: onnx.ModelProto) -> None:
    feeds = random_feeds(a)
    for x, y in zip(run(a, feeds), run(b, feeds), strict=True):
        np.testing.assert_allclose(y, x, atol=1e-5, rtol=1e-5)


def test_folds_every_conv_bn_pair_exactly() -> None:
    model = allcnn_like("relu", bn=True)
    out, counts = fold(model)
    assert counts == {"folded": 3}
    assert "BatchNormalization" not in {n.op_type for n in out.graph.node}
    assert_exact(model, out)


def test_folds_into_a_conv_without_bias() -> None:
    b = GraphBuilder(1)
    x = b.input((2, 3, 5, 5), "x")
    y = batchnorm(b, conv(b, x, 4, bias=False))
    model = b.model([y])
    out, counts = fold(model)
    assert counts == {"folded": 1}
    assert_exact(model, out)


def test_bn_as_graph_output_keeps_its_name() -> None:
    b = GraphBuilder(2)
    x = b.input((1, 3, 4, 4), "x")
    y = batchnorm(b, conv(b, x, 2))
    model = b.model([y])
    out, _ = fold(model)
    assert [o.name for o in out.graph.output] == [y]
    assert_exact(model, out)


def test_leaves_shared_conv_outputs_and_non_conv_producers() -> None:
    b = GraphBuilder(3)
    x = b.input((2, 3, 4, 4), "x")
    z = conv(b, x, 4)
    shared = batchnorm(b, z)  # z also feeds the Relu below: folding would change it
    other = batchnorm(b, b.unary("Relu", z))  # BN after a Relu
    model = b.model([shared, other])
    out, counts = fold(model)
    assert counts == {
        "skipped: the Conv output has other consumers": 1,
        "skipped: not after a Conv": 1,
    }
    assert [n.op_type for n in out.graph.node].count("BatchNormalization") == 2
    assert_exact(model, out)
