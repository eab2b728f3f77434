"""Linked activations: exact outputs against an independent float64 reference,
gradcheck, both concatenation axes, LK-PReLU's two slope sets, bad policy."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from linkedonnx.nn import (
    Linked,
    LinkedActivation,
    LinkedPReLU,
    LinkedReLU,
    LinkedSELU,
    LinkedSwish,
    Swish,
    linked,
    lk_prelu,
    lk_relu,
    lk_selu,
    lk_swish,
    swish,
)
from tests.nn import reference as ref

SLOPE_POS = np.array([0.1, 0.25, -0.5, 2.0])
SLOPE_NEG = np.array([0.3, 0.0, 0.7, -1.5])


def _prelu_module(channels: int, axis: int) -> LinkedPReLU:
    module = LinkedPReLU(num_parameters=channels, axis=axis).double()
    with torch.no_grad():
        module.slope_pos.copy_(torch.from_numpy(SLOPE_POS[:channels]))
        module.slope_neg.copy_(torch.from_numpy(SLOPE_NEG[:channels]))
    return module


#: name -> (module factory (channels, axis), reference (z, axis))
CASES: dict[
    str, tuple[Callable[[int, int], nn.Module], Callable[[np.ndarray, int], np.ndarray]]
] = {
    "relu-mirror": (lambda c, a: LinkedReLU(axis=a), lambda z, a: ref.lk_relu(z, a)),
    "relu-minmax": (
        lambda c, a: LinkedReLU(axis=a, policy="minmax"),
        lambda z, a: ref.lk_relu(z, a, "minmax"),
    ),
    "selu": (lambda c, a: LinkedSELU(axis=a), ref.lk_selu),
    "swish": (lambda c, a: LinkedSwish(axis=a), ref.lk_swish),
    "prelu": (
        _prelu_module,
        lambda z, a: ref.lk_prelu(z, SLOPE_POS[: z.shape[a]], SLOPE_NEG[: z.shape[a]], a),
    ),
    "generic-tanh": (
        lambda c, a: Linked(torch.tanh, axis=a),
        lambda z, a: np.concatenate([np.tanh(z), np.tanh(-z)], axis=a),
    ),
}

#: (input shape, axis): NCHW on the channel axis, dense and channels-last on the last.
LAYOUTS = [((2, 4, 3, 5), 1), ((3, 4), -1), ((2, 3, 5, 4), -1), ((2, 4, 3, 5), -3)]


def _inputs(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(shape) * 3.0
    flat = z.reshape(-1)
    flat[:6] = [0.0, -0.0, 1e-300, -1e-300, 40.0, -40.0]  # exact zeros and extremes
    return z


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda v: f"{v[0]}@{v[1]}")
@pytest.mark.parametrize("case", sorted(CASES))
def test_float64_outputs_match_reference(case: str, layout: tuple[tuple[int, ...], int]) -> None:
    shape, axis = layout
    make, reference = CASES[case]
    z = _inputs(shape)
    module = make(shape[axis], axis).double()
    got = module(torch.from_numpy(z)).detach().numpy()
    expected = reference(z, axis)
    out_shape = list(shape)
    out_shape[axis] *= 2
    assert got.shape == tuple(out_shape)
    if case.startswith(("relu", "prelu")):
        np.testing.assert_array_equal(got, expected)  # piecewise linear: bit-exact
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_close_to_float64_reference(case: str) -> None:
    make, reference = CASES[case]
    z = _inputs((4, 4, 6, 6), seed=1)
    module = make(4, 1).float()
    got = module(torch.from_numpy(z).float()).detach().double().numpy()
    np.testing.assert_allclose(
        got, reference(z.astype(np.float32).astype(np.float64), 1), rtol=2e-6, atol=1e-6
    )


def test_halves_are_in_order_on_the_requested_axis() -> None:
    z = torch.tensor([[1.0, -2.0, 0.5]])
    out = lk_relu(z, axis=-1)
    assert out.tolist() == [[1.0, 0.0, 0.5, 0.0, 2.0, 0.0]]
    nchw = torch.tensor([1.0, -2.0]).reshape(1, 2, 1, 1)
    assert lk_relu(nchw, axis=1).reshape(-1).tolist() == [1.0, 0.0, 0.0, 2.0]
    assert lk_relu(nchw, axis=1, policy="minmax").reshape(-1).tolist() == [1.0, 0.0, 0.0, -2.0]


def test_functional_forms_equal_modules() -> None:
    z = torch.from_numpy(_inputs((2, 4, 3, 3), seed=2))
    assert torch.equal(lk_selu(z, 1), LinkedSELU(1)(z))
    assert torch.equal(lk_swish(z, 1), LinkedSwish(1)(z))
    assert torch.equal(swish(z), Swish()(z))
    assert torch.equal(linked(torch.sin, z, 1), Linked(torch.sin, 1)(z))
    module = _prelu_module(4, 1)
    assert torch.equal(lk_prelu(z, module.slope_pos, module.slope_neg, 1), module(z))


def _kink_free(shape: tuple[int, ...], seed: int) -> Tensor:
    """Random float64 values at least 0.05 away from 0, the only kink of these functions."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(shape, generator=g, dtype=torch.float64)
    z = torch.where(z.abs() < 0.05, z.sign() * 0.05 + z, z)
    return z.requires_grad_(True)


@pytest.mark.parametrize("layout", [((2, 3, 2, 2), 1), ((3, 4), -1)], ids=["nchw", "dense"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_gradcheck_float64(case: str, layout: tuple[tuple[int, ...], int]) -> None:
    shape, axis = layout
    make, _ = CASES[case]
    module = make(shape[axis], axis).double()
    z = _kink_free(shape, seed=3)
    assert torch.autograd.gradcheck(module, (z,), eps=1e-6, atol=1e-8)
    assert torch.autograd.gradgradcheck(module, (z,), eps=1e-6, atol=1e-7)


def test_gradcheck_prelu_slopes() -> None:
    z = _kink_free((2, 3, 2, 2), seed=4)
    pos = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64, requires_grad=True)
    neg = torch.tensor([0.5, -0.2, 1.3], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda z, p, n: lk_prelu(z, p, n, 1), (z, pos, neg))
    zd = _kink_free((4, 3), seed=5)
    assert torch.autograd.gradcheck(lambda z, p, n: lk_prelu(z, p, n, -1), (zd, pos, neg))


def test_prelu_slopes_are_independent_and_learnable() -> None:
    module = LinkedPReLU(num_parameters=3, axis=1, init=0.25)
    params = dict(module.named_parameters())
    assert set(params) == {"slope_pos", "slope_neg"}
    assert all(p.requires_grad and p.shape == (3,) for p in params.values())
    assert module.slope_pos.data_ptr() != module.slope_neg.data_ptr()

    z = torch.tensor([-1.0, -2.0, 3.0]).reshape(1, 3, 1, 1)
    # A loss on the first half only reaches slope_pos, and only through negative z.
    module(z)[:, :3].sum().backward()
    assert module.slope_pos.grad.tolist() == [-1.0, -2.0, 0.0]
    assert module.slope_neg.grad.tolist() == [0.0, 0.0, 0.0]
    module.zero_grad()
    # A loss on the second half reaches only slope_neg, through positive z (where -z < 0).
    module(z)[:, 3:].sum().backward()
    assert module.slope_pos.grad.tolist() == [0.0, 0.0, 0.0]
    assert module.slope_neg.grad.tolist() == [0.0, 0.0, -3.0]

    # A training step moves the two sets apart.
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    optimizer.zero_grad()
    (module(z)[:, :3].sum() - module(z)[:, 3:].sum()).backward()
    optimizer.step()
    assert not torch.equal(module.slope_pos, module.slope_neg)
    assert module.slope_pos.tolist() == pytest.approx([0.35, 0.45, 0.25])
    assert module.slope_neg.tolist() == pytest.approx([0.25, 0.25, -0.05])


def test_prelu_slopes_follow_the_axis() -> None:
    module = _prelu_module(4, -1)
    z = -torch.ones(2, 3, 4, dtype=torch.float64)
    out = module(z)
    assert out[..., :4].tolist() == [[(-SLOPE_POS).tolist()] * 3] * 2
    assert out[..., 4:].tolist() == [[[1.0] * 4] * 3] * 2


def test_invalid_policy_raises() -> None:
    with pytest.raises(ValueError, match="policy"):
        LinkedReLU(policy="maxmin")
    with pytest.raises(ValueError, match="policy"):
        lk_relu(torch.zeros(2), axis=0, policy="crelu")


def test_kinds_and_repr() -> None:
    kinds = {
        LinkedReLU(): "relu",
        LinkedPReLU(): "prelu",
        LinkedSELU(): "selu",
        LinkedSwish(): "swish",
        Linked(torch.tanh): "generic",
    }
    for module, kind in kinds.items():
        assert isinstance(module, LinkedActivation)
        assert module.kind == kind
        assert module.axis == 1
    assert "minmax" in repr(LinkedReLU(axis=-1, policy="minmax"))
    assert "axis=-1" in repr(LinkedSwish(axis=-1))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("case", sorted(CASES))
def test_cuda_matches_cpu(case: str) -> None:
    make, _ = CASES[case]
    module = make(4, 1).double()
    z = torch.from_numpy(_inputs((2, 4, 3, 3), seed=6)).requires_grad_(True)
    expected = module(z)
    (expected_grad,) = torch.autograd.grad(expected.square().sum(), z)
    z_cuda = z.detach().cuda().requires_grad_(True)
    got = module.cuda()(z_cuda)
    (got_grad,) = torch.autograd.grad(got.square().sum(), z_cuda)
    torch.testing.assert_close(got.cpu(), expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got_grad.cpu(), expected_grad, rtol=1e-12, atol=1e-12)
