"""The CUDA lowering inlines every linked node (ORT issue 27873) and stays exact; checked
on the CPU EP since no GPU build of ONNX Runtime is used here."""

from __future__ import annotations

import pytest

from tests.passes.lowering_graphs import allcnn_like
from tests.passes.test_lower_forms import KINDS, assert_same, lowered


@pytest.mark.parametrize("kind", KINDS)
def test_cuda_target_inlines_and_matches(kind: str) -> None:
    model = allcnn_like(kind, bn=True, seed=7)
    out, counts = lowered(model, target="cuda")
    assert counts == {f"{kind}:inline": 3}
    assert "Concat" in {n.op_type for n in out.graph.node}
    assert_same(model, out)
