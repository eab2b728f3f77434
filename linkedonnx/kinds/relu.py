"""LK-ReLU, mirror policy (CReLU): ``[relu(z), relu(-z)]``, function ``LinkedRelu``."""

from __future__ import annotations

from typing import Any

from onnxscript import opset18 as op
from onnxscript import script

from linkedonnx.kinds.base import UNSIGNED, Half, LinkedKind, Lowering, linked_domain
from linkedonnx.kinds.spelling import Op, X


@script(linked_domain, default_opset=op)
def LinkedRelu(X, axis: int):
    """LK-ReLU, mirror policy: Concat(Relu(X), Relu(-X))."""
    return op.Concat(op.Relu(X), op.Relu(op.Neg(X)), axis=axis)


def torch_linked(axis: int, original: Any = None, channels: int = 1) -> Any:
    """The torch module (torch imported here)."""
    from linkedonnx.nn import LinkedReLU

    return LinkedReLU(axis=axis)


def torch_single(channels: int) -> Any:
    """The zoo's plain ReLU."""
    from torch import nn

    return nn.ReLU()


def torch_sources() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The torch activations linkify replaces by LK-ReLU: (modules, functions)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    return (nn.ReLU,), (F.relu, torch.relu, F.relu_, torch.relu_, "relu", "relu_")


KIND = LinkedKind(
    title="LK-ReLU",
    name="relu",
    function=LinkedRelu,
    halves=(Half("relu", 1), Half("relu", -1)),
    lowering=Lowering(
        elementwise=Op("Relu", (X,)),
        coefficients=((1.0, 0.0), (0.0, 1.0)),
        dw=True,
        cpu_forms=("split", "dw"),
    ),
    recognition=("mirror", "crelu"),
    int8_range=UNSIGNED,
    zoo_name="relu",
    linkify_name="lk-relu",
    torch_linked=torch_linked,
    torch_single=torch_single,
    torch_sources=torch_sources,
)
