"""ModelSpec: what a zoo model is (its name and input geometry), serializable to JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from linkedonnx.errors import BadInputError
from linkedonnx.json_object import parse_json_object


@dataclass(frozen=True)
class ModelSpec:
    """A zoo model: registry ``name`` (e.g. 'allcnn/lk-relu') and its input geometry."""

    name: str
    in_channels: int = 3
    image_size: int = 32
    num_classes: int = 10

    def input_shape(self, batch: int = 1) -> tuple[int, int, int, int]:
        """Return the NCHW input shape for ``batch`` images."""
        return (batch, self.in_channels, self.image_size, self.image_size)

    def to_json(self) -> str:
        """Serialize to a JSON object string."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        """Build from a dict; raise BadInputError on unknown or missing keys or bad types."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown or "name" not in data:
            raise BadInputError(f"not a model spec: keys {sorted(data)}")
        try:
            spec = cls(**data)
        except TypeError as exc:
            raise BadInputError(f"not a model spec: {exc}") from None
        if not isinstance(spec.name, str) or not all(
            isinstance(getattr(spec, k), int) and getattr(spec, k) > 0
            for k in ("in_channels", "image_size", "num_classes")
        ):
            raise BadInputError(f"not a model spec: {data}")
        return spec

    @classmethod
    def from_json(cls, text: str) -> ModelSpec:
        """Parse a JSON object string; raise BadInputError when it is not a spec."""
        return cls.from_dict(parse_json_object(text, "model spec"))
