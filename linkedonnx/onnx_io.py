"""Loading and saving ONNX files with one-line errors and atomic writes (no torch here).

Models whose serialized size exceeds :data:`EXTERNAL_DATA_THRESHOLD` (protobuf cannot
write 2 GB into one message), or any model when asked, are written with their weights
in one external data file named ``<model file>.<token>.data``, unique to that write.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import onnx
from google.protobuf.message import EncodeError
from onnx import external_data_helper

from linkedonnx.atomic import (
    after_commit,
    atomic_path,
    final_mode,
    refuse_overwriting_input,
    remove_if_discarded,
)
from linkedonnx.errors import BadInputError, first_line

#: Oldest default-domain opset the passes and functions are written for.
MIN_OPSET = 13

#: The opset an older model is upgraded to before the passes run.
UPGRADE_OPSET = 17

#: The first IR version in which an initializer listed among the graph inputs is an
#: overridable default; before it, ONNX Runtime reads such an initializer as a constant.
MIN_OVERRIDABLE_IR_VERSION = 4

#: Largest absolute difference allowed between a model's outputs before and after the
#: opset upgrade (ONNX Runtime, CPU, no graph optimization).
UPGRADE_ATOL = 1e-5

#: Serialized size (bytes) above which a model is written with external data: below
#: protobuf's 2 GiB limit, with room for the checker's copy. Tests lower it.
EXTERNAL_DATA_THRESHOLD = 2_000_000_000

#: Tensors at least this large (bytes) go to the external data file (onnx's default).
EXTERNAL_TENSOR_MIN_BYTES = 1024


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


def load_model(path: str | os.PathLike[str]) -> onnx.ModelProto:
    """Load an ONNX model with its external data and check it (the checker without
    shape inference; :func:`linkedonnx.onnx_read.read_model` adds the full check and
    the rest of the reading step for the commands that write a model).

    Returns the ModelProto. Raises BadInputError (one line) for a missing, empty,
    non-ONNX, truncated or invalid file, or missing external data.
    """
    p = check_readable_file(path)
    try:
        model = onnx.load(str(p), load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError and friends
        raise BadInputError(f"{p} is not a readable ONNX file ({type(exc).__name__})") from None
    if not model.graph.node and not model.graph.output:
        raise BadInputError(f"{p} is not an ONNX model (no graph found)")
    external = external_locations(model)
    try:
        _internalize(model, p.parent)
    except Exception as exc:  # OSError, or onnx's ValidationError for a missing/bad file
        raise BadInputError(
            f"{p}: external weight data is missing or unreadable ({first_line(exc)})"
        ) from None
    try:
        # a large model is checked on its path: the in-memory check serializes it
        onnx.checker.check_model(str(p) if external and needs_external_data(model) else model)
    except Exception as exc:
        raise BadInputError(f"{p} is not a valid ONNX model: {first_line(exc)}") from None
    return model


def default_opset(model: onnx.ModelProto) -> int:
    """Return the model's default-domain ('' / 'ai.onnx') opset version (0 if none)."""
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    return 0


def overridable_initializers(model: onnx.ModelProto) -> list[str]:
    """Names of the initializers a caller may override at run time, in graph-input order:
    those listed among the graph inputs, from IR version
    :data:`MIN_OVERRIDABLE_IR_VERSION` on. Below it ONNX Runtime reads them as constants
    (they are not inputs at all), so the list is empty. The one rule for passes,
    validate and quantize."""
    if model.ir_version < MIN_OVERRIDABLE_IR_VERSION:
        return []
    initializers = {init.name for init in model.graph.initializer}
    return [value.name for value in model.graph.input if value.name in initializers]


def constant_initializer_inputs(model: onnx.ModelProto) -> list[str]:
    """Names of the graph inputs that an IR < 4 model also stores as initializers: ONNX
    Runtime reads them as constants, not as inputs (empty from IR 4 on)."""
    if model.ir_version >= MIN_OVERRIDABLE_IR_VERSION:
        return []
    initializers = {init.name for init in model.graph.initializer}
    return [value.name for value in model.graph.input if value.name in initializers]


def external_locations(model: onnx.ModelProto) -> list[str]:
    """The external data files (relative locations) ``model``'s tensors point to, in
    first-seen order; empty for a self-contained model."""
    found: dict[str, None] = {}
    for tensor in external_data_helper._get_all_tensors(model):
        if external_data_helper.uses_external_data(tensor):
            info = external_data_helper.ExternalDataInfo(tensor)
            found[info.location] = None
    return list(found)


def _internalize(model: onnx.ModelProto, folder: Path) -> None:
    """Read every external tensor of ``model`` from ``folder`` into the proto and mark it
    internal again, so the proto is self-contained. Raises OSError/ValidationError for a
    missing or short data file."""
    for tensor in external_data_helper._get_all_tensors(model):
        if external_data_helper.uses_external_data(tensor):
            if not tensor.HasField("raw_data"):
                external_data_helper.load_external_data_for_tensor(tensor, str(folder))
            tensor.ClearField("data_location")
            del tensor.external_data[:]


def needs_external_data(model: onnx.ModelProto) -> bool:
    """True when ``model`` must be written with external data: its size exceeds
    :data:`EXTERNAL_DATA_THRESHOLD` (its tensors' bytes alone, or the whole message;
    protobuf cannot even size a message over 2 GiB)."""
    if sum(map(_tensor_bytes, external_data_helper._get_all_tensors(model))) > (
        EXTERNAL_DATA_THRESHOLD
    ):
        return True  # without ByteSize, which serializes the whole model to measure it
    try:
        return model.ByteSize() > EXTERNAL_DATA_THRESHOLD
    except EncodeError:  # "Failed to serialize proto": the message is over 2 GiB
        return True


def file_if_large(
    model: onnx.ModelProto, path: str | os.PathLike[str]
) -> onnx.ModelProto | str | os.PathLike[str]:
    """What to hand ONNX Runtime for ``model``, read from ``path``: the file when the
    model is too large to serialize (:func:`needs_external_data`; ORT reads the file and
    its external data), else the proto itself."""
    return path if needs_external_data(model) else model


def _tensor_bytes(tensor: onnx.TensorProto) -> int:
    """The bytes of ``tensor``'s elements, from its shape and type (0 for strings and
    unknown types): reading ``raw_data`` to measure it would copy it."""
    if tensor.data_type in (0, onnx.TensorProto.STRING):
        return 0
    try:
        itemsize = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    except (KeyError, ValueError, TypeError):
        return 0
    return math.prod(tensor.dims) * itemsize


def _data_file_pattern(out: Path) -> re.Pattern[str]:
    """Names this writer gives ``out``'s external data files."""
    return re.compile(re.escape(out.name) + r"\.[0-9a-f]{16}\.data")


def save_model(
    model: onnx.ModelProto,
    path: str | os.PathLike[str],
    *,
    inputs: tuple[str | os.PathLike[str], ...] = (),
    external_data: bool = False,
    check: bool = False,
    check_written: Callable[[Path], None] | None = None,
) -> Path:
    """Write ``model`` to ``path`` atomically; refuse to overwrite any of ``inputs``.

    With ``external_data``, or when the model exceeds :data:`EXTERNAL_DATA_THRESHOLD`,
    the weights go to ``<path>.<token>.data`` beside it (a name unique to this write),
    renamed into place before the model file; the data file the previous ``path`` used
    (one this writer named) is removed afterwards. Inside
    :func:`linkedonnx.atomic.reserve_outputs` the old data file goes only when the
    reservation commits, and the new one is removed if it is discarded. ``model`` is
    left as it was given.
    With ``check``, ``onnx.checker``'s full check runs before the file replaces
    ``path``: on the written file when the data is external, else on the proto; and
    ``check_written`` (e.g. an ONNX Runtime load) is called with the written file (its
    temporary name, beside its data) before it replaces ``path``.
    Returns the written path. Raises BadInputError for an output that is an input or a
    folder, or a missing output folder; RuntimeError when the check fails (nothing is
    replaced then).
    """
    out = Path(path)
    refuse_overwriting_input(out, *(Path(i) for i in inputs))
    if out.is_dir():
        raise BadInputError(f"output path {out} is a directory")
    old = _previous_data(out, inputs)
    if external_data or needs_external_data(model):
        location = _save_external(model, out, check, check_written)
    else:
        location = None
        if check:
            check_full(model, "the written model")
        with atomic_path(out) as tmp:
            onnx.save_model(model, str(tmp))
            if check_written is not None:
                check_written(tmp)
    stale = [out.parent / previous for previous in old - {location}]
    after_commit(out, lambda: _remove(stale))  # inside reserve_outputs: once out is replaced
    return out


def _remove(paths: list[Path]) -> None:
    """Remove each file of ``paths`` that exists."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def check_full(
    model: onnx.ModelProto | str,
    what: str = "the model",
    error: type[Exception] = RuntimeError,
) -> None:
    """Run ``onnx.checker``'s full check on a proto or a file path (a path for a model
    too large to serialize). Raises ``error`` ('<what> fails the ONNX checker: <first
    line>') when it fails."""
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:
        raise error(f"{what} fails the ONNX checker: {first_line(exc, str(exc))}") from exc


def _previous_data(out: Path, inputs: tuple[str | os.PathLike[str], ...]) -> set[str]:
    """The data files of the model now at ``out`` that this writer named and that no
    input model uses (those are safe to remove once ``out`` is replaced)."""
    if not out.is_file():
        return set()
    with contextlib.suppress(Exception):
        old = onnx.load(str(out), load_external_data=False)
        pattern = _data_file_pattern(out)
        mine = {loc for loc in external_locations(old) if pattern.fullmatch(loc)}
        for inp in inputs:
            with contextlib.suppress(Exception):
                used = onnx.load(str(inp), load_external_data=False)
                folder = Path(inp).parent.resolve()
                if folder == out.parent.resolve():
                    mine -= set(external_locations(used))
        return mine
    return set()


def _save_external(
    model: onnx.ModelProto,
    out: Path,
    check: bool,
    check_written: Callable[[Path], None] | None = None,
) -> str:
    """Write ``model`` to ``out`` with its weights in a new data file beside it (renamed
    into place before the model); return the data file's name. ``model`` is restored to
    a self-contained proto whatever happens."""
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise BadInputError(f"output folder {folder} does not exist")
    location = f"{out.name}.{secrets.token_hex(8)}.data"
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=folder))
    data = folder / location
    moved = False
    try:
        external_data_helper.convert_model_to_external_data(
            model, location=location, size_threshold=EXTERNAL_TENSOR_MIN_BYTES
        )
        external_data_helper.write_external_data_tensors(model, str(staging))
        if (staging / location).exists():
            # onnx creates the data file 0o600: give it the model file's permissions
            os.chmod(staging / location, final_mode(out))
            os.replace(staging / location, data)  # the data first, under its final name
            moved = True
            remove_if_discarded(out, data)  # inside reserve_outputs: gone if the work fails
        with atomic_path(out) as tmp:
            onnx.save_model(model, str(tmp))
            if check:
                check_full(str(tmp), "the written model")
            if check_written is not None:
                check_written(tmp)
    except BaseException:
        if moved:
            _internalize(model, folder)
            data.unlink(missing_ok=True)
        else:
            _internalize(model, staging)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _internalize(model, folder)
    return location
