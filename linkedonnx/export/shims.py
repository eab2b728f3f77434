"""Export shims: stand-ins for the linked modules that trace to one ONNX node each.

During export every :class:`~linkedonnx.nn.LinkedActivation` with a named ONNX function
is replaced (in a copy of the model) by a shim whose forward emits a single
``linkedonnx::<Function>`` node through ``torch.onnx.ops.symbolic``. The function
bodies are attached afterwards from :mod:`linkedonnx.functions`. The ``nn`` modules
themselves stay ONNX-free; this file is the seam.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from linkedonnx import DOMAIN
from linkedonnx.functions import DOMAIN_VERSION, op_type
from linkedonnx.kinds import KINDS
from linkedonnx.nn import LinkedActivation, LinkedPReLU


def _doubled_shape(z: Tensor, axis: int) -> list[int | torch.SymInt]:
    """Shape of ``z`` with the size along ``axis`` doubled (symbolic sizes kept)."""
    shape = list(z.shape)
    shape[axis] = shape[axis] * 2
    return shape


class LinkedCallShim(nn.Module):
    """Emits ``linkedonnx::<Function>(X)`` with attribute ``axis`` (one node, one output)."""

    def __init__(self, kind: str, axis: int) -> None:
        super().__init__()
        self.kind = kind
        self.axis = axis

    def forward(self, z: Tensor) -> Tensor:
        return torch.onnx.ops.symbolic(
            f"{DOMAIN}::{op_type(self.kind)}",
            (z,),
            {"axis": self.axis},
            dtype=z.dtype,
            shape=_doubled_shape(z, self.axis),
            version=DOMAIN_VERSION,
        )


class LinkedPReluShim(nn.Module):
    """Emits ``linkedonnx::LinkedPRelu(X, SlopePos, SlopeNeg)`` (``kind``'s function); the
    slopes are reshaped to [C, 1, ..., 1] so that they broadcast along ``axis`` the way
    ONNX PRelu expects."""

    def __init__(self, source: LinkedPReLU, kind: str = "prelu") -> None:
        super().__init__()
        self.kind = kind
        self.axis = source.axis
        self.slope_pos = source.slope_pos
        self.slope_neg = source.slope_neg

    def _slope(self, slope: Tensor, z: Tensor) -> Tensor:
        if slope.numel() == 1:
            return slope.reshape(1)
        axis = self.axis % z.dim()
        return slope.reshape([slope.numel()] + [1] * (z.dim() - axis - 1))

    def forward(self, z: Tensor) -> Tensor:
        return torch.onnx.ops.symbolic(
            f"{DOMAIN}::{op_type(self.kind)}",
            (z, self._slope(self.slope_pos, z), self._slope(self.slope_neg, z)),
            {"axis": self.axis},
            dtype=z.dtype,
            shape=_doubled_shape(z, self.axis),
            version=DOMAIN_VERSION,
        )


def function_kind(module: nn.Module) -> str | None:
    """Return the registered kind (a key of :data:`linkedonnx.kinds.KINDS`) that
    ``module`` exports as, or None when it exports flat (the generic ``Linked(fn)``, any
    other module, or a subclass that overrides ``forward`` without naming its kind)."""
    if not isinstance(module, LinkedActivation):
        return None
    owner = next(c for c in type(module).__mro__ if "forward" in vars(c))
    if "kind" not in vars(owner):
        return None
    kind = module.export_kind
    return kind if kind in KINDS else None


def make_shim(module: nn.Module) -> nn.Module | None:
    """Return the export shim for ``module``, or None when it exports flat."""
    kind = function_kind(module)
    if kind is None:
        return None
    if KINDS[kind].has_slopes:
        assert isinstance(module, LinkedPReLU)
        return LinkedPReluShim(module, kind)
    assert isinstance(module, LinkedActivation)
    return LinkedCallShim(kind, module.axis)


def with_shims(model: nn.Module) -> tuple[nn.Module, dict[str, int]]:
    """Return an eval-mode deep copy of ``model`` whose linked activations are shims, and
    the count of shimmed modules per kind. ``model`` itself is left untouched.

    A module instance used in several places gets one shim used in all of them.
    """
    clone = copy.deepcopy(model).eval()
    root_shim = make_shim(clone)
    if root_shim is not None:
        kind = function_kind(clone)
        return root_shim.eval(), {str(kind): 1}
    shims: dict[int, nn.Module] = {}
    counts: dict[str, int] = {}
    for parent in list(clone.modules()):
        for name, child in list(parent._modules.items()):
            if child is None:
                continue
            if id(child) not in shims:
                shim = make_shim(child)
                if shim is None:
                    continue
                shims[id(child)] = shim.eval()
                kind = str(function_kind(child))
                counts[kind] = counts.get(kind, 0) + 1
            parent._modules[name] = shims[id(child)]
    return clone, counts
