"""Weight initialisation schemes applied after a zoo model is built.

- ``torch``: keep PyTorch's defaults (what ``zoo.build`` returns);
- ``keras``: the paper's setting (its code is Keras): Glorot-uniform weights and zero
  biases for every Conv2d and Linear. PyTorch's default conv init (variance
  1/(3·fan_in)) shrinks the signal about threefold per layer, so a 51-layer net starts
  with vanishing activations whatever its activation; Glorot keeps it alive.
"""

from __future__ import annotations

from torch import nn

from linkedonnx.errors import BadInputError

INITS = ("keras", "torch")


def initialize(model: nn.Module, scheme: str) -> nn.Module:
    """Re-initialise ``model``'s conv and dense layers in place by ``scheme``; return it.

    Raises BadInputError for an unknown scheme.
    """
    if scheme not in INITS:
        raise BadInputError(f"unknown init {scheme!r}; expected one of {', '.join(INITS)}")
    if scheme == "torch":
        return model
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model
