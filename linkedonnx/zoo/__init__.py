"""The paper's architectures, by name (e.g. 'allcnn/lk-relu', 'resnet/lk-selu-nobn').

Public API (one module per family beside this file: width, depth, params, allcnn,
resnet; names in :mod:`~linkedonnx.zoo.naming`; counts in :mod:`~linkedonnx.zoo.stats`):
- ``names(family=None) -> list[str]``: every model name, sorted;
- ``parse_name(name) -> ModelName``: family, activation, form, policy, batch_norm;
- ``build(spec_or_name) -> torch.nn.Module``: a freshly initialised model;
- ``ModelSpec``: name plus input geometry.
"""

from typing import Any

from linkedonnx.zoo.naming import FAMILIES, ModelName, names, parse_name
from linkedonnx.zoo.spec import ModelSpec


def __getattr__(name: str) -> Any:
    """Import ``build`` (and with it torch) on first use, so that the names and the
    spec stay importable where torch is not wanted (the CLI's start, the ONNX side)."""
    if name == "build":
        from linkedonnx.zoo.registry import build

        return build
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["FAMILIES", "ModelName", "ModelSpec", "build", "names", "parse_name"]
