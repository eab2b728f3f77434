"""Functional forms of the linked activations.

Every function takes the shared pre-activation ``z`` and returns the two halves
concatenated on ``axis`` (un-mirrored half first), so the result has twice the
size of ``z`` along ``axis``.

Subgradient at z = 0: torch's ``relu`` has derivative 0 at 0, which would leave both
halves of the mirror form without gradient there and break the linkage. The first
half is therefore written ``clamp(z, min=0)``, whose backward passes the gradient on
the closed interval: derivative 1 at z = 0. NaN propagates, and it exports to ONNX
as a plain ``Clip(z, 0)``, which ONNX Runtime fuses into the preceding Conv.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

MIRROR = "mirror"
MINMAX = "minmax"
POLICIES = (MIRROR, MINMAX)


def relu_right(z: Tensor) -> Tensor:
    """max(z, 0) with derivative 1 at z = 0 (right-continuous subgradient); NaN propagates."""
    return torch.clamp(z, min=0.0)


def linked(fn: Callable[[Tensor], Tensor], z: Tensor, axis: int = 1) -> Tensor:
    """Generic mirror linkage: ``cat([fn(z), fn(-z)], axis)`` for an elementwise ``fn``."""
    return torch.cat([fn(z), fn(-z)], dim=axis)


def lk_relu(z: Tensor, axis: int = 1, policy: str = MIRROR) -> Tensor:
    """LK-ReLU. ``mirror``: [relu(z), relu(-z)] (= CReLU); ``minmax``: [max(z,0), min(z,0)].

    Raises ValueError for an unknown policy.
    """
    if policy == MIRROR:
        return torch.cat([relu_right(z), F.relu(-z)], dim=axis)
    if policy == MINMAX:
        return torch.cat([relu_right(z), torch.clamp(z, max=0.0)], dim=axis)
    raise ValueError(f"unknown LK-ReLU policy {policy!r}; expected one of {', '.join(POLICIES)}")


def _broadcast_slope(slope: Tensor, z: Tensor, axis: int) -> Tensor:
    """Reshape a per-channel slope vector so it broadcasts along ``axis`` of ``z``; a
    slope of more than one dimension is per element (Keras' PReLU: the shape of ``z``
    from ``axis`` on) and is used as it is."""
    if slope.numel() == 1:
        return slope.reshape(())
    if slope.dim() > 1:
        return slope
    axis = axis % z.dim()
    shape = [1] * (z.dim() - axis)
    shape[0] = slope.numel()
    return slope.reshape(shape)


def prelu_right(z: Tensor, slope: Tensor, axis: int = 1) -> Tensor:
    """PReLU with per-channel ``slope`` along ``axis`` (or per-element, see
    :func:`_broadcast_slope`); derivative 1 at z = 0."""
    return torch.where(z < 0, z * _broadcast_slope(slope, z, axis), z)


def lk_prelu(z: Tensor, slope_pos: Tensor, slope_neg: Tensor, axis: int = 1) -> Tensor:
    """LK-PReLU: [prelu_a(z), prelu_b(-z)] with two independent slope sets a, b."""
    return torch.cat([prelu_right(z, slope_pos, axis), prelu_right(-z, slope_neg, axis)], dim=axis)


def lk_selu(z: Tensor, axis: int = 1) -> Tensor:
    """LK-SELU: [selu(z), selu(-z)]."""
    return linked(F.selu, z, axis)


def swish(z: Tensor) -> Tensor:
    """Swish / SiLU: z * sigmoid(z)."""
    return z * torch.sigmoid(z)


def lk_swish(z: Tensor, axis: int = 1) -> Tensor:
    """LK-Swish: [z*sigmoid(z), (-z)*sigmoid(-z)]."""
    return linked(swish, z, axis)
