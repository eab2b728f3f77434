"""Name -> model: the zoo's builder registry (one builder per family module)."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from linkedonnx.errors import BadInputError
from linkedonnx.zoo import allcnn, depth, params, resnet, width
from linkedonnx.zoo.naming import ModelName, parse_name
from linkedonnx.zoo.spec import ModelSpec

#: family -> (builder, smallest supported image side)
FAMILY_BUILDERS: dict[str, tuple[Callable[[ModelName, ModelSpec], nn.Module], int]] = {
    "width": (width.build, width.MIN_IMAGE_SIZE),
    "depth": (depth.build, depth.MIN_IMAGE_SIZE),
    "params": (params.build, params.MIN_IMAGE_SIZE),
    "allcnn": (allcnn.build, allcnn.MIN_IMAGE_SIZE),
    "resnet": (resnet.build, resnet.MIN_IMAGE_SIZE),
}


def as_spec(spec_or_name: ModelSpec | str) -> ModelSpec:
    """Return a ModelSpec (a bare name gets the default 3×32×32, 10-class geometry).

    Raises BadInputError for a non-positive or non-integer geometry.
    """
    spec = ModelSpec(spec_or_name) if isinstance(spec_or_name, str) else spec_or_name
    if not isinstance(spec, ModelSpec):
        raise BadInputError(f"expected a model name or ModelSpec, not {type(spec).__name__}")
    for key in ("in_channels", "image_size", "num_classes"):
        value = getattr(spec, key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise BadInputError(f"model spec {key} must be a positive integer, not {value!r}")
    return spec


def build(spec_or_name: ModelSpec | str) -> nn.Module:
    """Build a freshly initialised zoo model from a ModelSpec or a name.

    The model takes float NCHW input of ``spec.input_shape(batch)`` and returns logits
    [batch, num_classes]. Initialisation follows torch's defaults, so it is
    deterministic under ``torch.manual_seed``. Raises BadInputError for an unknown
    name or an input geometry the family cannot take.
    """
    spec = as_spec(spec_or_name)
    model = parse_name(spec.name)
    builder, min_size = FAMILY_BUILDERS[model.family]
    if spec.image_size < min_size:
        raise BadInputError(
            f"{model.family} models need images of at least {min_size}×{min_size}, "
            f"not {spec.image_size}×{spec.image_size}"
        )
    return builder(model, spec)
