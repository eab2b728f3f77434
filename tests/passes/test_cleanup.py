"""CleanupPass: constant folding, identity elimination, dead code, duplicate initializers
of any size (conv weights too), topological order; outputs unchanged."""

from __future__ import annotations

import numpy as np
import onnx
import onnx_ir as ir
import pytest

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


def _binary_with_input_weight(op: str, value: float, shape: list[int]) -> onnx.ModelProto:
    """y = x <op> w, w an initializer holding ``value`` that is also a graph input (as
    older exporters write weights): with the stored w the node is a no-op."""
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.full(shape, value, np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node(op, ["x", "w"], ["y"])],
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
            helper.make_tensor_value_info("w", TensorProto.FLOAT, shape),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize("shape", [[], [3]])
@pytest.mark.parametrize(("op", "value"), [("Mul", 1.0), ("Add", 0.0), ("Sub", 0.0), ("Div", 1.0)])
def test_a_weight_that_is_a_graph_input_is_no_constant_to_the_library_rules(
    op: str, value: float, shape: list[int]
) -> None:
    # onnxscript's no-op rules read the stored value of any initializer: x * w with w = 1
    # became Identity, and a caller's w = 3 was then ignored
    model = _binary_with_input_weight(op, value, shape)
    out, _ = clean(model)
    assert [n.op_type for n in out.graph.node] == [op]
    assert [i.name for i in out.graph.input] == ["x", "w"]
    assert [t.name for t in out.graph.initializer] == ["w"]
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    for w in (np.full(shape, value, np.float32), np.full(shape, 3.0, np.float32)):
        feeds = {"x": x, "w": w}
        np.testing.assert_array_equal(run(out, feeds)[0], run(model, feeds)[0])


@pytest.mark.parametrize("factor", [np.nextafter(np.float32(1), np.float32(2)), 1.000001, 0.99999])
def test_a_factor_near_one_is_kept_bit_for_bit(factor: float) -> None:
    # onnxscript's pattern constants match within rel_tol 1e-5: x * 1.000001 became x
    b = GraphBuilder(2)
    x = b.input((2, 3), "x")
    y = b.binary("Mul", x, b.const(np.float32(factor)))
    model = b.model([y])
    out, _ = clean(model)
    assert [n.op_type for n in out.graph.node] == ["Mul"]
    feeds = {"x": np.array([[3.0e38, 1.0, -7.5], [1e-3, 2.5, 1e30]], np.float32)}
    np.testing.assert_array_equal(run(out, feeds)[0], run(model, feeds)[0])


def test_only_the_tolerant_no_op_rules_are_left_out() -> None:
    # names onnxscript keeps private: a version that moves them fails here, not silently
    import onnxscript.rewriter

    from linkedonnx.passes.cleanup import EXACT_REWRITE_RULES, TOLERANT_NO_OP_RULES

    defaults = onnxscript.rewriter._DEFAULT_REWRITE_RULES
    assert len(TOLERANT_NO_OP_RULES) == 6  # Mul 1 (both orders), Add 0 (both), Sub 0, Div 1
    assert all(r in defaults for r in TOLERANT_NO_OP_RULES)
    assert len(EXACT_REWRITE_RULES) == len(defaults) - 6 + 6  # our six exact ones instead


def test_lifted_constants_are_counted_as_added_never_as_negative_removals() -> None:
    """Issue 28.4: a Constant node lifted into an initializer showed in the optimize
    report as 'initializers removed -1'."""
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 3])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, 3])
    bias = onnx.numpy_helper.from_array(np.arange(3, dtype=np.float32), "b")
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Constant", [], ["b"], value=bias),
         onnx.helper.make_node("Add", ["x", "b"], ["y"])],
        "lift", [x], [y],
    )  # fmt: skip
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 18)])
    out, counts = clean(model)
    assert all(n > 0 for n in counts.values()), counts
    assert counts.get("initializers added") == len(out.graph.initializer) == 1, counts
