"""Float16Pass via optimize(fp16=True): float16 weights and activations, float32 at the
boundary unless asked otherwise, parity within float16 tolerance on the CPU EP."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from linkedonnx.passes.optimize import optimize
from tests.passes.graphs import random_feeds, run
from tests.passes.lowering_graphs import allcnn_like

F16, F32 = onnx.TensorProto.FLOAT16, onnx.TensorProto.FLOAT


def io_types(model: onnx.ModelProto) -> tuple[set[int], set[int]]:
    return (
        {i.type.tensor_type.elem_type for i in model.graph.input},
        {o.type.tensor_type.elem_type for o in model.graph.output},
    )


@pytest.mark.parametrize("kind", ["relu", "prelu", "selu", "swish"])
@pytest.mark.parametrize("target", ["cuda", "cpu"])
def test_fp16_keeps_float32_io_and_matches_within_fp16_tolerance(kind: str, target: str) -> None:
    model = allcnn_like(kind, bn=True, seed=5)
    out, report = optimize(model, target=target, fp16=True)
    onnx.checker.check_model(out, full_check=True)
    assert io_types(out) == ({F32}, {F32})
    assert F32 not in {t.data_type for t in out.graph.initializer}
    assert report.steps[-1].name == "Float16" and report.steps[-1].counts["casts added"] == 2
    feeds = random_feeds(model)
    ref, got = run(model, feeds)[0], run(out, feeds, "all")[0]
    assert got.dtype == np.float32
    scale = float(np.abs(ref).max())
    np.testing.assert_allclose(got, ref, atol=2e-3 * scale, rtol=0)
    assert not np.array_equal(got, ref)  # it really ran in float16


def test_fp16_io_makes_the_boundary_float16() -> None:
    model = allcnn_like("relu", seed=6)
    out, _ = optimize(model, target="cuda", fp16=True, keep_io_float32=False)
    onnx.checker.check_model(out, full_check=True)
    assert io_types(out) == ({F16}, {F16})
    assert "Cast" not in {n.op_type for n in out.graph.node}
    feeds = random_feeds(model)
    ref = run(model, feeds)[0]
    got = run(out, {k: v.astype(np.float16) for k, v in feeds.items()}, "all")[0]
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.astype(np.float32), ref, atol=2e-3 * float(np.abs(ref).max()))
