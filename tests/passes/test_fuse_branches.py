"""Branch fusion: duplicate Conv/Gemm/MatMul branches (same tensor, equal copies,
negated weights) become one computation; anything else is left alone."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from graphs import (
    GraphBuilder,
    apply_passes,
    assert_same_outputs,
    op_counts,
    two_branch_model,
)

from linkedonnx.passes.fuse_branches import FuseWeightSharedBranchesPass

EXPECTED = {"same": "same", "copy": "equal", "negated": "negated"}


def fuse(model: onnx.ModelProto) -> tuple[onnx.ModelProto, FuseWeightSharedBranchesPass]:
    p = FuseWeightSharedBranchesPass()
    return apply_passes(model, [p]), p


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("mode", ["same", "copy", "negated"])
@pytest.mark.parametrize("op", ["Conv", "Gemm", "MatMul"])
def test_duplicate_branches_fuse(op: str, mode: str, bias: bool) -> None:
    before = two_branch_model(op, mode, bias=bias)
    after, p = fuse(before)
    onnx.checker.check_model(after, full_check=True)
    assert op_counts(after)[op] == 1
    assert dict(p.counts) == {f"fused_{EXPECTED[mode]}_{op.lower()}": 1}
    assert_same_outputs(before, after, exact=False)


@pytest.mark.parametrize("op", ["Conv", "Gemm", "MatMul"])
def test_weights_differing_in_one_element_do_not_fuse(op: str) -> None:
    before = two_branch_model(op, "one-off")
    after, p = fuse(before)
    assert not p.counts
    assert op_counts(after)[op] == 2
    assert_same_outputs(before, after, exact=True)


@pytest.mark.parametrize("op", ["Conv", "Gemm"])
def test_negated_weights_with_copied_bias_do_not_fuse(op: str) -> None:
    before = two_branch_model(op, "negated-bias-mismatch")
    after, p = fuse(before)
    assert not p.counts and op_counts(after)[op] == 2
    assert_same_outputs(before, after, exact=True)


def _gemm_pair(attrs1: dict, attrs2: dict, w2_scale: float = 1.0) -> onnx.ModelProto:
    b = GraphBuilder(7)
    x = b.input((2, 5), "x")
    w = b.weight((4, 5))
    z1 = b.gemm(x, 4, w=b.const(w), **attrs1)
    z2 = b.gemm(x, 4, w=b.const(w * np.float32(w2_scale)), **attrs2)
    return b.model([z1, z2])


def test_gemm_with_different_alpha_does_not_fuse() -> None:
    before = _gemm_pair({"alpha": 1.0}, {"alpha": 2.0})
    after, p = fuse(before)
    assert not p.counts
    assert_same_outputs(before, after, exact=True)


def test_gemm_with_different_trans_does_not_fuse() -> None:
    # Same stored values, but one reads them transposed (square weight so both are valid).
    b = GraphBuilder(8)
    x = b.input((2, 4), "x")
    w = b.weight((4, 4))
    z1 = b.gemm(x, 4, w=b.const(w), transB=1)
    z2 = b.gemm(x, 4, w=b.const(w.copy()), transB=0)
    before = b.model([z1, z2])
    after, p = fuse(before)
    assert not p.counts
    assert_same_outputs(before, after, exact=True)


def test_equal_gemm_with_attributes_fuses_and_keeps_both_outputs() -> None:
    attrs = {"alpha": 0.5, "transB": 1}
    before = _gemm_pair(attrs, attrs)
    after, p = fuse(before)
    assert dict(p.counts) == {"fused_equal_gemm": 1}
    assert op_counts(after)["Gemm"] == 1
    assert [o.name for o in after.graph.output] == [o.name for o in before.graph.output]
    assert_same_outputs(before, after, exact=True)


def test_negated_branch_that_is_a_graph_output_keeps_its_name() -> None:
    before = _gemm_pair({}, {}, w2_scale=-1.0)
    after, p = fuse(before)
    assert dict(p.counts) == {"fused_negated_gemm": 1}
    assert [o.name for o in after.graph.output] == [o.name for o in before.graph.output]
    assert_same_outputs(before, after, exact=False)


def test_convs_with_different_pads_do_not_fuse() -> None:
    b = GraphBuilder(9)
    x = b.input((1, 3, 5, 5), "x")
    w = b.const(b.weight((4, 3, 3, 3)))
    z1 = b.node("Conv", [x, w], (1, 4, 5, 5), pads=[1, 1, 1, 1])
    z2 = b.node("Conv", [x, w], (1, 4, 3, 3), pads=[0, 0, 0, 0])
    before = b.model([z1, z2])
    after, p = fuse(before)
    assert not p.counts
    assert_same_outputs(before, after, exact=True)


def test_branches_of_different_inputs_do_not_fuse() -> None:
    b = GraphBuilder(10)
    x1, x2 = b.input((2, 5), "x1"), b.input((2, 5), "x2")
    w = b.weight((5, 4))
    before = b.model([b.matmul(x1, 4, w=b.const(w)), b.matmul(x2, 4, w=b.const(w.copy()))])
    after, p = fuse(before)
    assert not p.counts
    assert_same_outputs(before, after, exact=True)


def test_weights_from_graph_inputs_only_fuse_when_the_same_value() -> None:
    b = GraphBuilder(11)
    x = b.input((2, 5), "x")
    w1, w2 = b.input((5, 4), "w1"), b.input((5, 4), "w2")
    before = b.model([b.matmul(x, 4, w=w1), b.matmul(x, 4, w=w2), b.matmul(x, 4, w=w1)])
    after, p = fuse(before)
    assert dict(p.counts) == {"fused_same_matmul": 1}
    assert op_counts(after)["MatMul"] == 2
    assert_same_outputs(before, after, exact=True)


def test_duplicated_chain_fuses_layer_by_layer() -> None:
    # Naive two-branch LK-ReLU network: every layer computed twice from stored copies.
    b = GraphBuilder(12)
    x = b.input((2, 3, 4, 4), "x")
    h = x
    for _ in range(3):
        w = b.weight((4, b.shapes[h][1], 3, 3))
        bias = b.weight((4,))
        z1 = b.conv(h, 4, k=3, w=b.const(w), b=b.const(bias))
        z2 = b.conv(h, 4, k=3, w=b.const(w.copy()), b=b.const(bias.copy()))
        h = b.concat([b.unary("Relu", z1), b.unary("Relu", b.unary("Neg", z2))], 1)
    before = b.model([h])
    after, p = fuse(before)
    assert dict(p.counts) == {"fused_equal_conv": 3}
    assert op_counts(after)["Conv"] == 3
    assert_same_outputs(before, after, exact=True)
