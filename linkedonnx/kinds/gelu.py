"""LK-GELU: ``[gelu(z), gelu(-z)]`` with the exact (erf) GELU, function ``LinkedGelu``.

The halves' derivatives, ``gelu'(z)`` and ``-gelu'(-z)``, never vanish together. The
function body is spelled as torch exports ``F.gelu``: below opset 20 with Erf
(``x * (0.5 * (erf(x / sqrt 2) + 1))``), from opset 20 with the Gelu op, so that
``convert`` replaces either spelling by a call whose body computes it bit for bit. The
tanh approximation is another function and is left alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnxscript import opset18 as op18
from onnxscript import opset20 as op20
from onnxscript import script

from linkedonnx.kinds.base import Activation, Half, LinkedKind, Lowering, linked_domain
from linkedonnx.kinds.spelling import Op, X

#: sqrt(2) as torch's export writes it (float32).
SQRT2 = float(np.float32(np.sqrt(2.0)))

#: torch's opset-17/18 export of the exact GELU (either operand order of Mul and Add).
GELU_ERF = Op("Mul", (X, Op("Mul", (0.5, Op("Add", (Op("Erf", (Op("Div", (X, SQRT2)),)), 1.0))))))
#: torch's opset-20 export: the Gelu op with the exact (erf) form.
GELU_OP = Op("Gelu", (X,), (("approximate", "none"),))

#: The opset the Gelu op arrived in.
GELU_OPSET = 20


@script(linked_domain, default_opset=op20)
def LinkedGelu(X, axis: int):
    """LK-GELU (opset 20 on): Concat(Gelu(X), Gelu(-X)), exact (erf) GELU."""
    return op20.Concat(
        op20.Gelu(X, approximate="none"), op20.Gelu(op20.Neg(X), approximate="none"), axis=axis
    )


@script(linked_domain, default_opset=op18)
def LinkedGeluErf(X, axis: int):
    """LinkedGelu for default-domain opsets before 20, spelled as torch exports GELU there:
    x * (0.5 * (erf(x / sqrt 2) + 1)) for x = X and x = -X."""
    half = op18.CastLike(op18.Constant(value_float=0.5), X)
    one = op18.CastLike(op18.Constant(value_float=1.0), X)
    root2 = op18.CastLike(op18.Constant(value_float=1.4142135381698608), X)
    neg = op18.Neg(X)
    first = op18.Mul(X, op18.Mul(half, op18.Add(op18.Erf(op18.Div(X, root2)), one)))
    second = op18.Mul(neg, op18.Mul(half, op18.Add(op18.Erf(op18.Div(neg, root2)), one)))
    return op18.Concat(first, second, axis=axis)


def torch_forward(z: Any, axis: int) -> Any:
    """The torch forward: ``cat([gelu(z), gelu(-z)], axis)`` (torch imported here)."""
    import torch
    import torch.nn.functional as F

    return torch.cat([F.gelu(z), F.gelu(-z)], dim=axis)


def torch_linked(axis: int, original: Any = None, channels: int = 1) -> Any:
    """The torch module (torch imported here)."""
    from linkedonnx.nn import KindActivation

    return KindActivation("gelu", torch_forward, axis=axis)


def torch_single(channels: int) -> Any:
    """The zoo's plain GELU (exact)."""
    from torch import nn

    return nn.GELU()


def torch_sources() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The torch activations linkify replaces by LK-GELU: (modules, functions)."""
    import torch.nn.functional as F
    from torch import nn

    return (nn.GELU,), (F.gelu,)


KIND = LinkedKind(
    title="LK-GELU",
    name="gelu",
    function=LinkedGelu,
    older_bodies=((GELU_OPSET, LinkedGeluErf),),
    halves=(Half("gelu", 1), Half("gelu", -1)),
    activation=Activation(
        "gelu",
        ((1, GELU_OPSET - 1, GELU_ERF), (GELU_OPSET, None, GELU_OP)),
        nan_at_minus_inf=True,
    ),
    lowering=Lowering(elementwise=GELU_ERF),
    int8_float_ops=("Erf", "Div", "Mul", "Add"),
    zoo_name="gelu",
    linkify_name="lk-gelu",
    torch_linked=torch_linked,
    torch_single=torch_single,
    torch_sources=torch_sources,
)
