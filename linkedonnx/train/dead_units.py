"""Dead units of a torch model: forward hooks on its activation modules.

Activation modules are the linked ones (:class:`linkedonnx.nn.LinkedActivation`, unit
axis = their ``axis``) and the plain ReLU/PReLU/SELU/Swish/... modules (unit axis 1,
the channel axis of NCHW and of [N, features]). Each call of a module is one layer
(``name`` or ``name#k`` for the k-th extra call in a forward pass), in execution order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from linkedonnx.dead_unit_report import AliveTracker, DeadUnitReport
from linkedonnx.kinds import KINDS
from linkedonnx.nn import ElementPReLU, LinkedActivation

#: Plain activation module -> kind: every module linkify maps to a registered kind
#: (its zoo name), Keras' per-element PReLU, and activations without a linked form.
PLAIN_ACTIVATIONS: dict[type[nn.Module], str] = {
    **{
        module: k.zoo_name
        for k in KINDS.values()
        if k.torch_sources is not None
        for module in k.torch_sources()[0]
    },
    ElementPReLU: "prelu",
    nn.LeakyReLU: "leaky-relu",
    nn.ELU: "elu",
    nn.ReLU6: "relu6",
}


def activation_layers(model: nn.Module) -> list[tuple[str, nn.Module, str, int]]:
    """Return (name, module, kind, unit axis) for each activation module of ``model``."""
    found = []
    for name, module in model.named_modules():
        if isinstance(module, LinkedActivation):
            found.append((name, module, f"lk-{module.kind}", module.axis))
        elif type(module) in PLAIN_ACTIVATIONS:
            found.append((name, module, PLAIN_ACTIVATIONS[type(module)], 1))
    return found


@contextmanager
def track_dead_units(model: nn.Module) -> Iterator[AliveTracker]:
    """Hook ``model``'s activation modules while the context is open; yield the tracker
    that accumulates which units were ever non-zero. Hooks are removed on exit."""
    tracker = AliveTracker()
    calls: dict[str, int] = {}
    handles = []

    def make_hook(name: str, kind: str, axis: int):
        def hook(_module: nn.Module, _inputs: tuple, output: Tensor) -> None:
            k = calls.get(name, 0)
            calls[name] = k + 1
            key = name if k == 0 else f"{name}#{k}"
            dims = [d for d in range(output.dim()) if d != axis % output.dim()]
            out = output.detach()
            alive = (out != 0).any(dim=dims) if dims else out != 0
            peak = float(out.abs().max()) if out.numel() else 0.0
            elements = (out != 0).reshape(out.shape[0], -1).any(dim=0)
            tracker.update(
                key,
                kind,
                alive.cpu().numpy().astype(bool),
                peak,
                elements.cpu().numpy().astype(bool),
            )

        return hook

    def reset(_module: nn.Module, _inputs: tuple) -> None:
        calls.clear()

    handles.append(model.register_forward_pre_hook(reset))
    for name, module, kind, axis in activation_layers(model):
        handles.append(module.register_forward_hook(make_hook(name, kind, axis)))
    try:
        yield tracker
    finally:
        for handle in handles:
            handle.remove()


@torch.no_grad()
def count_dead_units(
    model: nn.Module, batches: Iterable[Tensor], source: str = "model"
) -> DeadUnitReport:
    """Run ``model`` (in eval mode, restored afterwards) on each input batch and return
    the per-layer dead units over all samples seen."""
    was_training = model.training
    model.eval()
    samples = 0
    try:
        with track_dead_units(model) as tracker:
            for x in batches:
                model(x)
                samples += int(x.shape[0])
    finally:
        model.train(was_training)
    return DeadUnitReport(source=source, samples=samples, layers=tracker.layers())


__all__ = ["activation_layers", "count_dead_units", "track_dead_units"]
