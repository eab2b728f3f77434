"""How stored images become model input, as data: :class:`Preprocess`, the one
:func:`apply` that both the torch side and the ONNX side call, and the
``linkedonnx.preprocess`` model metadata that records it (numpy only, no torch).

``apply`` divides by the value scale, standardizes per channel when ``mean``/``std``
are set, and resizes to ``image_size`` with bilinear interpolation computed the way
``torch.nn.functional.interpolate(mode='bilinear', align_corners=False)`` does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from linkedonnx.errors import BadInputError
from linkedonnx.json_object import parse_json_object

#: Model metadata key (ONNX ``metadata_props``) holding the preprocessing as JSON.
METADATA_KEY = "linkedonnx.preprocess"


@dataclass(frozen=True)
class Preprocess:
    """How stored images [N, C, H, W] become float32 model input.

    ``dataset``: the data set name the model was trained on (None when unknown);
    ``scale``: stored values are divided by it (16 for digits, 255 for 8-bit images);
    ``mean``/``std``: per-channel statistics after scaling, both set when standardized;
    ``image_size``: the side the model sees (None: keep the stored size);
    ``channels``: image channels (None: any).
    """

    dataset: str | None
    scale: float
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    image_size: int | None = None
    channels: int | None = None

    def __post_init__(self) -> None:
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise BadInputError(f"value scale must be a positive number, got {self.scale}")
        if (self.mean is None) != (self.std is None):
            raise BadInputError("standardizing needs both a mean and a std per channel")
        if self.mean is not None and self.std is not None:
            if len(self.mean) != len(self.std) or not self.mean:
                raise BadInputError(
                    f"mean has {len(self.mean)} value(s) and std {len(self.std)}; "
                    "give one of each per channel"
                )
            if any(not (np.isfinite(s) and s > 0) for s in self.std):
                raise BadInputError(f"std values must be positive, got {list(self.std)}")
            if self.channels is not None and len(self.mean) != self.channels:
                raise BadInputError(
                    f"mean/std have {len(self.mean)} value(s) for {self.channels} channel(s)"
                )
        if self.image_size is not None and self.image_size < 1:
            raise BadInputError(f"image size must be positive, got {self.image_size}")

    @property
    def standardized(self) -> bool:
        """True when inputs are standardized per channel."""
        return self.mean is not None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (every field, lists for mean/std)."""
        return {
            "dataset": self.dataset,
            "scale": float(self.scale),
            "mean": None if self.mean is None else [float(v) for v in self.mean],
            "std": None if self.std is None else [float(v) for v in self.std],
            "image_size": self.image_size,
            "channels": self.channels,
        }

    def to_json(self) -> str:
        """The preprocessing as compact JSON (what the model metadata holds)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, entry: dict[str, Any]) -> Preprocess:
        """Inverse of :meth:`to_dict`. Raises BadInputError for a malformed entry."""
        try:
            mean, std = entry.get("mean"), entry.get("std")
            size, channels = entry.get("image_size"), entry.get("channels")
            return cls(
                dataset=None if entry.get("dataset") is None else str(entry["dataset"]),
                scale=float(entry["scale"]),
                mean=None if mean is None else tuple(float(v) for v in mean),
                std=None if std is None else tuple(float(v) for v in std),
                image_size=None if size is None else int(size),
                channels=None if channels is None else int(channels),
            )
        except BadInputError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BadInputError(
                f"malformed preprocessing record ({type(exc).__name__}: {exc})"
            ) from None

    @classmethod
    def from_json(cls, text: str) -> Preprocess:
        """Inverse of :meth:`to_json`. Raises BadInputError for invalid JSON or fields."""
        return cls.from_dict(parse_json_object(text, METADATA_KEY))


def channel_stats(images: np.ndarray, scale: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel (mean, std) of stored images [N, C, H, W] divided by ``scale``:
    float64 sums, std with Bessel's correction clamped at 1e-6, rounded to float32
    values. Raises BadInputError for a non-4-D array or one with a single value."""
    if images.ndim != 4 or images.shape[0] * images.shape[2] * images.shape[3] < 2:
        raise BadInputError(f"cannot compute channel statistics of shape {list(images.shape)}")
    x = images.astype(np.float64) / float(scale)
    mean = x.mean(axis=(0, 2, 3)).astype(np.float32)
    std = np.maximum(x.std(axis=(0, 2, 3), ddof=1), 1e-6).astype(np.float32)
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def _bilinear_taps(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices (i0, i1) and weight of i1 per output position, in float32 as
    torch's CPU kernel computes them (align_corners=False, source index clamped at 0)."""
    scale = np.float32(size_in) / np.float32(size_out)
    dst = np.arange(size_out, dtype=np.float32)
    src = np.maximum(scale * (dst + np.float32(0.5)) - np.float32(0.5), np.float32(0.0))
    i0 = np.minimum(np.floor(src).astype(np.int64), size_in - 1)
    i1 = np.minimum(i0 + 1, size_in - 1)
    w1 = (src - i0.astype(np.float32)).astype(np.float32)
    return i0, i1, w1


def resize_bilinear(x: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resize float images [..., H, W] to ``size`` (side or (height, width)) with
    bilinear interpolation matching torch's ``F.interpolate(mode='bilinear',
    align_corners=False)`` (no antialiasing) to float32 rounding. Returns float32."""
    out_h, out_w = (size, size) if isinstance(size, int) else size
    x = np.asarray(x, dtype=np.float32)
    if x.shape[-2:] == (out_h, out_w):
        return x
    h0, h1, hw1 = _bilinear_taps(x.shape[-2], out_h)
    w0, w1, ww1 = _bilinear_taps(x.shape[-1], out_w)
    hw0, ww0 = np.float32(1) - hw1, np.float32(1) - ww1
    rows0, rows1 = x[..., h0, :], x[..., h1, :]
    top = rows0[..., w0] * ww0 + rows0[..., w1] * ww1
    bottom = rows1[..., w0] * ww0 + rows1[..., w1] * ww1
    return (hw0[:, None] * top + hw1[:, None] * bottom).astype(np.float32)


def apply(images: np.ndarray, preprocess: Preprocess) -> np.ndarray:
    """Turn stored images [N, C, H, W] (any numeric dtype) into float32 model input:
    divided by the scale, standardized per channel when set, resized to the image size.
    Raises BadInputError for a non-4-D array or a channel count that does not fit."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise BadInputError(f"expected images [N, C, H, W], got shape {list(images.shape)}")
    channels = images.shape[1]
    if preprocess.channels is not None and channels != preprocess.channels:
        raise BadInputError(
            f"images have {channels} channel(s); the preprocessing expects {preprocess.channels}"
        )
    x = images.astype(np.float32) / np.float32(preprocess.scale)
    if preprocess.mean is not None and preprocess.std is not None:
        if len(preprocess.mean) != channels:
            raise BadInputError(
                f"images have {channels} channel(s) but mean/std have {len(preprocess.mean)}"
            )
        mean = np.asarray(preprocess.mean, dtype=np.float32).reshape(1, -1, 1, 1)
        std = np.asarray(preprocess.std, dtype=np.float32).reshape(1, -1, 1, 1)
        x = (x - mean) / std
    if preprocess.image_size is not None:
        x = resize_bilinear(x, preprocess.image_size)
    return np.ascontiguousarray(x, dtype=np.float32)


class _HasMetadata(Protocol):
    metadata_props: Any


def read_preprocess(model: _HasMetadata) -> Preprocess | None:
    """The preprocessing recorded in an ONNX ModelProto's metadata, or None when it has
    none. Raises BadInputError when the record is malformed."""
    for prop in model.metadata_props:
        if prop.key == METADATA_KEY:
            return Preprocess.from_json(prop.value)
    return None


def write_preprocess(model: _HasMetadata, preprocess: Preprocess) -> None:
    """Record ``preprocess`` in an ONNX ModelProto's metadata (replacing any record)."""
    kept = [(p.key, p.value) for p in model.metadata_props if p.key != METADATA_KEY]
    del model.metadata_props[:]
    for key, value in kept:
        model.metadata_props.add(key=key, value=value)
    model.metadata_props.add(key=METADATA_KEY, value=preprocess.to_json())


def parse_floats(text: str, what: str) -> tuple[float, ...]:
    """Parse a comma-separated list of numbers ('0.5' or '0.49,0.48,0.45') for option
    ``what``. Raises BadInputError when an entry is not a finite number."""
    values: list[float] = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise BadInputError(f"{what} takes comma-separated numbers, got {text!r}") from None
        if not np.isfinite(value):
            raise BadInputError(f"{what} values must be finite, got {text!r}")
        values.append(value)
    return tuple(values)


def as_tuple(values: Sequence[float] | None) -> tuple[float, ...] | None:
    """``values`` as a tuple of floats (None stays None)."""
    return None if values is None else tuple(float(v) for v in values)
