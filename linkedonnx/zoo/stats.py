"""Parameter counts and FLOPs of models, and of every zoo model at the default size.

FLOPs here are 2 × the multiply-accumulates (MACs) of the Conv2d and Linear layers,
for the given input shape (batch included); activations, BN, pooling and adds are
not counted (they are a few percent at most in these nets). Zoo statistics are
computed on the meta device (no weights are allocated, no arithmetic is done).
:func:`zoo_stats` runs one counting forward per (family, form): the shapes of the
Conv2d and Linear layers, hence the MACs, do not depend on the activation, its
policy or batch norm (a test checks this), so all ~130 models take seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from linkedonnx.zoo.naming import names, parse_name
from linkedonnx.zoo.registry import as_spec, build
from linkedonnx.zoo.spec import ModelSpec


@dataclass(frozen=True)
class ModelStats:
    """A model's ``parameters`` and ``macs`` (multiply-accumulates) for one input."""

    name: str
    parameters: int
    macs: int

    @property
    def flops(self) -> int:
        """2 × MACs."""
        return 2 * self.macs

    def to_dict(self) -> dict[str, Any]:
        """name, parameters, macs and flops as a JSON-ready dict."""
        return {**asdict(self), "flops": self.flops}


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter elements of ``model`` (all, or only those requiring grad)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _layer_macs(module: nn.Module, output: Tensor) -> int:
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return output.numel() * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    return 0


def count_macs(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-accumulates of ``model``'s Conv2d and Linear layers for one forward pass
    on an input of ``input_shape`` (batch included), counted with forward hooks.

    Runs on the device of the model's parameters (use the meta device to count
    without computing) and in eval mode; the model's training flag is restored.
    """
    first = next(iter(model.parameters()), None)
    device = first.device if first is not None else torch.device("cpu")
    total = 0

    def hook(module: nn.Module, _inputs: tuple[Tensor, ...], output: Tensor) -> None:
        nonlocal total
        total += _layer_macs(module, output)

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, nn.Conv2d | nn.Linear)
    ]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(tuple(input_shape), device=device))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return total


def count_flops(model: nn.Module, input_shape: Sequence[int]) -> int:
    """FLOPs = 2 × :func:`count_macs` for an input of ``input_shape``."""
    return 2 * count_macs(model, input_shape)


def _meta_model(spec: ModelSpec) -> nn.Module:
    with torch.device("meta"):
        return build(spec)


def model_stats(spec_or_name: ModelSpec | str, batch: int = 1) -> ModelStats:
    """Parameters and MACs of a zoo model (default geometry 3×32×32 for a bare name),
    computed on the meta device. Raises BadInputError for an unknown name."""
    spec = as_spec(spec_or_name)
    model = _meta_model(spec)
    return ModelStats(
        spec.name, count_parameters(model), count_macs(model, spec.input_shape(batch))
    )


def zoo_stats(family: str | None = None) -> list[ModelStats]:
    """:func:`model_stats` of every zoo name (of ``family`` when given) at the default
    geometry, sorted by name; MACs are counted once per (family, form).

    Raises BadInputError for an unknown family."""
    macs: dict[tuple[str, str], int] = {}
    rows = []
    for name in names(family):
        spec = ModelSpec(name)
        parsed = parse_name(name)
        model = _meta_model(spec)
        key = (parsed.family, parsed.form)
        if key not in macs:
            macs[key] = count_macs(model, spec.input_shape(1))
        rows.append(ModelStats(name, count_parameters(model), macs[key]))
    return rows
