"""The linkage property: for every input at least one half has a non-zero derivative
(z = 0 included), and NaN reaches both halves."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from linkedonnx.nn import LinkedPReLU, LinkedReLU, LinkedSELU, LinkedSwish

MODULES = {
    "relu-mirror": lambda: LinkedReLU(axis=-1),
    "relu-minmax": lambda: LinkedReLU(axis=-1, policy="minmax"),
    "prelu": lambda: LinkedPReLU(num_parameters=1, axis=-1),
    "prelu-zero-slopes": lambda: LinkedPReLU(num_parameters=1, axis=-1, init=0.0),
    "selu": lambda: LinkedSELU(axis=-1),
    "swish": lambda: LinkedSwish(axis=-1),
}


def _half_derivatives(module: nn.Module, z: Tensor) -> tuple[Tensor, Tensor]:
    """Elementwise derivatives d(first half)/dz and d(second half)/dz of a 1-D input."""
    z = z.clone().requires_grad_(True)
    out = module.to(z.dtype)(z)
    n = z.numel()
    (first,) = torch.autograd.grad(out[:n].sum(), z, retain_graph=True)
    (second,) = torch.autograd.grad(out[n:].sum(), z)
    return first, second


def _edges(dtype: torch.dtype, with_inf: bool) -> Tensor:
    info = torch.finfo(dtype)
    values = [0.0, -0.0, info.smallest_normal, -info.smallest_normal, info.tiny * info.eps]
    values += [-info.tiny * info.eps, 1e-30, -1e-30, 1e30, -1e30, info.max, -info.max]
    values += [1.0, -1.0]
    if with_inf:
        values += [math.inf, -math.inf]
    return torch.tensor(values, dtype=dtype)


def _assert_linked(module: nn.Module, z: Tensor) -> None:
    first, second = _half_derivatives(module, z)
    usable = (first.isfinite() & (first != 0)) | (second.isfinite() & (second != 0))
    bad = z[~usable].tolist()
    assert not bad, f"no half has a non-zero derivative at z = {bad}"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", sorted(MODULES))
def test_linkage_holds_on_edge_inputs(name: str, dtype: torch.dtype) -> None:
    # LK-Swish's ±inf is covered below: z·sigmoid(z) is inf·0 there.
    _assert_linked(MODULES[name](), _edges(dtype, with_inf=name != "swish"))


@pytest.mark.parametrize("name", sorted(MODULES))
def test_linkage_at_zero_uses_the_right_subgradient(name: str) -> None:
    first, second = _half_derivatives(MODULES[name](), torch.tensor([0.0, -0.0]))
    assert (first != 0).any() or (second != 0).any()
    if name.startswith(("relu", "prelu")):
        # The un-mirrored half takes derivative 1 at 0 (torch's relu would give 0).
        assert first.tolist() == [1.0, 1.0]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), min_size=1, max_size=16),
    st.sampled_from(sorted(MODULES)),
)
def test_linkage_holds_on_random_inputs(values: list[float], name: str) -> None:
    _assert_linked(MODULES[name](), torch.tensor(values, dtype=torch.float32))


@pytest.mark.parametrize("name", sorted(MODULES))
def test_nan_propagates_to_both_halves(name: str) -> None:
    z = torch.tensor([1.0, math.nan, -2.0, 0.0])
    out = MODULES[name]()(z)
    assert out.isnan().tolist() == [False, True, False, False] * 2


def test_swish_at_infinity_matches_torch_silu() -> None:
    # z·sigmoid(z) at -inf is -inf·0 = NaN in torch's own silu as in ours (and in the ONNX
    # function, Mul(X, Sigmoid(X))), so LK-Swish of ±inf has one NaN half; documented, not
    # special-cased, to keep the exported graph the plain Mul/Sigmoid pattern.
    z = torch.tensor([math.inf, -math.inf])
    out = LinkedSwish(axis=-1)(z)
    expected = torch.cat([F.silu(z), F.silu(-z)])
    assert torch.equal(out.isnan(), expected.isnan())
    assert torch.equal(out.nan_to_num(), expected.nan_to_num())
    assert out[~out.isnan()].tolist() == [math.inf, math.inf]
