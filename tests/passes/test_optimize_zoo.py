"""optimize() on real zoo exports: one linked model per family, together covering every
activation kind and BN on/off, at a small image size (exports dominate the time).
Outputs match the function-form export in ORT (float32, atol=rtol=1e-5), pass the full
ONNX check and hold no linkedonnx node."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch")

from linkedonnx.export import export_model  # noqa: E402
from linkedonnx.zoo import ModelSpec, build  # noqa: E402
from tests.passes.graphs import random_feeds, run  # noqa: E402
from tests.passes.test_lower_forms import lowered  # noqa: E402

MODELS = (
    "allcnn/lk-relu-bn",
    "resnet/lk-selu",
    "width/lk-prelu",
    "depth/lk-swish",
    "params/lk-relu-minmax-bn",
)


@pytest.fixture(scope="module")
def exports() -> dict[str, onnx.ModelProto]:
    out = {}
    for name in MODELS:
        torch.manual_seed(0)
        spec = ModelSpec(name, image_size=8)
        module = build(spec).eval()
        out[name] = export_model(module, spec, batch=2).model
    return out


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("target", ["cpu", "cuda"])
def test_zoo_model_optimizes_exactly(exports: dict, name: str, target: str) -> None:
    model = exports[name]
    out, counts = lowered(model, target=target)
    assert sum(v for k, v in counts.items() if not k.startswith("skipped")) > 0
    if target == "cpu" and name.startswith("allcnn"):
        assert not any(k.endswith(":inline") for k in counts), counts
    if target == "cpu" and name == "width/lk-prelu":  # through torch's view(-1, K) to fc
        assert counts == {"prelu:split": 1}, counts
    if target == "cuda":
        assert all(k.endswith(":inline") for k in counts), counts
    feeds = {k: np.repeat(v, 3, axis=0) for k, v in random_feeds(model, seed=1).items()}
    for x, y in zip(run(model, feeds), run(out, feeds, "all"), strict=True):
        np.testing.assert_allclose(y, x, atol=1e-5, rtol=1e-5)
