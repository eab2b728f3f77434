"""LK-PReLU: ``[prelu_a(z), prelu_b(-z)]`` with two slope sets, function ``LinkedPRelu``."""

from __future__ import annotations

from typing import Any

from onnxscript import opset18 as op
from onnxscript import script

from linkedonnx.kinds.base import Half, LinkedKind, Lowering, linked_domain
from linkedonnx.kinds.spelling import Op, X


@script(linked_domain, default_opset=op)
def LinkedPRelu(X, SlopePos, SlopeNeg, axis: int):
    """LK-PReLU: Concat(PRelu(X, SlopePos), PRelu(-X, SlopeNeg)); slopes broadcast to X."""
    return op.Concat(op.PRelu(X, SlopePos), op.PRelu(op.Neg(X), SlopeNeg), axis=axis)


def torch_linked(axis: int, original: Any = None, channels: int = 1) -> Any:
    """The torch module (torch imported here); an ``nn.PReLU`` it replaces (``original``)
    gives its slopes to the first half, else each half has ``channels`` slopes."""
    import torch
    from torch import nn

    from linkedonnx.nn import LinkedPReLU

    if isinstance(original, nn.PReLU):
        weight = original.weight.detach()
        linked = LinkedPReLU(num_parameters=weight.numel(), axis=axis, init=original.init)
        linked = linked.to(device=weight.device, dtype=weight.dtype)
        with torch.no_grad():
            linked.slope_pos.copy_(weight.reshape(-1))
        return linked
    return LinkedPReLU(num_parameters=channels, axis=axis)


def torch_single(channels: int) -> Any:
    """The zoo's plain per-channel PReLU."""
    from torch import nn

    return nn.PReLU(num_parameters=channels)


def torch_sources() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The torch activations linkify replaces by LK-PReLU: (modules, functions)."""
    from torch import nn

    return (nn.PReLU,), ()


KIND = LinkedKind(
    title="LK-PReLU",
    name="prelu",
    function=LinkedPRelu,
    halves=(Half("prelu", 1), Half("prelu", -1)),
    lowering=Lowering(elementwise=Op("PRelu", (X, "slope")), dw=True, cpu_forms=("split", "dw")),
    zoo_name="prelu",
    linkify_name="lk-prelu",
    torch_linked=torch_linked,
    torch_single=torch_single,
    torch_sources=torch_sources,
)
