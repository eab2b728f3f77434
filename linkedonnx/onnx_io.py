"""Loading and saving ONNX files with one-line errors and atomic writes (no torch here)."""

from __future__ import annotations

import os
from pathlib import Path

import onnx

from linkedonnx.atomic import atomic_path, refuse_overwriting_input
from linkedonnx.errors import BadInputError, first_line

#: Oldest default-domain opset the passes and functions are written for.
MIN_OPSET = 13


def check_readable_file(path: str | os.PathLike[str], what: str = "model") -> Path:
    """Return ``path`` as a Path; raise BadInputError if it is missing, a folder or empty."""
    p = Path(path)
    if not p.exists():
        raise BadInputError(f"{what} file {p} does not exist")
    if p.is_dir():
        raise BadInputError(f"{what} path {p} is a directory, not a file")
    if p.stat().st_size == 0:
        raise BadInputError(f"{what} file {p} is empty")
    return p


def load_model(path: str | os.PathLike[str], *, min_opset: int | None = None) -> onnx.ModelProto:
    """Load an ONNX model with its external data and check it.

    Returns the ModelProto. Raises BadInputError (one line) for a missing, empty,
    non-ONNX, truncated or invalid file, missing external data, or (when ``min_opset``
    is given) a default-domain opset older than ``min_opset``.
    """
    p = check_readable_file(path)
    try:
        model = onnx.load(str(p), load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError and friends
        raise BadInputError(f"{p} is not a readable ONNX file ({type(exc).__name__})") from None
    if not model.graph.node and not model.graph.output:
        raise BadInputError(f"{p} is not an ONNX model (no graph found)")
    try:
        onnx.load_external_data_for_model(model, str(p.parent))
    except Exception as exc:  # OSError, or onnx's ValidationError for a missing/bad file
        raise BadInputError(
            f"{p}: external weight data is missing or unreadable ({first_line(exc)})"
        ) from None
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        raise BadInputError(f"{p} is not a valid ONNX model: {first_line(exc)}") from None
    if min_opset is not None:
        opset = default_opset(model)
        if opset < min_opset:
            raise BadInputError(
                f"{p} uses ONNX opset {opset}; linkedonnx needs opset {min_opset} or newer "
                "(upgrade it with onnx.version_converter)"
            )
    return model


def default_opset(model: onnx.ModelProto) -> int:
    """Return the model's default-domain ('' / 'ai.onnx') opset version (0 if none)."""
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    return 0


def save_model(
    model: onnx.ModelProto,
    path: str | os.PathLike[str],
    *,
    inputs: tuple[str | os.PathLike[str], ...] = (),
) -> Path:
    """Write ``model`` to ``path`` atomically; refuse to overwrite any of ``inputs``.

    Models over 1.8 GB would need external data, which this writer refuses (BadInputError).
    Returns the written path.
    """
    out = Path(path)
    refuse_overwriting_input(out, *(Path(i) for i in inputs))
    if out.is_dir():
        raise BadInputError(f"output path {out} is a directory")
    if model.ByteSize() > 1_800_000_000:
        raise BadInputError("model is larger than 1.8 GB; external-data output is not supported")
    with atomic_path(out) as tmp:
        onnx.save_model(model, str(tmp))
    return out
