"""Comparators: per-output error statistics and a pass/fail verdict (no torch here).

The rule is Polygraphy's: an element passes when |actual - expected| <= atol + rtol *
|expected|. A NaN or infinity in ``actual`` where ``expected`` is finite always fails;
where ``expected`` itself is not finite, ``actual`` must hold the same value (NaN where
NaN, the same infinity), and that is accepted only when finite elements were compared
too: an empty array, or one where no element is finite on both sides, compares nothing
and fails. Statistics are computed in float64.

Default tolerances follow the lowest precision involved: the arrays' dtypes and the
compute precision of the models that made them (:func:`compute_dtype`), so a float16
model with float32 inputs and outputs is held to float16's tolerance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import onnx

#: Default (atol, rtol) per dtype; dtypes not listed use float32's.
DEFAULT_TOLERANCES: dict[str, tuple[float, float]] = {
    "float64": (1e-5, 1e-5),
    "float32": (1e-5, 1e-5),
    "float16": (1e-3, 1e-3),
    "bfloat16": (1e-2, 1e-2),
}


def default_tolerances(*dtypes: np.dtype | str) -> tuple[float, float]:
    """(atol, rtol) for comparing arrays of ``dtypes``: the loosest of their defaults,
    so a float16 model compared with a float32 reference gets the float16 tolerance."""
    pairs = [
        DEFAULT_TOLERANCES.get(str(np.dtype(d)), DEFAULT_TOLERANCES["float32"]) for d in dtypes
    ]
    if not pairs:
        return DEFAULT_TOLERANCES["float32"]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


#: Float element types from the least precise up (ONNX TensorProto codes by name).
_PRECISION_ORDER = ("bfloat16", "float16", "float32", "float64")


def compute_dtype(model: onnx.ModelProto) -> str | None:
    """The lowest float precision a model computes in: the least precise float type among
    its initializers, Constant values, Cast targets and typed values ('float16' for a
    model from ``optimize --fp16`` even when its inputs and outputs are float32). Returns
    a dtype name from bfloat16 / float16 / float32 / float64, or None when the model
    holds no float type."""
    import onnx

    codes = {
        onnx.TensorProto.BFLOAT16: "bfloat16",
        onnx.TensorProto.FLOAT16: "float16",
        onnx.TensorProto.FLOAT: "float32",
        onnx.TensorProto.DOUBLE: "float64",
    }
    seen: set[str] = set()
    graph = model.graph
    for init in graph.initializer:
        seen.add(codes.get(init.data_type, ""))
    for value in (*graph.input, *graph.output, *graph.value_info):
        if value.type.HasField("tensor_type"):
            seen.add(codes.get(value.type.tensor_type.elem_type, ""))
    for node in graph.node:
        for attr in node.attribute:
            if node.op_type == "Cast" and attr.name == "to":
                seen.add(codes.get(attr.i, ""))
            elif attr.type == onnx.AttributeProto.TENSOR:
                seen.add(codes.get(attr.t.data_type, ""))
    for name in _PRECISION_ORDER:
        if name in seen:
            return name
    return None


@dataclass
class OutputComparison:
    """The comparison of one output. Errors are over all elements; ``worst_index`` is
    the element furthest beyond its allowed error (ratio |a-b| / (atol + rtol |b|)),
    ``actual_at_worst``/``expected_at_worst`` its values. ``compared`` counts the
    elements finite on both sides; ``reason`` says why it failed ('' when it passed)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    expected_dtype: str
    atol: float
    rtol: float
    max_abs: float
    mean_abs: float
    max_rel: float
    mean_rel: float
    worst_index: tuple[int, ...]
    actual_at_worst: float
    expected_at_worst: float
    mismatched: int
    nonfinite: int
    passed: bool
    reason: str = ""
    compared: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (non-finite floats as strings)."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, float) and not np.isfinite(value):
                data[key] = str(value)
            elif isinstance(value, tuple):
                data[key] = list(value)
        return data


#: The error statistics of a comparison: max_abs, mean_abs, max_rel, mean_rel, the worst
#: element's index, and the actual and expected values there.
Errors = tuple[float, float, float, float, tuple[int, ...], float, float]


def _result(
    name: str,
    actual: np.ndarray,
    expected: np.ndarray,
    tolerances: tuple[float, float],
    errors: Errors,
    counts: tuple[int, int, int],
    reason: str,
) -> OutputComparison:
    """The OutputComparison of ``actual`` against ``expected`` at ``tolerances`` (atol,
    rtol) with ``errors`` and ``counts`` (mismatched, nonfinite, compared); it passes
    when there is no ``reason`` to fail."""
    max_abs, mean_abs, max_rel, mean_rel, worst, at_worst, expected_at_worst = errors
    mismatched, nonfinite, compared = counts
    return OutputComparison(
        name=name,
        shape=tuple(actual.shape),
        dtype=str(actual.dtype),
        expected_dtype=str(expected.dtype),
        atol=tolerances[0],
        rtol=tolerances[1],
        max_abs=max_abs,
        mean_abs=mean_abs,
        max_rel=max_rel,
        mean_rel=mean_rel,
        worst_index=worst,
        actual_at_worst=at_worst,
        expected_at_worst=expected_at_worst,
        mismatched=mismatched,
        nonfinite=nonfinite,
        passed=not reason,
        reason=reason,
        compared=compared,
    )


def _failed_shape(
    name: str, actual: np.ndarray, expected: np.ndarray, atol: float, rtol: float
) -> OutputComparison:
    nan = float("nan")
    reason = f"shape {list(actual.shape)} differs from expected {list(expected.shape)}"
    mismatched = int(max(actual.size, expected.size))
    errors = (nan, nan, nan, nan, (), nan, nan)
    return _result(name, actual, expected, (atol, rtol), errors, (mismatched, 0, 0), reason)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator elementwise, with x/0 = inf for x > 0 and 0/0 = 0."""
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, numerator / safe, np.where(numerator > 0, np.inf, 0.0))


def _numeric(array: np.ndarray) -> bool:
    """Whether ``array`` holds numbers or bools (not strings or objects)."""
    return array.dtype.kind in "biufc"


def _compare_exactly(
    name: str, actual: np.ndarray, expected: np.ndarray, atol: float, rtol: float
) -> OutputComparison:
    """Element-by-element equality for outputs that are not numbers (strings): the
    error statistics are 0 where all agree and NaN otherwise."""
    equal = np.array(
        [a == e for a, e in zip(actual.ravel(), expected.ravel(), strict=True)], dtype=bool
    )
    mismatched = int(np.count_nonzero(~equal))
    bad = np.flatnonzero(~equal)
    worst = tuple(int(i) for i in np.unravel_index(int(bad[0]), actual.shape)) if bad.size else ()
    stat = float("nan") if mismatched else 0.0
    reason = ""
    if mismatched:
        reason = f"{mismatched} of {actual.size} element(s) differ (compared exactly)"
    elif not actual.size:
        reason = "nothing compared: the output has no elements"
    errors = (stat, stat, stat, stat, worst, stat, stat)
    counts = (mismatched, 0, int(actual.size))
    return _result(name, actual, expected, (atol, rtol), errors, counts, reason)


def compare(
    name: str,
    actual: np.ndarray,
    expected: np.ndarray,
    atol: float | None = None,
    rtol: float | None = None,
    precision: Sequence[str | np.dtype | None] = (),
) -> OutputComparison:
    """Compare ``actual`` with the reference ``expected``. ``atol``/``rtol`` default by
    the arrays' dtypes and the compute ``precision`` of the models behind them (see
    :func:`default_tolerances`, :func:`compute_dtype`; None entries are ignored).
    Returns an OutputComparison; a shape mismatch fails, and so does an array where
    nothing is compared (empty, or no element finite on both sides): results, not
    errors. Outputs that are not numbers (strings) are compared exactly."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    extra = [d for d in precision if d is not None]
    d_atol, d_rtol = default_tolerances(actual.dtype, expected.dtype, *extra)
    atol = d_atol if atol is None else float(atol)
    rtol = d_rtol if rtol is None else float(rtol)
    if actual.shape != expected.shape:
        return _failed_shape(name, actual, expected, atol, rtol)
    if not (_numeric(actual) and _numeric(expected)):
        return _compare_exactly(name, actual, expected, atol, rtol)
    a = actual.astype(np.float64)
    b = expected.astype(np.float64)
    finite_b = np.isfinite(b)
    finite_a = np.isfinite(a)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        same_special = (np.isnan(a) & np.isnan(b)) | (np.isinf(b) & (a == b))
        absdiff = np.where(finite_a & finite_b, np.abs(a - b), np.inf)
        absdiff = np.where(~finite_b & same_special, 0.0, absdiff)
        magnitude = np.abs(np.where(finite_b, b, 0.0))
        allowed = atol + rtol * magnitude
        ok = absdiff <= allowed
        badness = _ratio(absdiff, allowed)
        rel = _ratio(absdiff, magnitude)
    mismatched = int(np.count_nonzero(~ok))
    nonfinite = int(np.count_nonzero(finite_b & ~finite_a))
    compared = int(np.count_nonzero(finite_a & finite_b))
    if a.size:
        flat = int(np.argmax(badness))
        worst = tuple(int(i) for i in np.unravel_index(flat, a.shape))
        stats = (float(absdiff.max()), float(absdiff.mean()), float(rel.max()), float(rel.mean()))
        at_worst = (float(a[worst]), float(b[worst]))
    else:
        worst, stats, at_worst = (), (0.0, 0.0, 0.0, 0.0), (0.0, 0.0)
    reason = ""
    if nonfinite:
        reason = f"{nonfinite} NaN/inf value(s) where the reference is finite"
    elif mismatched:
        reason = f"{mismatched} of {a.size} element(s) beyond atol={atol:g} + rtol={rtol:g}*|ref|"
    elif not a.size:
        reason = "nothing compared: the output has no elements"
    elif not compared:
        reason = "nothing compared: no element is finite on both sides"
    errors = (*stats, worst, *at_worst)
    counts = (mismatched, nonfinite, compared)
    return _result(name, actual, expected, (atol, rtol), errors, counts, reason)


def compare_all(
    names: Sequence[str],
    actual: Sequence[np.ndarray],
    expected: Sequence[np.ndarray],
    atol: float | None = None,
    rtol: float | None = None,
    precision: Sequence[str | np.dtype | None] = (),
) -> list[OutputComparison]:
    """:func:`compare` for each (name, actual, expected) triple, same tolerances and
    precision. Raises ValueError when the three sequences differ in length."""
    if not len(names) == len(actual) == len(expected):
        raise ValueError(
            f"{len(names)} name(s), {len(actual)} actual and {len(expected)} expected array(s)"
        )
    return [
        compare(n, a, e, atol, rtol, precision)
        for n, a, e in zip(names, actual, expected, strict=True)
    ]


def nothing_compared(results: Sequence[OutputComparison]) -> bool:
    """True when ``results`` is empty or none of them compared a finite element."""
    return not any(r.compared for r in results)
