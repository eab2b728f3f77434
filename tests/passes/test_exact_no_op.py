"""Exact no-op rules: a multiply or divide by exactly 1 and an add or subtract of exactly
0 become Identity (outputs unchanged in ONNX Runtime); near misses, constants that are
graph inputs and constants that would broadcast x to a higher rank stay."""

from __future__ import annotations

import numpy as np
import onnx
import onnx_ir as ir
import pytest

from linkedonnx.passes.cleanup import CleanupPass
from tests.passes.graphs import GraphBuilder, run

FEEDS = {"x": np.array([[3.0e38, 1.0, -7.5], [1e-3, np.inf, np.nan]], np.float32)}


def _model(op: str, constant: np.ndarray, constant_first: bool) -> onnx.ModelProto:
    b = GraphBuilder(0)
    x = b.input((2, 3), "x")
    c = b.const(constant)
    y = b.binary(op, c, x) if constant_first else b.binary(op, x, c)
    return b.model([b.unary("Relu", y)])


def _cleaned(model: onnx.ModelProto) -> onnx.ModelProto:
    out = ir.to_proto(CleanupPass()(ir.from_proto(model)).model)
    onnx.checker.check_model(out, full_check=True)
    return out


@pytest.mark.parametrize(
    ("op", "neutral", "constant_first"),
    [("Mul", 1, False), ("Mul", 1, True), ("Div", 1, False), ("Add", 0, False),
     ("Add", 0, True), ("Sub", 0, False)],
)  # fmt: skip
@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_an_exact_neutral_constant_is_dropped(
    op: str, neutral: float, constant_first: bool, shape: tuple[int, ...]
) -> None:
    model = _model(op, np.full(shape, neutral, np.float32), constant_first)
    out = _cleaned(model)
    assert [n.op_type for n in out.graph.node] == ["Relu"]
    np.testing.assert_array_equal(run(out, FEEDS)[0], run(model, FEEDS)[0])


@pytest.mark.parametrize(
    ("op", "constant"),
    [
        ("Mul", np.nextafter(np.float32(1), np.float32(2))),
        ("Mul", np.float32(1.000001)),
        ("Div", np.float32(0.99999)),
        ("Add", np.float32(1e-30)),
        ("Sub", np.float32(-1e-45)),
        ("Mul", np.ones((1, 1, 1), np.float32)),  # rank 3 > x's rank 2: y has rank 3
        ("Mul", np.array([1.0, 2.0, 1.0], np.float32)),
    ],
)
def test_a_near_miss_or_a_broadcasting_constant_stays(op: str, constant: np.ndarray) -> None:
    model = _model(op, np.asarray(constant), constant_first=False)
    out = _cleaned(model)
    assert [n.op_type for n in out.graph.node] == [op, "Relu"]
    want, got = run(model, FEEDS)[0], run(out, FEEDS)[0]
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
