"""Checkpoint files: a zoo model's spec and weights in one safetensors file.

Format (``linkedonnx.checkpoint`` version 1), a safetensors file whose
- tensors are the model's state dict under ``model.<key>`` and any extra tensors
  (optimizer state for resuming, ...) under ``extra.<key>``;
- string metadata holds ``format`` = 'linkedonnx.checkpoint', ``format_version`` = '1',
  ``spec`` = the ModelSpec as JSON and ``info`` = a JSON object (epoch, metrics, ...).
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
from linkedonnx.onnx_io import check_readable_file
from linkedonnx.zoo.spec import ModelSpec

FORMAT = "linkedonnx.checkpoint"
FORMAT_VERSION = "1"
_MODEL = "model."
_EXTRA = "extra."


@dataclass
class Checkpoint:
    """A loaded checkpoint: spec, model state dict, info dict and extra tensors."""

    spec: ModelSpec
    state_dict: dict[str, torch.Tensor]
    info: dict[str, Any] = field(default_factory=dict)
    extra_tensors: dict[str, torch.Tensor] = field(default_factory=dict)

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


def save_checkpoint(
    path: str | os.PathLike[str],
    spec: ModelSpec,
    state_dict: dict[str, torch.Tensor],
    info: dict[str, Any] | None = None,
    extra_tensors: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write a checkpoint atomically and return its path. ``info`` must be JSON-serializable."""
    tensors = {_MODEL + k: v.detach().cpu().contiguous().clone() for k, v in state_dict.items()}
    for k, v in (extra_tensors or {}).items():
        tensors[_EXTRA + k] = v.detach().cpu().contiguous().clone()
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "spec": spec.to_json(),
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
    if metadata.get("format_version") != FORMAT_VERSION:
        raise BadInputError(
            f"{p}: unsupported checkpoint version {metadata.get('format_version')!r}"
        )
    spec = ModelSpec.from_json(metadata.get("spec", ""))
    try:
        info = json.loads(metadata.get("info", "{}"))
    except json.JSONDecodeError:
        raise BadInputError(f"{p}: checkpoint info is not valid JSON") from None
    state = {k[len(_MODEL) :]: v for k, v in tensors.items() if k.startswith(_MODEL)}
    extra = {k[len(_EXTRA) :]: v for k, v in tensors.items() if k.startswith(_EXTRA)}
    return Checkpoint(spec=spec, state_dict=state, info=info, extra_tensors=extra)


def load_model(path: str | os.PathLike[str]) -> tuple[torch.nn.Module, Checkpoint]:
    """Build the checkpoint's zoo model and load its weights (eval mode).

    Returns (model, checkpoint). Raises BadInputError for an unreadable checkpoint, an
    unknown model name, or weights that do not match the spec's model.
    """
    from linkedonnx.zoo import build

    ckpt = load_checkpoint(path)
    model = build(ckpt.spec)
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
