"""Model inputs for parity checks: the input signature of an ONNX model, seeded random
inputs for it, and custom inputs from a .npz file checked against it (no torch here).

Seeded data follows the benchmark's scheme (``numpy.random.default_rng([seed,
position])``; standard normal floats, small non-negative integers, random bools), so a
seed means the same data in ``validate`` and ``bench``.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from linkedonnx.errors import BadInputError
from linkedonnx.onnx_io import check_readable_file

Dim = int | str | None


@dataclass(frozen=True)
class InputSignature:
    """One graph input: ``name``, numpy ``dtype`` and ``dims`` (an int for a fixed size,
    a name or None for a dynamic one)."""

    name: str
    dtype: np.dtype
    dims: tuple[Dim, ...]

    def shape(self, batch: int) -> tuple[int, ...]:
        """Concrete shape: every dynamic dim becomes ``batch``."""
        return tuple(d if isinstance(d, int) else batch for d in self.dims)

    def describe(self) -> str:
        """e.g. 'input float32[batch,3,32,32]'."""
        dims = ",".join("?" if d is None else str(d) for d in self.dims)
        return f"{self.name} {self.dtype}[{dims}]"


def signature(model: onnx.ModelProto) -> list[InputSignature]:
    """The model's real inputs (graph inputs that are not initializers), in order.

    Raises BadInputError for a non-tensor input or one of unknown element type.
    """
    initializers = {init.name for init in model.graph.initializer}
    result = []
    for value in model.graph.input:
        if value.name in initializers:
            continue
        if not value.type.HasField("tensor_type"):
            raise BadInputError(f"input {value.name!r} is not a tensor; cannot feed it")
        tensor = value.type.tensor_type
        try:
            dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type))
        except Exception:
            raise BadInputError(
                f"input {value.name!r} has element type {tensor.elem_type}, which cannot be fed"
            ) from None
        dims: list[Dim] = []
        for dim in tensor.shape.dim:
            if dim.HasField("dim_value") and dim.dim_value >= 0:
                dims.append(int(dim.dim_value))
            else:
                dims.append(dim.dim_param or None)
        result.append(InputSignature(value.name, dtype, tuple(dims)))
    return result


def random_array(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Seeded data of ``dtype``: standard normal floats, integers in [0, 10), bools."""
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.floating):
        return rng.standard_normal(shape).astype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    return rng.integers(0, 10, shape).astype(dtype)


def seeded_inputs(
    inputs: list[InputSignature], batch: int = 1, seed: int = 0
) -> dict[str, np.ndarray]:
    """Seeded arrays for ``inputs``, dynamic dims set to ``batch``; input ``i`` draws
    from ``default_rng([seed, i])``. Raises BadInputError for batch < 1 or seed < 0."""
    if batch < 1:
        raise BadInputError(f"batch must be at least 1, got {batch}")
    if seed < 0:
        raise BadInputError(f"seed must be non-negative, got {seed}")
    return {
        sig.name: random_array(np.random.default_rng([seed, i]), sig.shape(batch), sig.dtype)
        for i, sig in enumerate(inputs)
    }


def check_feeds(feeds: dict[str, np.ndarray], inputs: list[InputSignature], origin: str) -> None:
    """Raise BadInputError unless ``feeds`` has exactly the model's inputs, each with the
    signature's dtype, rank and fixed sizes; dynamic dims must agree across inputs."""
    names = [sig.name for sig in inputs]
    missing = [n for n in names if n not in feeds]
    extra = [n for n in feeds if n not in names]
    if missing or extra:
        raise BadInputError(
            f"{origin}: arrays {sorted(feeds)} do not match the model's inputs {names}"
        )
    bound: dict[str, int] = {}
    for sig in inputs:
        array = feeds[sig.name]
        if array.dtype != sig.dtype:
            raise BadInputError(
                f"{origin}: input {sig.name!r} has dtype {array.dtype}; the model wants {sig.dtype}"
            )
        if array.ndim != len(sig.dims):
            raise BadInputError(
                f"{origin}: input {sig.name!r} has rank {array.ndim} (shape {list(array.shape)}); "
                f"the model wants rank {len(sig.dims)} ({sig.describe()})"
            )
        for axis, (size, dim) in enumerate(zip(array.shape, sig.dims, strict=True)):
            if isinstance(dim, int) and size != dim:
                raise BadInputError(
                    f"{origin}: input {sig.name!r} has size {size} on axis {axis}; "
                    f"the model wants {dim} ({sig.describe()})"
                )
            if isinstance(dim, str) and bound.setdefault(dim, size) != size:
                raise BadInputError(
                    f"{origin}: dimension {dim!r} is {bound[dim]} in one input and {size} in "
                    f"input {sig.name!r}"
                )


def load_inputs(
    path: str | os.PathLike[str], inputs: list[InputSignature]
) -> dict[str, np.ndarray]:
    """Read custom inputs from a .npz file (one array per model input, by input name; a
    single unnamed array 'arr_0' is accepted for a one-input model) and check them with
    :func:`check_feeds`. Raises BadInputError for a missing/empty/unreadable file, a
    pickled object array, or arrays that do not fit the signature."""
    p = check_readable_file(path, "inputs")
    try:
        with np.load(Path(p), allow_pickle=False) as data:
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise BadInputError(f"{p} is a single .npy array; expected a .npz archive")
            feeds = {key: data[key] for key in data.files}
    except BadInputError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise BadInputError(f"{p} is not a readable .npz file ({type(exc).__name__})") from None
    if len(inputs) == 1 and list(feeds) == ["arr_0"]:
        feeds = {inputs[0].name: feeds["arr_0"]}
    check_feeds(feeds, inputs, str(p))
    return feeds


def batch_of(feeds: dict[str, np.ndarray], inputs: list[InputSignature]) -> int | None:
    """The size fed for the first dynamic dim (the batch), or None when all are fixed."""
    for sig in inputs:
        for axis, dim in enumerate(sig.dims):
            if not isinstance(dim, int):
                return int(feeds[sig.name].shape[axis])
    return None
