"""CleanupPass: constant folding, identity elimination, dead code, duplicate initializers
of any size (conv weights too), topological order; outputs unchanged."""

from __future__ import annotations

import numpy as np
import onnx
import onnx_ir as ir

from linkedonnx.passes.cleanup import CleanupPass
from tests.passes.graphs import GraphBuilder, random_feeds, run


def clean(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict[str, int]]:
    p = CleanupPass()
    out = ir.to_proto(p(ir.from_proto(model)).model)
    onnx.checker.check_model(out, full_check=True)
    return out, dict(p.counts)


def test_merges_large_duplicate_weights_folds_constants_and_drops_dead_code() -> None:
    b = GraphBuilder(0)
    x = b.input((2, 16, 6, 6), "x")
    w = b.weight((32, 16, 3, 3))  # 4608 elements: above onnx_ir's default size limit
    a = b.conv(x, 32, k=3, w=b.const(w), b=b.const(np.zeros(32)))
    c = b.conv(x, 32, k=3, w=b.const(w.copy()), b=b.const(np.zeros(32)))
    shift = b.binary("Add", b.const(np.float32(1.0)), b.const(np.float32(2.0)))  # folds to 3
    y = b.binary("Add", b.unary("Identity", b.binary("Add", a, c)), shift)
    b.unary("Relu", x)  # dead
    model = b.model([y])
    out, counts = clean(model)
    assert counts["nodes removed"] >= 4, counts
    ops = [n.op_type for n in out.graph.node]
    assert "Identity" not in ops and "Relu" not in ops
    weights = [t for t in out.graph.initializer if len(t.dims) == 4]
    assert len(weights) == 1
    feeds = random_feeds(model)
    np.testing.assert_allclose(run(out, feeds)[0], run(model, feeds)[0], atol=1e-5, rtol=1e-5)


def test_sorts_nodes_topologically_and_reports_nothing_for_a_clean_model() -> None:
    b = GraphBuilder(1)
    x = b.input((2, 3), "x")
    y = b.unary("Relu", b.unary("Neg", x))
    model = b.model([y])
    model.graph.node.reverse()  # out of order (not a valid model until sorted)
    p = CleanupPass()
    out = ir.to_proto(p(ir.from_proto(model)).model)
    onnx.checker.check_model(out, full_check=True)
    assert [n.op_type for n in out.graph.node] == ["Neg", "Relu"]
    assert dict(p.counts) == {}
