"""LK-Swish: ``[z*sigmoid(z), (-z)*sigmoid(-z)]``, function ``LinkedSwish``."""

from __future__ import annotations

from typing import Any

from onnxscript import opset18 as op
from onnxscript import script

from linkedonnx.kinds.base import Activation, Half, LinkedKind, Lowering, linked_domain
from linkedonnx.kinds.spelling import Op, X


@script(linked_domain, default_opset=op)
def LinkedSwish(X, axis: int):
    """LK-Swish: Concat(X*Sigmoid(X), (-X)*Sigmoid(-X))."""
    neg = op.Neg(X)
    return op.Concat(op.Mul(X, op.Sigmoid(X)), op.Mul(neg, op.Sigmoid(neg)), axis=axis)


#: x * Sigmoid(x) (either operand order).
SWISH = Op("Mul", (X, Op("Sigmoid", (X,))))


def torch_linked(axis: int, original: Any = None, channels: int = 1) -> Any:
    """The torch module (torch imported here)."""
    from linkedonnx.nn import LinkedSwish

    return LinkedSwish(axis=axis)


def torch_single(channels: int) -> Any:
    """The zoo's plain Swish."""
    from linkedonnx.nn import Swish

    return Swish()


def torch_sources() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The torch activations linkify replaces by LK-Swish: (modules, functions)."""
    import torch.nn.functional as F
    from torch import nn

    from linkedonnx.nn import Swish

    return (nn.SiLU, Swish), (F.silu,)


KIND = LinkedKind(
    title="LK-Swish",
    name="swish",
    function=LinkedSwish,
    halves=(Half("swish", 1), Half("swish", -1)),
    activation=Activation("swish", ((1, None, SWISH),), nan_at_minus_inf=True),
    lowering=Lowering(elementwise=SWISH, dw=True, cpu_forms=("dw",)),
    int8_float_ops=("Sigmoid", "Mul"),
    int8_note="Sigmoid and Mul run in ORT's 8-bit kernels (QLinearSigmoid, QLinearMul)",
    zoo_name="swish",
    linkify_name="lk-swish",
    torch_linked=torch_linked,
    torch_single=torch_single,
    torch_sources=torch_sources,
)
