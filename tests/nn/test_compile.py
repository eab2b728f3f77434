"""A small model using every linked activation runs under torch.compile (CPU)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from linkedonnx.nn import Linked, LinkedPReLU, LinkedReLU, LinkedSELU, LinkedSwish


def _every_activation_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        LinkedReLU(axis=1),
        nn.Conv2d(8, 4, 3, padding=1),
        LinkedReLU(axis=1, policy="minmax"),
        nn.Conv2d(8, 4, 1),
        LinkedPReLU(num_parameters=4, axis=1),
        nn.Conv2d(8, 4, 1),
        LinkedSELU(axis=1),
        nn.Conv2d(8, 4, 1),
        LinkedSwish(axis=1),
        nn.Conv2d(8, 4, 1),
        Linked(torch.tanh, axis=1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 6),
        LinkedPReLU(num_parameters=6, axis=-1),
        nn.Linear(12, 5),
    )


@pytest.mark.slow
def test_every_linked_activation_compiles_without_graph_breaks() -> None:
    # One inductor compile (fullgraph: a graph break fails the test); inference only, as a
    # training compile costs about three times as long. Gradients are tested in eager mode.
    torch.manual_seed(0)
    model = _every_activation_model().eval()
    x = torch.randn(2, 3, 6, 6)
    x[0, :, 0, 0] = 0.0
    compiled = torch.compile(model, fullgraph=True, dynamic=False)
    with torch.no_grad():
        expected = model(x)
        got = compiled(x)
    assert got.shape == (2, 5)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
