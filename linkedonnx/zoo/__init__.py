"""The paper's architectures, by name (e.g. 'allcnn/lk-relu', 'resnet/lk-selu-nobn').

Public API (the families live one per module beside this file):
- ``names() -> list[str]``: every registered model name;
- ``build(spec_or_name) -> torch.nn.Module``: a freshly initialised model;
- ``ModelSpec``: name plus input geometry.
"""

from linkedonnx.zoo.spec import ModelSpec

__all__ = ["ModelSpec"]
