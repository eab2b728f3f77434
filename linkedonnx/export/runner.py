"""The PyTorch runner: a torch model fed numpy arrays, numpy arrays back (torch side).

Validation compares ONNX Runtime against this; it hands plain arrays to the ONNX world.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn


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
