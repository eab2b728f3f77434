"""The PyTorch reference for ``validate`` (torch side): a zoo model or checkpoint that
runs on the ONNX model's feeds and hands plain arrays back, its final outputs and, for
per-layer parity, every module's output and each linked layer's pre-activation z from
forward hooks (a :class:`linkedonnx.runtime.layers.Trace`). The ONNX side never imports
this module; :func:`linkedonnx.validate.load_reference` asks for it by name when the
reference is ``zoo:NAME`` or a checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx
import torch
from torch import nn

from linkedonnx.errors import BadInputError
from linkedonnx.export.runner import run_torch
from linkedonnx.nn import LinkedActivation
from linkedonnx.runtime.inputs import InputSignature
from linkedonnx.runtime.layers import Trace
from linkedonnx.sources import is_zoo, load_source
from linkedonnx.validate import Reference, adapt_feeds
from linkedonnx.zoo.spec import ModelSpec


def _metadata(model: onnx.ModelProto) -> dict[str, str]:
    return {p.key: p.value for p in model.metadata_props}


def _to_array(value: object) -> np.ndarray | None:
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else None


def trace_torch(model: nn.Module, inputs: list[np.ndarray]) -> Trace:
    """Run ``model`` (as :func:`linkedonnx.export.runner.run_torch` does) with forward
    hooks on every named module: (path, 'output') for each module with a tensor output,
    (path, 'z') for each linked activation's input, and for each batch norm module the
    module whose output it reads. Returns a Trace; the hooks are removed afterwards."""
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


def torch_reference(
    reference: str, model: onnx.ModelProto, inputs: list[InputSignature], seed: int = 0
) -> Reference:
    """A zoo model or checkpoint as validate's reference. A zoo name the model was
    exported from is built with the model's recorded input geometry. ``inputs`` are the
    model's real inputs (one image batch). Raises BadInputError for an unknown source
    or a model whose input does not fit it."""
    geometry: dict[str, int] = {}
    recorded_spec = _metadata(model).get("linkedonnx.spec")
    if is_zoo(reference) and recorded_spec:
        try:
            spec = ModelSpec.from_json(recorded_spec)
        except BadInputError:
            spec = None
        if spec is not None and f"zoo:{spec.name}" == reference:
            geometry = {
                "in_channels": spec.in_channels,
                "image_size": spec.image_size,
                "num_classes": spec.num_classes,
            }
    source = load_source(reference, seed=seed, **geometry)
    expected = source.spec.input_shape(1)[1:]
    if len(inputs) != 1:
        raise BadInputError(
            f"the model has {len(inputs)} inputs; a {reference} reference takes one image batch"
        )
    dims = inputs[0].dims
    if len(dims) != len(expected) + 1 or any(
        isinstance(d, int) and d != e for d, e in zip(dims[1:], expected, strict=False)
    ):
        raise BadInputError(
            f"model input {inputs[0].describe()} does not fit reference {source.label} "
            f"(expects [batch,{','.join(map(str, expected))}])"
        )
    notes = []
    recorded = _metadata(model).get("linkedonnx.source", "")
    if is_zoo(reference) and recorded.startswith(reference + " ") and recorded != source.label:
        notes.append(f"the model was exported from {recorded}; the reference is {source.label}")
    torch_model = source.model
    name = inputs[0].name
    param = next(iter(torch_model.parameters()), None)
    precision = str(param.dtype).removeprefix("torch.") if param is not None else None

    def arrays(feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return list(adapt_feeds(feeds, inputs).values()) if name in feeds else []

    return Reference(
        label=f"{source.label} (pytorch cpu)",
        run=lambda feeds: run_torch(torch_model, arrays(feeds)),
        notes=notes,
        takes=frozenset({name}),
        precision=precision,
        trace=lambda feeds: trace_torch(torch_model, arrays(feeds)),
    )
