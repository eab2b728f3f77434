"""Checkpoint files: a zoo model's spec and weights in one safetensors file.

Format (``linkedonnx.checkpoint`` version 2), a safetensors file whose
- tensors are the model's state dict under ``model.<key>`` and any extra tensors
  (optimizer state for resuming, ...) under ``extra.<key>``;
- string metadata holds ``format`` = 'linkedonnx.checkpoint', ``format_version`` = '2',
  ``spec`` = the ModelSpec as JSON and ``info`` = a JSON object (epoch, metrics, ...).
  Version 2 adds an optional ``linkify`` object to the spec ({"activation": "lk-relu",
  "preserve_function": true}): the zoo model was passed through
  :func:`linkedonnx.linkify.linkify` with those options before these weights were
  trained, and loading does the same before loading them. Version-1 files (no
  ``linkify``) still load.
safetensors holds tensors and strings only: loading runs no pickled code.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from linkedonnx.arrays.preprocess import Preprocess
from linkedonnx.atomic import atomic_path
from linkedonnx.errors import BadInputError
from linkedonnx.json_object import parse_json_object
from linkedonnx.linkify.options import LinkifyOptions
from linkedonnx.onnx_io import check_readable_file
from linkedonnx.zoo.spec import ModelSpec

FORMAT = "linkedonnx.checkpoint"
FORMAT_VERSION = "2"
#: Versions :func:`load_checkpoint` reads (version 1 has no ``linkify`` object).
READABLE_VERSIONS = ("1", "2")
_LINKIFY = "linkify"
_MODEL = "model."
_EXTRA = "extra."


@dataclass
class Checkpoint:
    """A loaded checkpoint: spec, model state dict, info dict, extra tensors and the
    linkify options the model was built with (None: the zoo model as it is)."""

    spec: ModelSpec
    state_dict: dict[str, torch.Tensor]
    info: dict[str, Any] = field(default_factory=dict)
    extra_tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    linkify: LinkifyOptions | None = None

    @property
    def preprocess(self) -> Preprocess | None:
        """The input preprocessing the trainer recorded in ``info['preprocess']`` (None
        for checkpoints written without it). Raises BadInputError when malformed."""
        entry = self.info.get("preprocess")
        if entry is None:
            return None
        if not isinstance(entry, dict):
            raise BadInputError("checkpoint info 'preprocess' is not a JSON object")
        return Preprocess.from_dict(entry)


def spec_json(spec: ModelSpec, linkify: LinkifyOptions | None = None) -> str:
    """The ``spec`` metadata string: the spec's JSON, with the ``linkify`` object when given."""
    data = json.loads(spec.to_json())
    if linkify is not None:
        data[_LINKIFY] = linkify.to_dict()
    return json.dumps(data, sort_keys=True)


def parse_spec(text: str, version: str = FORMAT_VERSION) -> tuple[ModelSpec, LinkifyOptions | None]:
    """Parse the ``spec`` metadata string of a checkpoint of ``version``.

    Returns (spec, linkify options or None). Raises BadInputError when it is not a spec,
    or holds a ``linkify`` object in a version-1 file.
    """
    data = parse_json_object(text, "model spec")
    options = None
    if _LINKIFY in data and version != "1":
        options = LinkifyOptions.from_dict(data.pop(_LINKIFY))
    return ModelSpec.from_dict(data), options


def save_checkpoint(
    path: str | os.PathLike[str],
    spec: ModelSpec,
    state_dict: dict[str, torch.Tensor],
    info: dict[str, Any] | None = None,
    extra_tensors: dict[str, torch.Tensor] | None = None,
    linkify: LinkifyOptions | None = None,
) -> Path:
    """Write a checkpoint atomically and return its path. ``info`` must be JSON-serializable;
    ``linkify`` records the options a linkified model was made with."""
    tensors = {_MODEL + k: v.detach().cpu().contiguous().clone() for k, v in state_dict.items()}
    for k, v in (extra_tensors or {}).items():
        tensors[_EXTRA + k] = v.detach().cpu().contiguous().clone()
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "spec": spec_json(spec, linkify),
        "info": json.dumps(info or {}, sort_keys=True),
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return Path(path)


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint. Raises BadInputError when the file is missing, corrupt,
    truncated, of another format or version, or holds no valid spec."""
    p = check_readable_file(path, "checkpoint")
    try:
        with safe_open(str(p), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(p))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise BadInputError(
            f"{p} is not a readable linkedonnx checkpoint ({type(exc).__name__})"
        ) from None
    if metadata.get("format") != FORMAT:
        raise BadInputError(f"{p} is a safetensors file but not a linkedonnx checkpoint")
    version = metadata.get("format_version")
    if version not in READABLE_VERSIONS:
        raise BadInputError(f"{p}: unsupported checkpoint version {version!r}")
    spec, linkify = parse_spec(metadata.get("spec", ""), str(version))
    try:
        info = json.loads(metadata.get("info", "{}"))
    except json.JSONDecodeError:
        raise BadInputError(f"{p}: checkpoint info is not valid JSON") from None
    state = {k[len(_MODEL) :]: v for k, v in tensors.items() if k.startswith(_MODEL)}
    extra = {k[len(_EXTRA) :]: v for k, v in tensors.items() if k.startswith(_EXTRA)}
    return Checkpoint(spec=spec, state_dict=state, info=info, extra_tensors=extra, linkify=linkify)


def build_model(spec: ModelSpec, linkify: LinkifyOptions | None = None) -> torch.nn.Module:
    """The zoo model of ``spec`` (freshly initialised), linkified with ``linkify`` when
    given: the structure a checkpoint's weights load into. Raises BadInputError for an
    unknown model name."""
    from linkedonnx.zoo import build

    model = build(spec)
    if linkify is None:
        return model
    from linkedonnx.linkify import relinkify

    return relinkify(model, linkify, torch.zeros(spec.input_shape(1)))


def load_model(path: str | os.PathLike[str]) -> tuple[torch.nn.Module, Checkpoint]:
    """Build the checkpoint's zoo model and load its weights (eval mode).

    A linkified checkpoint's model is the zoo model linkified with the recorded options.
    Returns (model, checkpoint). Raises BadInputError for an unreadable checkpoint, an
    unknown model name, or weights that do not match the spec's model.
    """
    ckpt = load_checkpoint(path)
    model = build_model(ckpt.spec, ckpt.linkify)
    try:
        model.load_state_dict(ckpt.state_dict, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else first[0]
        raise BadInputError(
            f"{path}: weights do not match model {ckpt.spec.name}: {detail}"
        ) from None
    model.eval()
    return model, ckpt
