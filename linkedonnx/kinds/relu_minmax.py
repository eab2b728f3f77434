"""LK-ReLU, min-max policy: ``[max(z, 0), min(z, 0)]``, function ``LinkedReluMinMax``."""

from __future__ import annotations

from typing import Any

from onnxscript import opset18 as op
from onnxscript import script

from linkedonnx.kinds.base import UNSIGNED, Half, LinkedKind, Lowering, linked_domain
from linkedonnx.kinds.spelling import Op, X


@script(linked_domain, default_opset=op)
def LinkedReluMinMax(X, axis: int):
    """LK-ReLU, min-max policy: Concat(Max(X, 0), Min(X, 0))."""
    zero = op.CastLike(op.Constant(value_float=0.0), X)
    return op.Concat(op.Relu(X), op.Min(X, zero), axis=axis)


@script(linked_domain, default_opset=op)
def LinkedReluMinMaxBeforeCastLike(X, axis: int):
    """LinkedReluMinMax for default-domain opsets before 15 (no CastLike there): the same
    values, min(X, 0) written as -Relu(-X) (the sign of zero aside)."""
    return op.Concat(op.Relu(X), op.Neg(op.Relu(op.Neg(X))), axis=axis)


def torch_linked(axis: int, original: Any = None, channels: int = 1) -> Any:
    """The torch module (torch imported here)."""
    from linkedonnx.nn import MINMAX, LinkedReLU

    return LinkedReLU(axis=axis, policy=MINMAX)


KIND = LinkedKind(
    title="LK-ReLU (min-max)",
    name="relu-minmax",
    function=LinkedReluMinMax,
    older_bodies=((15, LinkedReluMinMaxBeforeCastLike),),
    halves=(Half("relu", 1), Half("relu", -1, -1)),
    lowering=Lowering(
        elementwise=Op("Relu", (X,)),
        coefficients=((1.0, 0.0), (0.0, -1.0)),
        dw=True,
        cpu_forms=("split", "dw"),
    ),
    recognition=("signed",),
    int8_range=UNSIGNED,
    zoo_name="relu",
    zoo_policy="minmax",
    linkify_name="lk-relu-minmax",
    torch_linked=torch_linked,
)
