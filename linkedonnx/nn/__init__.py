"""Linked activations in PyTorch: modules and functional forms."""

from linkedonnx.nn.functional import (
    MINMAX,
    MIRROR,
    linked,
    lk_prelu,
    lk_relu,
    lk_selu,
    lk_swish,
    swish,
)
from linkedonnx.nn.modules import (
    ElementPReLU,
    KindActivation,
    Linked,
    LinkedActivation,
    LinkedPReLU,
    LinkedReLU,
    LinkedSELU,
    LinkedSwish,
    Swish,
)

__all__ = [
    "MINMAX",
    "MIRROR",
    "ElementPReLU",
    "KindActivation",
    "Linked",
    "LinkedActivation",
    "LinkedPReLU",
    "LinkedReLU",
    "LinkedSELU",
    "LinkedSwish",
    "Swish",
    "linked",
    "lk_prelu",
    "lk_relu",
    "lk_selu",
    "lk_swish",
    "swish",
]
