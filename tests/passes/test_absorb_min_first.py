"""Min-max LK-ReLU with the min half first optimizes to no more nodes than the same
model with the max half first (no Neg, CastLike, Neg left), with the same outputs."""

from __future__ import annotations

import onnx
import pytest

from linkedonnx.passes.optimize import optimize
from tests.passes.graphs import GraphBuilder, linked_chain
from tests.passes.test_lower_forms import assert_same


def _optimized(model: onnx.ModelProto, target: str) -> onnx.ModelProto:
    out, _ = optimize(model, target=target, tune=False if target == "cpu" else None)
    assert_same(model, out)
    return out


def _ops(model: onnx.ModelProto) -> list[str]:
    return [n.op_type for n in model.graph.node]


@pytest.mark.parametrize("target", ["cpu", "cuda"])
def test_min_first_conv_chain_is_no_larger_than_max_first(target: str) -> None:
    min_first = _optimized(linked_chain(["minmax-negfirst"] * 2, channels=4), target)
    max_first = _optimized(linked_chain(["minmax"] * 2, channels=4), target)
    assert len(min_first.graph.node) <= len(max_first.graph.node), (
        _ops(min_first),
        _ops(max_first),
    )
    assert not {"Neg", "CastLike"} & set(_ops(min_first)), _ops(min_first)


def _pooled(spelling: str, dense: bool) -> onnx.ModelProto:
    """Conv -> spelling -> MaxPool -> Conv (a consumer that is not linear), or
    Conv -> spelling -> Flatten -> Gemm (a linear one through a flatten)."""
    b = GraphBuilder(5)
    x = b.input((2, 3, 4, 4), "x")
    y = b.spelling(spelling, b.conv(x, 4, k=3), 1)
    if dense:
        flat = b.node("Flatten", [y], (2, 128), axis=1)
        return b.model([b.gemm(flat, 5, b=b.const(b.weight((5,))))])
    p = b.node("MaxPool", [y], (2, 8, 2, 2), kernel_shape=[2, 2], strides=[2, 2])
    return b.model([b.conv(p, 3, k=1)])


@pytest.mark.parametrize("dense", [False, True], ids=["maxpool", "flatten-gemm"])
def test_min_first_before_other_consumers_is_no_larger(dense: bool) -> None:
    min_first = _optimized(_pooled("minmax-negfirst", dense), "cpu")
    max_first = _optimized(_pooled("minmax", dense), "cpu")
    assert len(min_first.graph.node) <= len(max_first.graph.node), (
        _ops(min_first),
        _ops(max_first),
    )
    assert "Neg" not in _ops(min_first), _ops(min_first)


def test_min_first_with_weights_fed_as_inputs_keeps_them() -> None:
    import numpy as np

    from tests.passes.graphs import random_feeds, run
    from tests.passes.lowering_graphs import new_weight_feeds, weights_as_inputs

    b = GraphBuilder(2)  # recognition's own form of min first: Neg(LinkedReluMinMax(Neg(z)))
    z = b.conv(b.input((2, 3, 4, 4), "x"), 4, k=3)
    y = b.unary("Neg", b.linked("relu-minmax", b.unary("Neg", z), 1))
    model = weights_as_inputs(b.model([b.conv(y, 3, k=1)]))
    out, report = optimize(model, tune=False)
    absorbed = next(s.counts for s in report.steps if s.name == "AbsorbMinFirst")
    assert absorbed and all(k.startswith("flattened:") for k in absorbed), absorbed
    assert all("is a graph input" in k for k in absorbed), absorbed
    feeds = {**random_feeds(model), **new_weight_feeds(model)}
    for want, have in zip(run(model, feeds), run(out, feeds, "all"), strict=True):
        np.testing.assert_allclose(have, want, atol=1e-5, rtol=1e-5)
