"""The PyTorch reference for ``validate`` (torch side): a zoo model or checkpoint,
built for the ONNX model's feeds and held by a
:class:`~linkedonnx.runners.torch_runner.TorchRunner`, which hands plain arrays back:
its final outputs and, for per-layer parity, its traced per-layer values. The ONNX
side never imports this module; :func:`linkedonnx.validate.load_reference` asks for it
by name when the reference is ``zoo:NAME`` or a checkpoint.
"""

from __future__ import annotations

import onnx

from linkedonnx.errors import BadInputError
from linkedonnx.runners.torch_runner import TorchRunner
from linkedonnx.runtime.inputs import InputSignature
from linkedonnx.runtime.reference import Reference
from linkedonnx.sources import is_zoo, load_source
from linkedonnx.zoo.spec import ModelSpec


def _metadata(model: onnx.ModelProto) -> dict[str, str]:
    return {p.key: p.value for p in model.metadata_props}


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
    runner = TorchRunner(source.model, input_names=[inputs[0].name])
    return Reference(
        label=f"{source.label} (pytorch cpu)",
        runner=runner,
        inputs=inputs,
        notes=notes,
        precision=runner.precision,
        tracer=runner.trace,
    )
