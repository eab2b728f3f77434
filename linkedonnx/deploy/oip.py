"""The Open Inference Protocol (KServe v2 REST) as data, without a server: model
metadata, inference requests parsed from JSON or the binary tensor extension, and
responses encoded the way ``tritonclient.http`` reads them (no torch, no ray).

Binary tensor extension: the request body is the JSON header (its length in the
``Inference-Header-Content-Length`` header) followed by the raw bytes of each input
whose ``parameters.binary_data_size`` is set, in input order; an output is returned
as raw bytes after the JSON when its ``parameters.binary_data`` is true, or when the
request's ``parameters.binary_data_output`` is and the output does not say otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: OIP datatype <-> numpy dtype (the tensor types an image model takes or gives).
DATATYPES = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
}
NUMPY_TO_DATATYPE = {dtype: name for name, dtype in DATATYPES.items()}
HEADER_LENGTH = "Inference-Header-Content-Length"


class ProtocolError(Exception):
    """A request the server refuses: ``status`` (400, 404, 413, 503, 504) and a one-line
    message, sent as ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    def body(self) -> bytes:
        """The JSON error body."""
        return json.dumps({"error": str(self)}).encode()


@dataclass(frozen=True)
class TensorSpec:
    """A model input or output: name, OIP datatype, shape (-1: any size)."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """As the metadata endpoint lists it."""
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


@dataclass
class InferRequest:
    """A parsed inference request: its ``id``, the input arrays by name, and per
    requested output name whether it goes back as binary data (None: every output,
    in the request's ``binary_data_output`` mode)."""

    id: str | None
    inputs: dict[str, np.ndarray]
    outputs: dict[str, bool] | None
    binary_default: bool = False


@dataclass
class InferResponse:
    """An encoded response: ``body`` bytes and the ``headers`` to send with it."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _fail(message: str) -> ProtocolError:
    return ProtocolError(400, message)


def _input_array(entry: Any, binary: memoryview, offset: int) -> tuple[str, np.ndarray, int]:
    """(name, array, new offset) of one request input, its data from JSON or from
    ``binary`` at ``offset``. Raises ProtocolError 400 for anything malformed."""
    if not isinstance(entry, dict):
        raise _fail("each input must be a JSON object")
    name, datatype, shape = entry.get("name"), entry.get("datatype"), entry.get("shape")
    if not isinstance(name, str):
        raise _fail("an input has no name")
    if datatype not in DATATYPES:
        raise _fail(f"input {name!r}: unsupported datatype {datatype!r}")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise _fail(f"input {name!r}: shape must be a list of non-negative integers")
    dtype = DATATYPES[datatype]
    count = int(np.prod(shape, dtype=np.int64))
    parameters = entry.get("parameters") or {}
    size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
    if size is not None:
        if not isinstance(size, int) or size < 0:
            raise _fail(f"input {name!r}: binary_data_size must be a non-negative integer")
        if size != count * dtype.itemsize:
            raise _fail(
                f"input {name!r}: binary_data_size {size} is not {count} x {dtype.itemsize} bytes "
                f"for {datatype}{shape}"
            )
        if offset + size > len(binary):
            raise _fail(f"input {name!r}: the body ends {offset + size - len(binary)} bytes short")
        array = np.frombuffer(binary[offset : offset + size], dtype=dtype).reshape(shape)
        return name, array, offset + size
    if "data" not in entry:
        raise _fail(f"input {name!r} has neither data nor binary_data_size")
    try:
        array = np.asarray(entry["data"], dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        raise _fail(f"input {name!r}: data is not a list of {datatype} numbers") from None
    if array.size != count:
        raise _fail(f"input {name!r}: {array.size} values for shape {shape} ({count} expected)")
    return name, array.reshape(shape), offset


def parse_request(body: bytes, header_length: str | None = None) -> InferRequest:
    """Parse an inference request body; ``header_length`` is the value of the
    ``Inference-Header-Content-Length`` header (None: the whole body is JSON). Raises
    ProtocolError 400 for malformed JSON, inputs or binary data."""
    if header_length is not None:
        try:
            length = int(header_length)
        except ValueError:
            raise _fail(f"{HEADER_LENGTH} is not an integer: {header_length!r}") from None
        if not 0 < length <= len(body):
            raise _fail(f"{HEADER_LENGTH} {length} is outside the body's {len(body)} bytes")
    else:
        length = len(body)
    try:
        header = json.loads(bytes(body[:length]))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(f"malformed JSON: {exc}") from None
    if not isinstance(header, dict):
        raise _fail("the request must be a JSON object")
    entries = header.get("inputs")
    if not isinstance(entries, list) or not entries:
        raise _fail("the request has no inputs")
    binary, offset, inputs = memoryview(body)[length:], 0, {}
    for entry in entries:
        name, array, offset = _input_array(entry, binary, offset)
        if name in inputs:
            raise _fail(f"input {name!r} is given twice")
        inputs[name] = array
    if offset != len(binary):
        raise _fail(f"{len(binary) - offset} bytes of binary data belong to no input")
    parameters = header.get("parameters") or {}
    binary_default = bool(isinstance(parameters, dict) and parameters.get("binary_data_output"))
    outputs = None
    if header.get("outputs") is not None:
        if not isinstance(header["outputs"], list):
            raise _fail("outputs must be a list")
        outputs = {}
        for entry in header["outputs"]:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise _fail("each requested output needs a name")
            params = entry.get("parameters") or {}
            wanted = params.get("binary_data") if isinstance(params, dict) else None
            outputs[entry["name"]] = binary_default if wanted is None else bool(wanted)
    request_id = header.get("id")
    return InferRequest(
        None if request_id is None else str(request_id), inputs, outputs, binary_default
    )


def encode_response(
    model_name: str, results: dict[str, np.ndarray], request: InferRequest
) -> InferResponse:
    """The response to ``request`` with the model's ``results`` by output name: the
    requested outputs (all when none is named), binary ones after the JSON header.
    Raises ProtocolError 400 for an output name the model does not have."""
    wanted = request.outputs
    if wanted is None:
        wanted = {name: request.binary_default for name in results}
    unknown = sorted(set(wanted) - set(results))
    if unknown:
        raise _fail(f"unknown output(s) {unknown}; the model has {sorted(results)}")
    outputs, chunks = [], []
    for name, binary in wanted.items():
        array = np.ascontiguousarray(results[name])
        datatype = NUMPY_TO_DATATYPE.get(array.dtype)
        if datatype is None:
            raise ProtocolError(
                500, f"output {name!r} has dtype {array.dtype}, which OIP cannot send"
            )
        entry: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(array.shape)}
        if binary:
            raw = array.tobytes()
            entry["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            entry["data"] = array.ravel().tolist()
        outputs.append(entry)
    header: dict[str, Any] = {"model_name": model_name, "model_version": "1", "outputs": outputs}
    if request.id is not None:
        header["id"] = request.id
    text = json.dumps(header).encode()
    headers = {"Content-Type": "application/json"}
    if chunks:
        headers = {"Content-Type": "application/octet-stream", HEADER_LENGTH: str(len(text))}
    return InferResponse(text + b"".join(chunks), headers)


def check_inputs(
    inputs: dict[str, np.ndarray], spec: TensorSpec, accepted: tuple[str, ...]
) -> tuple[np.ndarray, str]:
    """The one image input of a request, checked against the model's ``spec``:
    (array, datatype). ``accepted``: the datatypes the server takes. Raises
    ProtocolError 400 for a wrong or missing name, datatype or shape."""
    if set(inputs) != {spec.name}:
        raise _fail(f"expected the one input {spec.name!r}, got {sorted(inputs)}")
    array = inputs[spec.name]
    datatype = NUMPY_TO_DATATYPE[array.dtype]
    if datatype not in accepted:
        raise _fail(f"input {spec.name!r}: datatype {datatype}; expected one of {list(accepted)}")
    fits = len(array.shape) == len(spec.shape) and all(
        want < 0 or got == want for got, want in zip(array.shape, spec.shape, strict=True)
    )
    if datatype == spec.datatype and not fits:
        raise _fail(
            f"input {spec.name!r}: shape {list(array.shape)}; the model takes {list(spec.shape)}"
        )
    if array.ndim < 1 or array.shape[0] < 1:
        raise _fail(f"input {spec.name!r}: a batch needs at least one row")
    return array, datatype
