"""Comparators: per-output error statistics and a pass/fail verdict (no torch here).

The rule is Polygraphy's: an element passes when |actual - expected| <= atol + rtol *
|expected|. A NaN or infinity in ``actual`` where ``expected`` is finite always fails;
where ``expected`` itself is not finite, ``actual`` must hold the same value (NaN where
NaN, the same infinity). Statistics are computed in float64.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

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


@dataclass
class OutputComparison:
    """The comparison of one output. Errors are over all elements; ``worst_index`` is
    the element furthest beyond its allowed error (ratio |a-b| / (atol + rtol |b|)),
    ``actual_at_worst``/``expected_at_worst`` its values. ``reason`` says why it failed
    ('' when it passed)."""

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

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (non-finite floats as strings)."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, float) and not np.isfinite(value):
                data[key] = str(value)
            elif isinstance(value, tuple):
                data[key] = list(value)
        return data


def _failed_shape(
    name: str, actual: np.ndarray, expected: np.ndarray, atol: float, rtol: float
) -> OutputComparison:
    nan = float("nan")
    return OutputComparison(
        name=name,
        shape=tuple(actual.shape),
        dtype=str(actual.dtype),
        expected_dtype=str(expected.dtype),
        atol=atol,
        rtol=rtol,
        max_abs=nan,
        mean_abs=nan,
        max_rel=nan,
        mean_rel=nan,
        worst_index=(),
        actual_at_worst=nan,
        expected_at_worst=nan,
        mismatched=int(max(actual.size, expected.size)),
        nonfinite=0,
        passed=False,
        reason=f"shape {list(actual.shape)} differs from expected {list(expected.shape)}",
    )


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator elementwise, with x/0 = inf for x > 0 and 0/0 = 0."""
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, numerator / safe, np.where(numerator > 0, np.inf, 0.0))


def compare(
    name: str,
    actual: np.ndarray,
    expected: np.ndarray,
    atol: float | None = None,
    rtol: float | None = None,
) -> OutputComparison:
    """Compare ``actual`` with the reference ``expected``. ``atol``/``rtol`` default by
    dtype (see :func:`default_tolerances`). Returns an OutputComparison; a shape
    mismatch fails (it is a result, not an error)."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    d_atol, d_rtol = default_tolerances(actual.dtype, expected.dtype)
    atol = d_atol if atol is None else float(atol)
    rtol = d_rtol if rtol is None else float(rtol)
    if actual.shape != expected.shape:
        return _failed_shape(name, actual, expected, atol, rtol)
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
    return OutputComparison(
        name=name,
        shape=tuple(actual.shape),
        dtype=str(actual.dtype),
        expected_dtype=str(expected.dtype),
        atol=atol,
        rtol=rtol,
        max_abs=stats[0],
        mean_abs=stats[1],
        max_rel=stats[2],
        mean_rel=stats[3],
        worst_index=worst,
        actual_at_worst=at_worst[0],
        expected_at_worst=at_worst[1],
        mismatched=mismatched,
        nonfinite=nonfinite,
        passed=mismatched == 0,
        reason=reason,
    )
