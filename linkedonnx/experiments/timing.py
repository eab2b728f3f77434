"""Training-time ratios the paper's way: the wall time of a whole run, over the wall
time of the reference run (LK-ReLU without BN in the no-BN ResNet table).

The paper's ratio is the span from the first to the last TensorBoard event of a run:
its epochs' training and test evaluation. Ours is the same work timed from the epochs'
wall-clock stamps (``train`` logs ``timestamps`` per epoch: ``start``, ``trained``,
``evaluated``): the sum over epochs of evaluated - start. The dead-unit count and the
checkpoint writes that follow each epoch here (the authors' runs did neither every
epoch) are left out. The per-step ratio divides training time per optimizer step
(trained - start, summed, over the steps), without the test evaluations.

Over several seeds, a row's time is the median over its runs, and its ratios divide
that by the reference's median.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class RunTime:
    """One run's whole-run wall seconds, training seconds and optimizer steps."""

    wall_seconds: float
    train_seconds: float
    steps: int

    @property
    def seconds_per_step(self) -> float:
        """Training seconds per optimizer step (0 for a run without steps)."""
        return self.train_seconds / self.steps if self.steps else 0.0

    @classmethod
    def from_metrics(cls, metrics: list[dict[str, Any]]) -> RunTime:
        """Sum the epochs' stamps of a run's metrics (as ``train`` logs them). Raises
        ValueError for a run without epochs or an epoch without its three stamps."""
        if not metrics:
            raise ValueError("a run without epochs has no wall time")
        train = sum(_stamps(line)["trained"] - _stamps(line)["start"] for line in metrics)
        return cls(elapsed(metrics)[-1], train, int(metrics[-1]["steps"]))


def _stamps(line: dict[str, Any]) -> dict[str, float]:
    """An epoch's start / trained / evaluated stamps (ValueError when one is missing)."""
    stamps = line.get("timestamps") or {}
    if not {"start", "trained", "evaluated"} <= set(stamps):
        raise ValueError(f"epoch {line.get('epoch')} has no start/trained/evaluated stamps")
    return stamps


def elapsed(metrics: list[dict[str, Any]]) -> list[float]:
    """The whole-run wall seconds at the end of each epoch's test evaluation (training
    and evaluation of the epochs so far), for plotting accuracy against time. Raises
    ValueError for an epoch without its stamps."""
    total, out = 0.0, []
    for line in metrics:
        stamps = _stamps(line)
        total += stamps["evaluated"] - stamps["start"]
        out.append(total)
    return out


@dataclass(frozen=True)
class TimeRatio:
    """One row (activation): the median whole-run and per-step times over its runs, and
    both divided by the reference row's (None when the reference was not run)."""

    activation: str
    runs: int
    wall_seconds: float
    seconds_per_step: float
    wall_ratio: float | None
    step_ratio: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def time_ratios(runs: dict[str, list[RunTime]], reference: str) -> list[TimeRatio]:
    """One :class:`TimeRatio` per activation of ``runs`` (activation -> its runs' times,
    in the given order), divided by ``reference``'s medians. Raises ValueError for an
    activation without runs."""
    medians = {}
    for activation, times in runs.items():
        if not times:
            raise ValueError(f"{activation} has no runs")
        medians[activation] = (
            statistics.median(t.wall_seconds for t in times),
            statistics.median(t.seconds_per_step for t in times),
        )
    base = medians.get(reference)
    rows = []
    for activation, (wall, per_step) in medians.items():
        rows.append(
            TimeRatio(
                activation,
                len(runs[activation]),
                wall,
                per_step,
                _ratio(wall, base[0]) if base else None,
                _ratio(per_step, base[1]) if base else None,
            )
        )
    return rows


def _ratio(value: float, base: float) -> float | None:
    """value / base, None when the base is 0 (nothing was timed)."""
    return value / base if base > 0 else None
