"""The ONNX functions of the linked activations: the one place saying what
``linkedonnx::LinkedRelu`` and its siblings compute.

Each function takes the shared pre-activation ``X`` (any float type) and returns the
two halves concatenated on the attribute ``axis`` (un-mirrored half first).
No torch here.
"""

from __future__ import annotations

from onnxscript import opset18 as op
from onnxscript import script
from onnxscript.values import Opset

from linkedonnx import DOMAIN

#: Version of the linkedonnx function domain.
DOMAIN_VERSION = 1
linked_domain = Opset(DOMAIN, DOMAIN_VERSION)

#: The default-domain opset the function bodies use.
BODY_OPSET = 18


@script(linked_domain, default_opset=op)
def LinkedRelu(X, axis: int):
    """LK-ReLU, mirror policy: Concat(Relu(X), Relu(-X))."""
    return op.Concat(op.Relu(X), op.Relu(op.Neg(X)), axis=axis)


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


@script(linked_domain, default_opset=op)
def LinkedSelu(X, axis: int):
    """LK-SELU: Concat(Selu(X), Selu(-X))."""
    return op.Concat(op.Selu(X), op.Selu(op.Neg(X)), axis=axis)


@script(linked_domain, default_opset=op)
def LinkedSwish(X, axis: int):
    """LK-Swish: Concat(X*Sigmoid(X), (-X)*Sigmoid(-X))."""
    neg = op.Neg(X)
    return op.Concat(op.Mul(X, op.Sigmoid(X)), op.Mul(neg, op.Sigmoid(neg)), axis=axis)


@script(linked_domain, default_opset=op)
def LinkedPRelu(X, SlopePos, SlopeNeg, axis: int):
    """LK-PReLU: Concat(PRelu(X, SlopePos), PRelu(-X, SlopeNeg)); slopes broadcast to X."""
    return op.Concat(op.PRelu(X, SlopePos), op.PRelu(op.Neg(X), SlopeNeg), axis=axis)
