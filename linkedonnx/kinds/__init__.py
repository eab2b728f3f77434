"""The registry of linked kinds (no torch imported here): one module per kind, each
building one :class:`~linkedonnx.kinds.base.LinkedKind`; every other layer (functions,
nn, export, passes, quantize, runtime, linkify, zoo) iterates :data:`KINDS`.

Adding a kind: write its module and list it below; nothing else in the package names it.
"""

from __future__ import annotations

from linkedonnx.errors import BadInputError
from linkedonnx.kinds import gelu, prelu, relu, relu_minmax, selu, swish
from linkedonnx.kinds.base import (
    BODY_OPSET,
    DOMAIN_VERSION,
    UNION,
    UNSIGNED,
    Activation,
    Half,
    LinkedKind,
    Lowering,
)
from linkedonnx.kinds.spelling import Op

#: kind name -> kind, in the order rules are tried and names are listed.
KINDS: dict[str, LinkedKind] = {
    k.name: k for k in (relu.KIND, relu_minmax.KIND, selu.KIND, swish.KIND, prelu.KIND, gelu.KIND)
}

#: torch activations no registered kind links (``torch.nn`` module class names and
#: ``torch.nn.functional`` function names): linkify reports them as left.
UNLINKED_TORCH_MODULES: tuple[str, ...] = (
    "ReLU6",
    "LeakyReLU",
    "ELU",
    "CELU",
    "Hardswish",
    "Mish",
)
UNLINKED_TORCH_FUNCTIONS: tuple[str, ...] = (
    "relu6",
    "leaky_relu",
    "elu",
    "celu",
    "hardswish",
    "mish",
    "prelu",
)

#: function name (op_type in the linkedonnx domain) -> kind.
BY_OP_TYPE: dict[str, LinkedKind] = {k.op_type: k for k in KINDS.values()}

#: Every tree spelling one half's activation in standard ops, with its kind: each
#: kind's lowering tree, then its activation's spellings (each tree once).
HALF_TREES: tuple[tuple[LinkedKind, Op], ...] = tuple(
    dict.fromkeys(
        (k, tree)
        for k in KINDS.values()
        for tree in (
            k.lowering.elementwise,
            *(t for _, _, t in (k.activation.spellings if k.activation else ())),
        )
    )
)

#: activation name (a half's, see :class:`Half`) -> the Activation of the kind using it.
ACTIVATIONS: dict[str, Activation] = {
    k.activation.name: k.activation for k in KINDS.values() if k.activation is not None
}

#: The zoo's activation names (``family/[lk-|ext-]<name>``), in registry order.
ZOO_ACTIVATIONS: tuple[str, ...] = tuple(dict.fromkeys(k.zoo_name for k in KINDS.values()))


def zoo_kind(activation: str, policy: str | None = None) -> LinkedKind:
    """The kind the zoo's linked ``activation`` with ``policy`` (a kind's ``zoo_policy``;
    None or 'mirror': the default) builds; raises ValueError when there is none."""
    wanted = None if policy in (None, "mirror") else policy
    for k in KINDS.values():
        if k.zoo_name == activation and k.zoo_policy == wanted:
            return k
    raise ValueError(
        f"unknown activation {activation!r}" + (f" with policy {policy!r}" if wanted else "")
    )


def kind(name: str) -> LinkedKind:
    """The kind called ``name``; raises BadInputError for an unknown one."""
    try:
        return KINDS[name]
    except KeyError:
        raise BadInputError(
            f"unknown linked kind {name!r}; expected one of {', '.join(KINDS)}"
        ) from None


__all__ = [
    "ACTIVATIONS",
    "BODY_OPSET",
    "BY_OP_TYPE",
    "DOMAIN_VERSION",
    "HALF_TREES",
    "KINDS",
    "UNION",
    "UNLINKED_TORCH_FUNCTIONS",
    "UNLINKED_TORCH_MODULES",
    "UNSIGNED",
    "ZOO_ACTIVATIONS",
    "Activation",
    "Half",
    "LinkedKind",
    "Lowering",
    "kind",
    "zoo_kind",
]
