"""A Triton Inference Server model repository entry for an ONNX model: ``REPO/NAME/1/
model.onnx`` (the ``optimize --target`` output, plain ONNX without model-local
functions) and ``REPO/NAME/config.pbtxt`` for the ONNX Runtime backend, written all or
nothing (no torch, no tritonclient: the config is protobuf text format written here).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx

from linkedonnx.errors import BadInputError

#: numpy dtype -> Triton's DataType enum name (model_config.proto).
TRITON_TYPES = {
    np.dtype(np.bool_): "TYPE_BOOL",
    np.dtype(np.uint8): "TYPE_UINT8",
    np.dtype(np.int8): "TYPE_INT8",
    np.dtype(np.int16): "TYPE_INT16",
    np.dtype(np.int32): "TYPE_INT32",
    np.dtype(np.int64): "TYPE_INT64",
    np.dtype(np.float16): "TYPE_FP16",
    np.dtype(np.float32): "TYPE_FP32",
    np.dtype(np.float64): "TYPE_FP64",
}
KINDS = {"cpu": "KIND_CPU", "cuda": "KIND_GPU"}
DEFAULT_MAX_BATCH = 32


@dataclass(frozen=True)
class TensorConfig:
    """One input or output: ``name``, Triton ``data_type`` and ``dims`` without the
    batch axis when the model batches (-1 for a dynamic size)."""

    name: str
    data_type: str
    dims: tuple[int, ...]


@dataclass
class TritonConfig:
    """What config.pbtxt says (see :meth:`to_pbtxt`)."""

    name: str
    max_batch_size: int
    inputs: list[TensorConfig]
    outputs: list[TensorConfig]
    kind: str = "KIND_CPU"
    instances: int = 1
    preferred_batch_sizes: list[int] = field(default_factory=list)
    queue_delay_us: int = 0
    parameters: dict[str, str] = field(default_factory=dict)

    def to_pbtxt(self) -> str:
        """The configuration in protobuf text format (Triton's ModelConfig message)."""
        lines = [
            f"name: {_quoted(self.name)}",
            'backend: "onnxruntime"',
            f"max_batch_size: {self.max_batch_size}",
        ]
        for kind, tensors in (("input", self.inputs), ("output", self.outputs)):
            for t in tensors:
                dims = ", ".join(str(d) for d in t.dims)
                lines.append(
                    f"{kind} {{ name: {_quoted(t.name)} data_type: {t.data_type} dims: [ {dims} ] }}"
                )
        lines.append(f"instance_group {{ count: {self.instances} kind: {self.kind} }}")
        if self.max_batch_size > 0:
            batching = [f"max_queue_delay_microseconds: {self.queue_delay_us}"]
            if self.preferred_batch_sizes:
                sizes = ", ".join(str(s) for s in self.preferred_batch_sizes)
                batching.insert(0, f"preferred_batch_size: [ {sizes} ]")
            lines.append(f"dynamic_batching {{ {' '.join(batching)} }}")
        for key, value in self.parameters.items():
            lines.append(
                f"parameters {{ key: {_quoted(key)} value {{ string_value: {_quoted(value)} }} }}"
            )
        return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    """``text`` as a protobuf text-format string literal (UTF-8 bytes escaped in octal)."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def _value_type(value: onnx.ValueInfoProto) -> tuple[np.dtype, list[int | None]]:
    """(numpy dtype, dims with None for dynamic) of a graph input or output."""
    tensor = value.type.tensor_type
    if not value.type.HasField("tensor_type") or not tensor.HasField("shape"):
        raise BadInputError(f"{value.name!r} is not a tensor of known rank; Triton needs dims")
    dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type))
    dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
    return dtype, dims


def triton_config(
    model: onnx.ModelProto,
    name: str,
    *,
    max_batch_size: int = DEFAULT_MAX_BATCH,
    instances: int = 1,
    target: str = "cpu",
    preferred_batch_sizes: list[int] | None = None,
    queue_delay_us: int = 0,
) -> TritonConfig:
    """The Triton configuration of ``model``: its data inputs and outputs with Triton
    data types and dims (the batch axis removed when ``max_batch_size`` > 0), the
    instance group for ``target``, dynamic batching, and the recorded preprocessing as
    the parameter ``linkedonnx.preprocess``. Raises BadInputError for bad options, a
    tensor type Triton has no name for, or a first axis that is not a batch axis
    (a fixed size or a rank-0 tensor) while ``max_batch_size`` > 0."""
    from linkedonnx.arrays.preprocess import METADATA_KEY, read_preprocess
    from linkedonnx.runtime.inputs import data_inputs

    if target not in KINDS:
        raise BadInputError(f"unknown target {target!r}; expected one of {', '.join(KINDS)}")
    if max_batch_size < 0:
        raise BadInputError(f"--max-batch-size must be 0 or more, got {max_batch_size}")
    if instances < 1:
        raise BadInputError(f"--instances must be at least 1, got {instances}")
    if queue_delay_us < 0:
        raise BadInputError(f"--queue-delay-us must be 0 or more, got {queue_delay_us}")
    preferred = sorted(set(preferred_batch_sizes or []))
    if preferred and max_batch_size == 0:
        raise BadInputError("--preferred-batch-size needs dynamic batching (--max-batch-size > 0)")
    for size in preferred:
        if not 1 <= size <= max_batch_size:
            raise BadInputError(
                f"--preferred-batch-size {size} is outside 1..{max_batch_size} (--max-batch-size)"
            )
    real = {sig.name for sig in data_inputs(model)}
    tensors: dict[str, list[TensorConfig]] = {"input": [], "output": []}
    for kind, values in (
        ("input", [v for v in model.graph.input if v.name in real]),
        ("output", list(model.graph.output)),
    ):
        for value in values:
            dtype, dims = _value_type(value)
            if dtype not in TRITON_TYPES:
                raise BadInputError(
                    f"{kind} {value.name!r} has type {dtype}, which Triton cannot take"
                )
            if max_batch_size > 0:
                if not dims or dims[0] is not None:
                    first = "no axis" if not dims else f"a fixed first axis of {dims[0]}"
                    raise BadInputError(
                        f"{kind} {value.name!r} has {first}, not a batch axis; give "
                        "--max-batch-size 0 for a fixed-batch model"
                    )
                dims = dims[1:]
            tensors[kind].append(
                TensorConfig(
                    value.name, TRITON_TYPES[dtype], tuple(-1 if d is None else d for d in dims)
                )
            )
    parameters = {}
    preprocess = read_preprocess(model)
    if preprocess is not None:
        parameters[METADATA_KEY] = preprocess.to_json()
    return TritonConfig(
        name=name,
        max_batch_size=max_batch_size,
        inputs=tensors["input"],
        outputs=tensors["output"],
        kind=KINDS[target],
        instances=instances,
        preferred_batch_sizes=preferred,
        queue_delay_us=queue_delay_us,
        parameters=parameters,
    )


@dataclass
class TritonEntry:
    """What :func:`write_repository` wrote: the model folder, its files, the config."""

    folder: Path
    model_file: Path
    config_file: Path
    config: TritonConfig


def _check_name(name: str) -> None:
    if not name or name in (".", "..") or "/" in name or os.sep in name or name.startswith("."):
        raise BadInputError(f"model name {name!r} must be a plain folder name")


def write_repository(
    model_path: str | os.PathLike[str],
    repo: str | os.PathLike[str],
    name: str | None = None,
    *,
    max_batch_size: int = DEFAULT_MAX_BATCH,
    instances: int = 1,
    target: str = "cpu",
    preferred_batch_sizes: list[int] | None = None,
    queue_delay_us: int = 0,
    overwrite: bool = False,
) -> TritonEntry:
    """Write the Triton entry ``repo/NAME/`` (NAME: the model file's stem) for the ONNX
    file ``model_path``: ``1/model.onnx`` optimized for ``target`` and ``config.pbtxt``
    (see :func:`triton_config`). All or nothing: both files are reserved first and
    renamed into place together; folders this call created are removed on failure.
    Raises BadInputError for a bad model or option, or an existing entry without
    ``overwrite``."""
    from linkedonnx.atomic import check_output_folder, reserve_outputs
    from linkedonnx.onnx_io import save_model
    from linkedonnx.onnx_read import read_model
    from linkedonnx.passes.optimize import optimize, verify

    source = Path(model_path)
    name = name if name is not None else source.stem
    _check_name(name)
    folder = Path(repo) / name
    check_output_folder(folder)
    if folder.exists() and not overwrite:
        raise BadInputError(f"{folder} exists; give --overwrite to replace its model and config")
    read = read_model(source)
    if read.stopped is not None:  # an old opset the upgrade could not take: as given
        optimized = read.given
    else:
        optimized, _ = optimize(read.model, target)  # type: ignore[arg-type]
    verify(optimized)
    config = triton_config(
        optimized,
        name,
        max_batch_size=max_batch_size,
        instances=instances,
        target=target,
        preferred_batch_sizes=preferred_batch_sizes,
        queue_delay_us=queue_delay_us,
    )
    version = folder / "1"
    created = [p for p in (Path(repo), folder, version) if not p.exists()]
    version.mkdir(parents=True, exist_ok=True)
    model_file, config_file = version / "model.onnx", folder / "config.pbtxt"
    try:
        with reserve_outputs(model_file, config_file, inputs=(source,)) as reservation:
            save_model(optimized, model_file, inputs=(source,))
            reservation.write_text(config_file, config.to_pbtxt())
    except BaseException:
        if created:  # the outermost folder this call made, with what it holds
            shutil.rmtree(created[0], ignore_errors=True)
        raise
    return TritonEntry(folder, model_file, config_file, config)
