"""Six ways to write a linked activation in PyTorch, each exported flat by the legacy
exporter at opset 13 (initializers as inputs) and at opset 17 and by the dynamo exporter:
``convert`` finds the linkage in all 18 files, and ONNX Runtime gives the same outputs
before and after convert and after ``optimize(target='cpu')``.

The spellings: ``cat`` of relu halves, ``clamp`` min-max, ``torch.where(z > 0, z,
zeros_like(z))`` as the first half, ``-relu(-z)`` as the second half (min-max), and the
SiLU and SELU mirrors. Each model is a tiny conv followed by the activation; each file is
exported once per module (fixture).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F
from graphs import count_linked, run
from torch import Tensor, nn

from linkedonnx.passes.convert import convert
from linkedonnx.passes.optimize import optimize

#: spelling -> (the activation of z, the linked function convert must find).
SPELLINGS: dict[str, tuple[Callable[[Tensor], Tensor], str]] = {
    "cat-relu": (lambda z: torch.cat([F.relu(z), F.relu(-z)], 1), "LinkedRelu"),
    "clamp-minmax": (
        lambda z: torch.cat([torch.clamp(z, min=0), torch.clamp(z, max=0)], 1),
        "LinkedReluMinMax",
    ),
    "where": (
        lambda z: torch.cat([torch.where(z > 0, z, torch.zeros_like(z)), F.relu(-z)], 1),
        "LinkedRelu",
    ),
    "neg-relu-neg": (lambda z: torch.cat([F.relu(z), -F.relu(-z)], 1), "LinkedReluMinMax"),
    "silu": (lambda z: torch.cat([F.silu(z), F.silu(-z)], 1), "LinkedSwish"),
    "selu": (lambda z: torch.cat([F.selu(z), F.selu(-z)], 1), "LinkedSelu"),
}
EXPORTERS = ["legacy-13", "legacy-17", "dynamo"]
INPUT = (1, 3, 4, 4)


class ConvThen(nn.Module):
    """A 1x1 conv, then ``act``."""

    def __init__(self, act: Callable[[Tensor], Tensor]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.act = act

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.conv(x))


def export(spelling: str, exporter: str) -> onnx.ModelProto:
    """Export the spelling's tiny model with ``exporter``."""
    torch.manual_seed(0)
    module = ConvThen(SPELLINGS[spelling][0]).eval()
    x = torch.randn(INPUT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "dynamo":
            return torch.onnx.export(module, (x,), dynamo=True, verbose=False).model_proto
        buf = io.BytesIO()
        opset = int(exporter.split("-")[1])
        torch.onnx.export(
            module,
            (x,),
            buf,
            opset_version=opset,
            dynamo=False,
            keep_initializers_as_inputs=opset == 13,
        )
    return onnx.load_from_string(buf.getvalue())


@pytest.fixture(scope="module", params=[(s, e) for s in SPELLINGS for e in EXPORTERS], ids=str)
def exported(request: pytest.FixtureRequest) -> tuple[str, onnx.ModelProto]:
    spelling, exporter = request.param
    return spelling, export(spelling, exporter)


def test_convert_finds_the_linkage(exported: tuple[str, onnx.ModelProto]) -> None:
    spelling, model = exported
    assert not count_linked(model)
    converted, _ = convert(model)
    onnx.checker.check_model(converted, full_check=True)
    assert count_linked(converted) == {SPELLINGS[spelling][1]: 1}
    assert {n.op_type for n in converted.graph.node} <= {"Conv", SPELLINGS[spelling][1]}
    x = np.random.default_rng(0).standard_normal(INPUT).astype(np.float32)
    x.flat[:4] = [0.0, -0.0, 3e38, -3e38]
    feeds = {model.graph.input[0].name: x}
    (before,) = run(model, feeds)
    (after,) = run(converted, feeds)
    np.testing.assert_array_equal(after, before)
    optimized, _ = optimize(model, target="cpu", tune=False)
    (lowered,) = run(optimized, feeds)
    np.testing.assert_allclose(lowered, before, rtol=1e-5, atol=1e-5)
