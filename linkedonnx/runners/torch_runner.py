"""The PyTorch runner (torch side): a torch model fed numpy arrays, numpy arrays back,
and, for per-layer parity, every module's output and each linked layer's
pre-activation z from forward hooks (a :class:`linkedonnx.runtime.layers.Trace`).

Validation compares ONNX Runtime against this; it hands plain arrays to the ONNX world.
Only the torch side imports this module.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from linkedonnx.errors import BadInputError
from linkedonnx.nn import LinkedActivation
from linkedonnx.runners.base import Runner
from linkedonnx.runtime.layers import Trace


def _to_numpy(value: object) -> list[np.ndarray]:
    """Flatten a forward() result (tensor, tuple/list or dict of tensors) to arrays."""
    if isinstance(value, torch.Tensor):
        return [value.detach().cpu().numpy()]
    if isinstance(value, (list, tuple)):
        return [a for item in value for a in _to_numpy(item)]
    if isinstance(value, dict):
        return [a for key in value for a in _to_numpy(value[key])]
    raise TypeError(f"model output of type {type(value).__name__} is not a tensor")


def run_torch(
    model: nn.Module, inputs: Sequence[np.ndarray], dtype: torch.dtype | None = None
) -> list[np.ndarray]:
    """Run ``model`` in eval mode without gradients on CPU and return its outputs.

    Each input array becomes a tensor of ``dtype`` (default: the model's parameter
    dtype, float32 for the zoo), so float16 ONNX inputs can be compared against a
    float32 model. With ``dtype=torch.float64`` the model is run on a float64 copy
    (a high-precision reference). The model's own mode and dtype are left as they were.
    """
    param = next(iter(model.parameters()), None)
    run_dtype = dtype or (param.dtype if param is not None else torch.float32)
    runner = model
    if param is not None and param.dtype != run_dtype:
        runner = copy.deepcopy(model).to(run_dtype)
    was_training = runner.training
    runner.eval()
    try:
        tensors = [
            torch.from_numpy(np.ascontiguousarray(a)).to(run_dtype)
            if np.issubdtype(a.dtype, np.floating)
            else torch.from_numpy(np.ascontiguousarray(a))
            for a in inputs
        ]
        with torch.inference_mode():
            return _to_numpy(runner(*tensors))
    finally:
        runner.train(was_training)


def _to_array(value: object) -> np.ndarray | None:
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else None


def trace_torch(model: nn.Module, inputs: Sequence[np.ndarray]) -> Trace:
    """Run ``model`` (as :func:`run_torch` does) with forward hooks on every named
    module: (path, 'output') for each module with a tensor output, (path, 'z') for each
    linked activation's input, and for each batch norm module the module whose output
    it reads. Returns a Trace; the hooks are removed afterwards."""
    values: dict[tuple[str, str], np.ndarray] = {}
    produced_by: dict[int, str] = {}
    keep: list[torch.Tensor] = []  # tensors stay alive, so ids stay unique
    reads: dict[str, int] = {}

    def hook_for(path: str, module: nn.Module) -> Callable:
        def hook(_module: nn.Module, args: tuple, output: object) -> None:
            first = args[0] if args else None
            if isinstance(module, LinkedActivation) and isinstance(first, torch.Tensor):
                values[(path, "z")] = first.detach().cpu().numpy()
            if isinstance(module, nn.modules.batchnorm._BatchNorm) and isinstance(
                first, torch.Tensor
            ):
                reads[path] = id(first)
                keep.append(first)
            array = _to_array(output)
            if array is not None:
                values[(path, "output")] = array
                produced_by.setdefault(id(output), path)  # a child's hook runs first
                keep.append(output)  # type: ignore[arg-type]

        return hook

    handles = [
        module.register_forward_hook(hook_for(path, module))
        for path, module in model.named_modules()
        if path
    ]
    try:
        run_torch(model, inputs)
    finally:
        for handle in handles:
            handle.remove()
    after = {produced_by[i]: q for q, i in reads.items() if i in produced_by}
    return Trace(values=values, batch_norm_after=after)


class TorchRunner(Runner):
    """A built ``model`` (``nn.Module``, kept in its own mode and dtype) fed the arrays
    named ``input_names``, in that order, as :func:`run_torch` does. A torch module
    does not name its outputs: ``output_names`` is empty and ``run`` returns them all,
    flattened. Raises BadInputError (one line) when a named input is not fed."""

    runtime: ClassVar[str] = "torch"

    def __init__(self, model: nn.Module, *, input_names: Sequence[str]) -> None:
        self.model = model
        self._input_names = list(input_names)
        param = next(iter(model.parameters()), None)
        self.precision = str(param.dtype).removeprefix("torch.") if param is not None else None

    @property
    def title(self) -> str:
        return "PyTorch"

    @property
    def input_names(self) -> list[str]:
        return list(self._input_names)

    @property
    def output_names(self) -> list[str]:
        return []

    def _arrays(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        missing = [n for n in self._input_names if n not in feeds]
        if missing:
            raise BadInputError(f"no data for the torch model's inputs {missing}")
        return [feeds[n] for n in self._input_names]

    def run_impl(self, feeds: dict[str, np.ndarray], outputs: list[str] | None) -> list[Any]:
        if outputs is not None:
            raise BadInputError("a torch model does not name its outputs; ask for all of them")
        return run_torch(self.model, self._arrays(feeds))

    def trace(self, feeds: Mapping[str, np.ndarray]) -> Trace:
        """The per-layer values of one run on ``feeds`` (see :func:`trace_torch`)."""
        return trace_torch(self.model, self._arrays(feeds))

    def settings(self) -> dict[str, Any]:
        return {"runtime": self.runtime, "device": "cpu", "precision": self.precision}
