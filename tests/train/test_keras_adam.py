"""Keras 2's Adam: two steps checked against the update computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from linkedonnx.train import TrainConfig
from linkedonnx.train.keras_adam import KERAS_EPSILON, KerasAdam
from linkedonnx.train.trainer import make_optimizer


def test_two_steps_match_the_hand_computed_keras_update() -> None:
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-3  # a large eps makes its placement visible
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    opt = KerasAdam([p], lr=lr, betas=(b1, b2), eps=eps)
    grads = [[0.5, -0.25], [-1.0, 0.125]]
    # by hand, element by element: Keras 2's get_updates
    expected, m, v, w = [], [0.0, 0.0], [0.0, 0.0], [1.0, -2.0]
    for t, g in enumerate(grads, start=1):
        lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        for i in range(2):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2
            w[i] = w[i] - lr_t * m[i] / (math.sqrt(v[i]) + eps)
        expected.append(list(w))
    # step 1 written out: m = 0.05, v = 0.00025, lr_t = 0.1 * sqrt(0.001) / 0.1
    assert expected[0][0] == pytest.approx(
        1.0 - math.sqrt(0.001) * 0.05 / (math.sqrt(0.00025) + eps)
    )
    for g, want in zip(grads, expected, strict=True):
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        assert p.detach().tolist() == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_differs_from_torch_adam_by_where_eps_goes() -> None:
    """Same lr and betas: torch's Adam with eps' = eps / sqrt(1 - b2^t) gives Keras' step."""
    eps = 1e-3
    a = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    b = torch.nn.Parameter(a.detach().clone())
    keras = KerasAdam([a], lr=0.1, eps=eps)
    torch_adam = torch.optim.Adam([b], lr=0.1, eps=eps / math.sqrt(1 - 0.999))
    for p in (a, b):
        p.grad = torch.tensor([0.5, -0.25], dtype=torch.float64)
    keras.step()
    torch_adam.step()
    assert a.detach().tolist() == pytest.approx(b.detach().tolist(), rel=1e-12)
    plain = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    plain.grad = torch.tensor([0.5, -0.25], dtype=torch.float64)
    torch.optim.Adam([plain], lr=0.1, eps=eps).step()
    assert plain.detach().tolist() != pytest.approx(a.detach().tolist(), rel=1e-6)


def test_trainer_builds_it_and_rejects_bad_settings() -> None:
    params = [torch.nn.Parameter(torch.zeros(2))]
    config = TrainConfig(model="depth/relu", optimizer="adam-keras", lr=1e-3)
    opt = make_optimizer(config.validate(), params)
    assert isinstance(opt, KerasAdam) and opt.defaults["eps"] == KERAS_EPSILON == 1e-8
    with pytest.raises(ValueError):
        KerasAdam(params, betas=(1.0, 0.999))
