"""LK-SELU: ``[selu(z), selu(-z)]``, function ``LinkedSelu``."""

from __future__ import annotations

from typing import Any

import numpy as np
from onnxscript import opset18 as op
from onnxscript import script

from linkedonnx.kinds.base import Activation, Half, LinkedKind, Lowering, linked_domain
from linkedonnx.kinds.spelling import Op, X

#: ONNX Selu defaults (the function body's).
SELU_ALPHA = np.float32(1.67326319217681884765625)
SELU_GAMMA = np.float32(1.05070102214813232421875)


@script(linked_domain, default_opset=op)
def LinkedSelu(X, axis: int):
    """LK-SELU: Concat(Selu(X), Selu(-X))."""
    return op.Concat(op.Selu(X), op.Selu(op.Neg(X)), axis=axis)


#: Selu with the default alpha and gamma (given or left out).
SELU = Op("Selu", (X,), (("alpha", float(SELU_ALPHA)), ("gamma", float(SELU_GAMMA))))


def torch_linked(axis: int, original: Any = None, channels: int = 1) -> Any:
    """The torch module (torch imported here)."""
    from linkedonnx.nn import LinkedSELU

    return LinkedSELU(axis=axis)


def torch_single(channels: int) -> Any:
    """The zoo's plain SELU."""
    from torch import nn

    return nn.SELU()


def torch_sources() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The torch activations linkify replaces by LK-SELU: (modules, functions)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    return (nn.SELU,), (F.selu, torch.selu, torch.selu_)


KIND = LinkedKind(
    title="LK-SELU",
    name="selu",
    function=LinkedSelu,
    halves=(Half("selu", 1), Half("selu", -1)),
    activation=Activation("selu", ((1, None, SELU),), overflows=True),
    lowering=Lowering(elementwise=Op("Selu", (X,))),
    int8_float_ops=("Selu", "Elu"),
    int8_note="Selu runs in ORT's 8-bit kernels",
    zoo_name="selu",
    linkify_name="lk-selu",
    torch_linked=torch_linked,
    torch_single=torch_single,
    torch_sources=torch_sources,
)
