"""Export shims: which modules become function calls, and the swap leaves the model alone."""

from __future__ import annotations

import torch
from torch import nn

from linkedonnx.export.shims import LinkedCallShim, LinkedPReluShim, function_kind, with_shims
from linkedonnx.nn import Linked, LinkedPReLU, LinkedReLU, LinkedSELU, LinkedSwish


class _OwnForward(LinkedReLU):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return super().forward(z) * 2


def test_function_kind_of_each_module() -> None:
    assert function_kind(LinkedReLU()) == "relu"
    assert function_kind(LinkedReLU(policy="minmax")) == "relu-minmax"
    assert function_kind(LinkedPReLU(4)) == "prelu"
    assert function_kind(LinkedSELU()) == "selu"
    assert function_kind(LinkedSwish()) == "swish"
    assert function_kind(Linked(torch.tanh)) is None
    assert function_kind(_OwnForward()) is None
    assert function_kind(nn.ReLU()) is None


def test_with_shims_swaps_a_copy_and_shares_one_shim_per_instance() -> None:
    shared = LinkedSELU(axis=1)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 1), LinkedReLU(), nn.Conv2d(8, 4, 1), shared, nn.Conv2d(8, 4, 1), shared
    )
    model.add_module("prelu", LinkedPReLU(4))
    model.add_module("generic", Linked(torch.tanh))
    model.train()
    clone, counts = with_shims(model)
    assert counts == {"relu": 1, "selu": 1, "prelu": 1}
    assert isinstance(clone[1], LinkedCallShim) and clone[1].kind == "relu"
    assert clone[3] is clone[5] and clone[3].kind == "selu"
    assert isinstance(clone.prelu, LinkedPReluShim)
    assert isinstance(clone.generic, Linked)
    assert not clone.training
    # the original is untouched and still trains
    assert isinstance(model[1], LinkedReLU) and model.training


def test_root_module_that_is_linked_gets_shimmed() -> None:
    shim, counts = with_shims(LinkedSwish(axis=-1))
    assert isinstance(shim, LinkedCallShim) and shim.axis == -1
    assert counts == {"swish": 1}
