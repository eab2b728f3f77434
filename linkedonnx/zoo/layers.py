"""Building blocks shared by the zoo families: activations by name, conv (+BN) (+act) units.

Every family builds its layers through :class:`Activations`, so the single, linked
and extended forms differ only where the paper says they differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from linkedonnx.kinds import zoo_kind
from linkedonnx.zoo.naming import MIRROR, ModelName

SQRT2 = math.sqrt(2.0)


def sqrt2_width(n: int) -> int:
    """The authors' √2 widening: ``int(n * sqrt(2))`` (4 -> 5, 32 -> 45, 96 -> 135)."""
    return int(n * SQRT2)


def plain_activation(activation: str, channels: int) -> nn.Module:
    """A single (non-linked) activation module: the plain activation of the registry's
    kind of that zoo name (ReLU, per-channel PReLU, SELU, Swish ...). Raises ValueError
    for an unknown activation."""
    single = zoo_kind(activation).torch_single
    if single is None:
        raise ValueError(f"no plain activation for {activation!r}")
    return single(channels)


def linked_activation(
    activation: str, channels: int, axis: int = 1, policy: str | None = MIRROR
) -> nn.Module:
    """A linked activation module doubling ``channels`` along ``axis`` (the registry's
    kind of that zoo name and policy). Raises ValueError for an unknown activation."""
    return zoo_kind(activation, policy).torch_linked(axis, None, channels)


@dataclass(frozen=True)
class Activations:
    """Activation factory for one parsed model name.

    ``make(channels, axis)`` returns the name's activation (linked for the ``lk-`` form)
    and ``factor`` is how many channels it outputs per input channel (2 when linked).
    """

    model: ModelName

    @property
    def factor(self) -> int:
        """Output channels per input channel of :meth:`make`'s module."""
        return 2 if self.model.linked else 1

    def make(self, channels: int, axis: int = 1) -> nn.Module:
        """The name's activation for ``channels`` channels on ``axis`` (1 for NCHW, -1 dense)."""
        if self.model.linked:
            return linked_activation(self.model.activation, channels, axis, self.model.policy)
        return plain_activation(self.model.activation, channels)

    def plain(self, channels: int) -> nn.Module:
        """The name's activation in single form, whatever the model's form."""
        return plain_activation(self.model.activation, channels)


def conv_unit(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    *,
    stride: int = 1,
    padding: int = 0,
    batch_norm: bool = False,
    activation: nn.Module | None = None,
) -> nn.Sequential:
    """Conv2d -> (BatchNorm2d) -> (activation) as an ``nn.Sequential``.

    The conv has a bias only without BN (BN's shift makes it redundant).
    """
    layers: list[nn.Module] = [
        nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            bias=not batch_norm,
        )
    ]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    if activation is not None:
        layers.append(activation)
    return nn.Sequential(*layers)
