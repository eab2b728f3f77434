"""Model inputs, the one source of them for validate, bench, profile and tuning: the
input signature of an ONNX model (or an ONNX Runtime session), seeded random inputs for
it, custom inputs from a .npz file checked against it, and perturbed values for the
initializers a caller may override (no torch here).

Seeded data: ``numpy.random.default_rng([seed, position])`` over the real inputs
(initializers that are graph inputs do not count); standard normal floats, small
non-negative integers, random bools. So a seed means the same data in ``validate`` and
``bench``. An initializer that is also a graph input (older exporters'
keep_initializers_as_inputs) is part of the signature: it is fed its own value, and
:func:`perturbed_initializers` gives seeded new values for it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from linkedonnx.arrays.npz import read_npz_arrays
from linkedonnx.errors import BadInputError
from linkedonnx.onnx_io import constant_initializer_inputs, overridable_initializers

Dim = int | str | None


@dataclass(frozen=True)
class InputSignature:
    """One graph input: ``name``, numpy ``dtype`` and ``dims`` (an int for a fixed size,
    a name or None for a dynamic one). ``initializer`` holds the default value of an
    initializer that is also a graph input (a caller may override it), else None."""

    name: str
    dtype: np.dtype
    dims: tuple[Dim, ...]
    initializer: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def overridable(self) -> bool:
        """Whether this input is an initializer a caller may override."""
        return self.initializer is not None

    def shape(self, batch: int) -> tuple[int, ...]:
        """Concrete shape: every dynamic dim becomes ``batch``."""
        return tuple(d if isinstance(d, int) else batch for d in self.dims)

    def describe(self) -> str:
        """e.g. 'input float32[batch,3,32,32]'."""
        dims = ",".join("?" if d is None else str(d) for d in self.dims)
        return f"{self.name} {self.dtype}[{dims}]"


def signature(model: onnx.ModelProto) -> list[InputSignature]:
    """Every input the model declares, in graph order: the real inputs and the
    initializers that are also graph inputs (with their default value).

    An IR < 4 model's initializers listed as inputs are constants, as ONNX Runtime reads
    them (:func:`linkedonnx.onnx_io.overridable_initializers`): they are left out.
    Raises BadInputError for a non-tensor input or one of unknown element type.
    """
    initializers = {init.name: init for init in model.graph.initializer}
    overridable = set(overridable_initializers(model))
    constants = set(constant_initializer_inputs(model))
    result = []
    for value in model.graph.input:
        if value.name in constants:
            continue
        default = None
        if value.name in overridable:
            default = numpy_helper.to_array(initializers[value.name])
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
        if default is not None:
            dims = list(default.shape)  # an initializer's value fixes its shape
        result.append(InputSignature(value.name, dtype, tuple(dims), default))
    return result


#: ONNX Runtime's input type strings -> numpy dtype.
ORT_DTYPES: dict[str, type] = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
}


def data_inputs(model: onnx.ModelProto) -> list[InputSignature]:
    """The inputs a caller feeds data to: :func:`signature` without the initializers that
    are also graph inputs. Raises BadInputError as :func:`signature` does."""
    return [sig for sig in signature(model) if not sig.overridable]


def session_signature(session: Any) -> list[InputSignature]:
    """The real inputs of an ONNX Runtime InferenceSession (its ``get_inputs()``).

    Raises BadInputError for an input type that cannot be synthesized."""
    result = []
    for arg in session.get_inputs():
        dtype = ORT_DTYPES.get(arg.type)
        if dtype is None:
            raise BadInputError(f"input {arg.name!r} has type {arg.type}, which cannot be fed")
        dims: list[Dim] = []
        for d in arg.shape:  # ORT gives an int, a dim name, None, or -1 for dynamic
            dims.append(d if isinstance(d, int) and d >= 0 else (d if isinstance(d, str) else None))
        result.append(InputSignature(arg.name, np.dtype(dtype), tuple(dims)))
    return result


def session_inputs(session: Any, batch: int = 1, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded inputs for an ONNX Runtime session (:func:`seeded_inputs` over
    :func:`session_signature`): the same data validate feeds for the same seed."""
    return seeded_inputs(session_signature(session), batch, seed)


def random_array(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Seeded data of ``dtype``: standard normal floats, integers in [0, 10), bools;
    always an ndarray (np.asarray: a shape () draw is a numpy scalar)."""
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.floating):
        return np.asarray(rng.standard_normal(shape), dtype=dtype)
    if dtype == np.bool_:
        return np.asarray(rng.integers(0, 2, shape), dtype=np.bool_)
    return np.asarray(rng.integers(0, 10, shape), dtype=dtype)


def seeded_inputs(
    inputs: list[InputSignature], batch: int = 1, seed: int = 0
) -> dict[str, np.ndarray]:
    """Seeded arrays for ``inputs``, dynamic dims set to ``batch``; the ``i``-th real
    input draws from ``default_rng([seed, i])``, an overridable initializer gets its
    own value. Raises BadInputError for batch < 1 or seed < 0."""
    return complete_feeds({}, inputs, batch, seed)


def complete_feeds(
    given: dict[str, np.ndarray], inputs: list[InputSignature], batch: int = 1, seed: int = 0
) -> dict[str, np.ndarray]:
    """``given`` (already checked with :func:`check_feeds`, ``partial=True``) plus seeded
    arrays for every input it lacks, as :func:`seeded_inputs` draws them. A dynamic dim
    that a given array binds (by name) takes that size; other dynamic dims take the
    first bound size, else ``batch``. Returns a new dict in signature order. Raises
    BadInputError for batch < 1 or seed < 0."""
    if batch < 1:
        raise BadInputError(f"batch must be at least 1, got {batch}")
    if seed < 0:
        raise BadInputError(f"seed must be non-negative, got {seed}")
    bound: dict[Dim, int] = {}
    for sig in inputs:
        if sig.name in given:
            for size, dim in zip(given[sig.name].shape, sig.dims, strict=False):
                if not isinstance(dim, int):
                    bound.setdefault(dim, int(size))
    fallback = next(iter(bound.values()), batch)
    feeds: dict[str, np.ndarray] = {}
    position = 0
    for sig in inputs:
        if sig.name in given:
            feeds[sig.name] = given[sig.name]
        elif sig.initializer is not None:
            feeds[sig.name] = np.array(sig.initializer, copy=True)
        else:
            shape = tuple(
                d if isinstance(d, int) else (bound.get(d, fallback) if d else fallback)
                for d in sig.dims
            )
            rng = np.random.default_rng([seed, position])
            feeds[sig.name] = random_array(rng, shape, sig.dtype)
        if sig.initializer is None:
            position += 1
    return feeds


def perturbed_initializers(
    inputs: list[InputSignature], seed: int = 0, names: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Seeded new values for the float overridable initializers among ``inputs`` (all,
    or those in ``names``): each value plus normal noise of a tenth of its standard
    deviation (0.1 where that is 0), never equal to the default. Returns name -> array;
    integer and bool initializers are left out (they are often shapes or indices)."""
    result = {}
    for i, sig in enumerate(inputs):
        default = sig.initializer
        if default is None or not np.issubdtype(default.dtype, np.floating):
            continue
        if names is not None and sig.name not in names:
            continue
        scale = float(np.std(default.astype(np.float64))) * 0.1 if default.size else 0.0
        scale = scale if np.isfinite(scale) and scale > 0 else 0.1
        rng = np.random.default_rng([seed, 1_000_003, i])
        noise = rng.standard_normal(default.shape) * scale
        noise = np.where(noise == 0, scale, noise)
        # np.asarray: 0-d arithmetic gives a numpy scalar, which ONNX Runtime refuses
        result[sig.name] = np.asarray(default.astype(np.float64) + noise, dtype=default.dtype)
    return result


def check_feeds(
    feeds: dict[str, np.ndarray],
    inputs: list[InputSignature],
    origin: str,
    partial: bool = False,
) -> None:
    """Raise BadInputError unless ``feeds`` has exactly the model's inputs (with
    ``partial``, any subset of them; never an unknown name), each with the signature's
    dtype, rank and fixed sizes; dynamic dims must agree across inputs."""
    names = [sig.name for sig in inputs]
    missing = [] if partial else [n for n in names if n not in feeds]
    extra = [n for n in feeds if n not in names]
    if extra and partial:
        raise BadInputError(
            f"{origin}: {', '.join(map(repr, extra))} not among the model's inputs {names}"
        )
    if missing or extra:
        raise BadInputError(
            f"{origin}: arrays {sorted(feeds)} do not match the model's inputs {names}"
        )
    bound: dict[str, int] = {}
    for sig in inputs:
        if sig.name not in feeds:
            continue
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
    """Read custom inputs from a .npz file: arrays by input name, any subset of the
    model's inputs (:func:`complete_feeds` adds the rest); a single unnamed array 'arr_0'
    is accepted for a model with one real input, and a str array for a string input.
    Checked with :func:`check_feeds`.
    Raises BadInputError for a missing/empty/unreadable file, a pickled object array, an
    unknown name, or arrays that do not fit the signature."""
    p, feeds = read_npz_arrays(path, "inputs")
    real = [sig for sig in inputs if not sig.overridable]
    if len(real) == 1 and list(feeds) == ["arr_0"]:
        feeds = {real[0].name: feeds["arr_0"]}
    # an .npz stores text as a numpy str array; ONNX string inputs take object arrays
    strings = {sig.name for sig in inputs if sig.dtype == np.dtype(object)}
    feeds = {
        k: v.astype(object) if k in strings and v.dtype.kind == "U" else v for k, v in feeds.items()
    }
    check_feeds(feeds, inputs, str(p), partial=True)
    return feeds


def batch_of(feeds: dict[str, np.ndarray], inputs: list[InputSignature]) -> int | None:
    """The size fed for the first dynamic dim (the batch), or None when all are fixed."""
    for sig in inputs:
        for axis, dim in enumerate(sig.dims):
            if not isinstance(dim, int):
                return int(feeds[sig.name].shape[axis])
    return None
