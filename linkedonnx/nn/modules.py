"""Linked activations as torch modules (see :mod:`linkedonnx.nn.functional`).

Each module doubles the size of its input along ``axis``: 1 for NCHW feature maps,
-1 for dense layers and channels-last inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from linkedonnx.nn import functional as LF


class LinkedActivation(nn.Module):
    """Base class: a linked activation concatenating its two halves on ``axis``."""

    #: Short name used by the zoo and the exporter ("relu", "prelu", ...).
    kind: str = "linked"

    def __init__(self, axis: int = 1) -> None:
        super().__init__()
        self.axis = axis

    @property
    def export_kind(self) -> str:
        """The registered linked kind this module computes ('relu-minmax' for min-max
        LK-ReLU; :attr:`kind` otherwise)."""
        return self.kind

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class KindActivation(LinkedActivation):
    """A linked activation of a registered kind that has no class of its own here: its
    ``forward(z, axis)`` comes from the kind's module (:mod:`linkedonnx.kinds`), which
    builds this module; ``kind`` is the kind's name."""

    kind = "registered"

    def __init__(self, kind: str, forward: Callable[[Tensor, int], Tensor], axis: int = 1) -> None:
        super().__init__(axis)
        self.kind = kind
        self.kind_forward = forward

    def forward(self, z: Tensor) -> Tensor:
        return self.kind_forward(z, self.axis)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, axis={self.axis}"


class LinkedReLU(LinkedActivation):
    """LK-ReLU; ``policy`` is 'mirror' ([relu(z), relu(-z)], CReLU) or 'minmax'."""

    kind = "relu"

    def __init__(self, axis: int = 1, policy: str = LF.MIRROR) -> None:
        super().__init__(axis)
        if policy not in LF.POLICIES:
            raise ValueError(
                f"unknown LK-ReLU policy {policy!r}; expected one of {', '.join(LF.POLICIES)}"
            )
        self.policy = policy

    @property
    def export_kind(self) -> str:
        return "relu-minmax" if self.policy == LF.MINMAX else "relu"

    def forward(self, z: Tensor) -> Tensor:
        return LF.lk_relu(z, self.axis, self.policy)

    def extra_repr(self) -> str:
        return f"axis={self.axis}, policy={self.policy!r}"


class LinkedPReLU(LinkedActivation):
    """LK-PReLU: two independent learnable slope sets, per channel (``num_parameters``
    each) or, given a shape tuple, per element as Keras' PReLU (the input's shape from
    ``axis`` on, e.g. (C, H, W))."""

    kind = "prelu"

    def __init__(
        self, num_parameters: int | tuple[int, ...] = 1, axis: int = 1, init: float = 0.25
    ) -> None:
        super().__init__(axis)
        shape = (num_parameters,) if isinstance(num_parameters, int) else tuple(num_parameters)
        self.slope_pos = nn.Parameter(torch.full(shape, float(init)))
        self.slope_neg = nn.Parameter(torch.full(shape, float(init)))

    def forward(self, z: Tensor) -> Tensor:
        return LF.lk_prelu(z, self.slope_pos, self.slope_neg, self.axis)

    def extra_repr(self) -> str:
        shape = self.slope_pos.shape
        size = shape[0] if len(shape) == 1 else tuple(shape)
        return f"num_parameters={size}, axis={self.axis}"


class LinkedSELU(LinkedActivation):
    """LK-SELU: [selu(z), selu(-z)]."""

    kind = "selu"

    def forward(self, z: Tensor) -> Tensor:
        return LF.lk_selu(z, self.axis)


class LinkedSwish(LinkedActivation):
    """LK-Swish: [z*sigmoid(z), (-z)*sigmoid(-z)]."""

    kind = "swish"

    def forward(self, z: Tensor) -> Tensor:
        return LF.lk_swish(z, self.axis)


class Linked(LinkedActivation):
    """Mirror linkage of any elementwise activation ``fn``: [fn(z), fn(-z)].

    Exported to ONNX as the flat ops of ``fn`` (no named function exists for an
    arbitrary callable).
    """

    kind = "generic"

    def __init__(self, fn: Callable[[Tensor], Tensor], axis: int = 1) -> None:
        super().__init__(axis)
        self.fn = fn

    def forward(self, z: Tensor) -> Tensor:
        return LF.linked(self.fn, z, self.axis)

    def extra_repr(self) -> str:
        return f"fn={getattr(self.fn, '__name__', self.fn)!r}, axis={self.axis}"


class ElementPReLU(nn.Module):
    """Plain PReLU with one learnable slope per element, as Keras' ``PReLU()`` (slopes of
    ``shape``, the input's shape without the batch axis, starting at ``init``; Keras
    starts them at 0, so the layer starts as a ReLU). Derivative 1 at z = 0."""

    def __init__(self, shape: tuple[int, ...], init: float = 0.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.full(tuple(shape), float(init)))

    def forward(self, z: Tensor) -> Tensor:
        return LF.prelu_right(z, self.weight, 1)

    def extra_repr(self) -> str:
        return f"shape={tuple(self.weight.shape)}"


class Swish(nn.Module):
    """Plain (single) Swish, z * sigmoid(z), for the non-linked baselines."""

    def forward(self, z: Tensor) -> Tensor:
        return LF.swish(z)
