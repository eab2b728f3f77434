"""Tracing for linkify: ``torch.fx`` symbolic tracing that keeps activation modules
whole, plus the shapes of every value on an example input."""

from __future__ import annotations

import copy

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from linkedonnx.errors import BadInputError, first_line
from linkedonnx.nn import LinkedActivation, Swish


class LinkifyError(BadInputError):
    """The model cannot be linkified (it does not trace, or the example input fails)."""


class _Tracer(fx.Tracer):
    """fx's tracer, with linkedonnx's own activation modules (Swish, the linked
    activations) kept as leaves like torch.nn's modules."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if isinstance(m, LinkedActivation | Swish):
            return True
        return super().is_leaf_module(m, module_qualified_name)


def trace(module: nn.Module) -> fx.GraphModule:
    """Symbolically trace a deep copy of ``module`` (left untouched) into a GraphModule
    with the same submodule paths and the same training mode.

    Raises LinkifyError naming the construct when tracing fails (data-dependent control
    flow, an untraceable call, ...).
    """
    root = copy.deepcopy(module)
    tracer = _Tracer()
    try:
        graph = tracer.trace(root)
    except Exception as exc:  # fx raises TraceError, TypeError, RuntimeError, ...
        raise LinkifyError(
            f"cannot linkify {type(module).__name__}: torch.fx cannot trace it "
            f"({type(exc).__name__}: {first_line(exc, '')})"
        ) from None
    name = type(module).__name__
    gm = fx.GraphModule(tracer.root, graph, name)
    gm.train(module.training)
    return gm


def propagate_shapes(gm: fx.GraphModule, example_input: torch.Tensor) -> None:
    """Record every node's output shape (``node.meta['tensor_meta']``) by running ``gm``
    once on ``example_input`` in eval mode without gradients (batch-norm statistics are
    not touched); the training mode is restored. Raises LinkifyError when it fails."""
    was_training = gm.training
    gm.eval()
    try:
        with torch.no_grad():
            ShapeProp(gm).propagate(example_input)
    except Exception as exc:
        raise LinkifyError(
            f"the example input {tuple(example_input.shape)} does not run through the model "
            f"({type(exc).__name__}: {first_line(exc, '')})"
        ) from None
    finally:
        gm.train(was_training)


def shape_of(node: fx.Node) -> tuple[int, ...] | None:
    """The shape recorded for ``node`` by :func:`propagate_shapes` (None when its value
    is not a single tensor)."""
    meta = node.meta.get("tensor_meta")
    shape = getattr(meta, "shape", None)
    return None if shape is None else tuple(int(d) for d in shape)
