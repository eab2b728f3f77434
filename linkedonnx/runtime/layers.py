"""Per-layer parity: each comparison point of a model against the same point of a
reference, in graph order, naming the first layer over tolerance (no torch here).

The model's points come from :mod:`linkedonnx.runtime.points`; the reference hands over
a :class:`Trace` (arrays by module path and kind), made by :func:`onnx_trace` for an
ONNX reference or by the torch side's forward hooks (``linkedonnx.reference_torch``).
Every row uses :func:`linkedonnx.runtime.compare.compare`, the comparator of the final
outputs, with the same tolerances.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx

from linkedonnx.runtime.compare import OutputComparison, compare
from linkedonnx.runtime.points import (
    Loader,
    Point,
    all_points,
    capture,
    folded_batch_norms,
    module_paths,
)

Key = tuple[str, str]


@dataclass
class Trace:
    """A reference's per-layer values: (module path, 'z' or 'output') -> array, and
    ``batch_norm_after``: module path P -> batch-norm module Q that reads P's output
    (a model that folded Q shows Q's output under P's name)."""

    values: dict[Key, np.ndarray] = field(default_factory=dict)
    batch_norm_after: dict[str, str] = field(default_factory=dict)


@dataclass
class LayerRow:
    """One compared point: its module ``path``, ``kind`` and the comparison."""

    path: str
    kind: str
    comparison: OutputComparison

    @property
    def label(self) -> str:
        """e.g. 'conv4.1 z'."""
        return f"{self.path} z" if self.kind == "z" else self.path

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: path, kind and the comparison's fields."""
        return {"path": self.path, "kind": self.kind, **self.comparison.to_dict()}


@dataclass
class LayerReport:
    """Rows in graph order, and the model's points the reference had no value for."""

    rows: list[LayerRow] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)

    @property
    def first_drift(self) -> LayerRow | None:
        """The first row over tolerance, or None."""
        return next((r for r in self.rows if not r.comparison.passed), None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: rows, first drift (its label or None), unmatched points."""
        first = self.first_drift
        return {
            "first_drift": None if first is None else first.label,
            "rows": [r.to_dict() for r in self.rows],
            "unmatched": self.unmatched,
        }


def onnx_trace(
    model: onnx.ModelProto,
    feeds: dict[str, np.ndarray],
    provider: str = "cpu",
    optimization: str = "all",
    load: Loader | None = None,
) -> Trace:
    """The per-layer values of an ONNX reference ``model`` on ``feeds`` (every point of
    :func:`~linkedonnx.runtime.points.all_points`, captured on ``provider``'s runner or
    on the one ``load`` makes; see :func:`~linkedonnx.runtime.points.capture`)."""
    points = all_points(model)
    values = capture(model, points, feeds, provider, optimization, load) if points else {}
    return Trace(
        values={p.key: a for p, a in values.items()},
        batch_norm_after=folded_batch_norms(model),
    )


def _expected(point: Point, trace: Trace, own_paths: set[str]) -> np.ndarray | None:
    if point.kind == "output":
        after = trace.batch_norm_after.get(point.path)
        if after is not None and after not in own_paths:  # the model folded that norm
            return trace.values.get((after, "output"))
    return trace.values.get(point.key)


def compare_layers(
    model: onnx.ModelProto,
    values: dict[Point, np.ndarray],
    trace: Trace,
    atol: float | None = None,
    rtol: float | None = None,
    precision: Sequence[str | np.dtype | None] = (),
) -> LayerReport:
    """Compare the model's captured point ``values`` with the reference ``trace``.

    A point becomes a row when the reference has a value of the same shape for it;
    the others are listed in ``unmatched``. Tolerances as in
    :func:`linkedonnx.runtime.compare.compare`. Returns a LayerReport."""
    own_paths = module_paths(model)
    report = LayerReport()
    for point in sorted(values, key=lambda p: (p.position, p.kind != "z")):
        expected = _expected(point, trace, own_paths)
        actual = values[point]
        if expected is None or np.shape(expected) != np.shape(actual):
            report.unmatched.append(point.label)
            continue
        result = compare(point.label, actual, expected, atol, rtol, precision)
        report.rows.append(LayerRow(point.path, point.kind, result))
    return report


def plot_layers(report: LayerReport, path: str | os.PathLike[str], title: str = "") -> None:
    """Draw max and mean absolute error per row (log scale, graph order) as a PNG at
    ``path`` (written atomically) under ``title``; rows over tolerance are marked in red
    and the first one is named. Imports matplotlib (Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from linkedonnx.atomic import atomic_path

    rows = report.rows
    x = np.arange(len(rows))

    def visible(value: float) -> float:  # log scale: zero drawn at 1e-12, NaN left out
        return max(value, 1e-12) if np.isfinite(value) else np.nan

    max_abs = [visible(r.comparison.max_abs) for r in rows]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(rows) + 2), 4.5))
    ax.plot(x, max_abs, marker="o", label="max abs error")
    ax.plot(x, [visible(r.comparison.mean_abs) for r in rows], marker=".", label="mean abs error")
    ax.plot(x, [visible(r.comparison.atol) for r in rows], ls="--", color="gray", label="atol")
    failed = [i for i, r in enumerate(rows) if not r.comparison.passed]
    if failed:
        ax.scatter(
            failed, [max_abs[i] for i in failed], color="red", zorder=3, label="over tolerance"
        )
        verdict = f"first layer over tolerance: {rows[failed[0]].label}"
    else:
        verdict = "every layer within tolerance"
    ax.set_title(f"{title}\n{verdict}" if title else verdict, fontsize=10)
    ax.set_yscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels([r.label for r in rows], rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("error (0 drawn at 1e-12)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best", framealpha=0.7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
