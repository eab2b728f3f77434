"""SOURCE strings: ``zoo:NAME`` (a freshly initialised zoo model, seeded), the path of
a checkpoint file (see :mod:`linkedonnx.checkpoint`) or, where a command accepts one,
an ``.onnx`` file.

:func:`~linkedonnx.source_ref.parse_source` is the one parser of SOURCE (export,
inspect and validate use it; it needs neither torch nor the zoo). :func:`load_source`
resolves a zoo name or a checkpoint to (model, spec) and imports torch when it runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from linkedonnx.arrays.preprocess import Preprocess
from linkedonnx.errors import BadInputError
from linkedonnx.source_ref import ZOO_PREFIX, SourceKind, SourceRef, parse_source
from linkedonnx.zoo.spec import ModelSpec

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "ZOO_PREFIX",
    "Source",
    "SourceKind",
    "SourceRef",
    "build_zoo",
    "is_zoo",
    "load_source",
    "parse_source",
]


@dataclass
class Source:
    """A resolved SOURCE: the eval-mode ``model``, its ``spec`` and a ``label`` for
    metadata and reports ('zoo:allcnn/lk-relu seed=0' or the checkpoint path), and the
    input ``preprocess`` a checkpoint records (None for zoo models)."""

    model: nn.Module
    spec: ModelSpec
    label: str
    checkpoint: Path | None = None
    preprocess: Preprocess | None = None


def is_zoo(source: str) -> bool:
    """True when ``source`` names a zoo model ('zoo:NAME')."""
    return source.startswith(ZOO_PREFIX)


def _spec_overrides(
    in_channels: int | None, image_size: int | None, num_classes: int | None
) -> dict[str, int]:
    """The geometry fields given (not None), checked to be positive."""
    given = {
        "in_channels": in_channels,
        "image_size": image_size,
        "num_classes": num_classes,
    }
    chosen = {k: v for k, v in given.items() if v is not None}
    for key, value in chosen.items():
        if value < 1:
            raise BadInputError(f"{key.replace('_', '-')} must be at least 1, got {value}")
    return chosen


def build_zoo(spec: ModelSpec, seed: int = 0) -> nn.Module:
    """Build zoo model ``spec`` with weights initialised from ``seed`` (the global torch
    RNG is left as it was), in eval mode. Raises BadInputError for an unknown name."""
    import torch

    from linkedonnx import zoo

    build = getattr(zoo, "build", None)
    if build is None:  # the zoo registry is not installed in this tree yet
        raise BadInputError("the model zoo is not available")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build(spec)
    return model.eval()


def load_source(
    source: str | os.PathLike[str],
    *,
    seed: int = 0,
    in_channels: int | None = None,
    image_size: int | None = None,
    num_classes: int | None = None,
) -> Source:
    """Resolve SOURCE to a Source.

    ``zoo:NAME``: the zoo model built with ``seed``, its spec's geometry overridden by
    the given ``in_channels``/``image_size``/``num_classes``. Anything else is a
    checkpoint path (the geometry options must then be absent or agree with it).
    Raises BadInputError for an unknown zoo name, a missing/unreadable/mismatched
    checkpoint, an ONNX file given as SOURCE, or conflicting options.
    """
    overrides = _spec_overrides(in_channels, image_size, num_classes)
    ref = parse_source(source)
    text = ref.text
    if ref.kind == "zoo":
        name = ref.name
        spec = replace(ModelSpec(name), **overrides)
        model = build_zoo(spec, seed)
        return Source(model=model, spec=spec, label=f"zoo:{name} seed={seed}")
    path = Path(text)
    if not path.exists():
        hint = f" (did you mean zoo:{text}?)" if "/" in text and not path.parent.exists() else ""
        raise BadInputError(
            f"SOURCE {text!r} is neither zoo:NAME nor an existing checkpoint file{hint}"
        )
    if ref.kind == "onnx":
        raise BadInputError(f"SOURCE {text} is an ONNX file; expected zoo:NAME or a checkpoint")
    from linkedonnx.checkpoint import load_model

    model, ckpt = load_model(path)
    conflicts = {k: v for k, v in overrides.items() if getattr(ckpt.spec, k) != v}
    if conflicts:
        raise BadInputError(
            f"checkpoint {text} was saved for {ckpt.spec.to_json()}; "
            f"options {conflicts} disagree with it"
        )
    return Source(
        model=model,
        spec=ckpt.spec,
        label=str(path),
        checkpoint=path,
        preprocess=ckpt.preprocess,
    )
