"""Measurement-driven form selection (no torch here): lower a model in each candidate
form, check every candidate's parity against the plain inline lowering, time them
side by side in ONNX Runtime (interleaved, spinning off, medians) and keep the fastest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx

from linkedonnx.errors import BadInputError
from linkedonnx.runtime.bench import bench_sessions, make_inputs
from linkedonnx.runtime.session import make_session

#: Tolerances for a candidate to count as equal to the inline lowering (float32).
ATOL = RTOL = 1e-4


@dataclass
class Candidate:
    """One timed candidate: its name, median (ms), whether it matched the reference."""

    name: str
    median_ms: float
    parity: bool
    max_abs_error: float


@dataclass
class TuningReport:
    """Settings and outcome of a tuning run (JSON-ready via ``to_dict``)."""

    batch: int
    threads: int | None
    runs: int
    chosen: str
    candidates: list[Candidate] = field(default_factory=list)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {
            "batch": self.batch,
            "threads": self.threads,
            "runs": self.runs,
            "chosen": self.chosen,
            "candidates": [vars(c) for c in self.candidates],
        }


def _max_error(ref: Sequence[np.ndarray], got: Sequence[np.ndarray]) -> tuple[bool, float]:
    ok, worst = True, 0.0
    for a, b in zip(ref, got, strict=True):
        a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if a64.shape != b64.shape:
            return False, float("inf")
        err = np.abs(a64 - b64)
        worst = max(worst, float(err.max(initial=0.0)))
        ok = ok and bool(np.all(err <= ATOL + RTOL * np.abs(a64)))
    return ok, worst


def choose(
    candidates: dict[str, onnx.ModelProto],
    reference: str,
    *,
    batch: int = 1,
    threads: int | None = 2,
    warmup: int = 5,
    runs: int = 30,
    time_fn: Callable[[list], list] | None = None,
) -> TuningReport:
    """Time ``candidates`` (name -> lowered model) interleaved in ORT CPU at ``batch`` and
    return a report naming the fastest one whose outputs match ``reference``'s.

    Raises BadInputError when ``reference`` is not a candidate or no candidate matches it.
    """
    if reference not in candidates:
        raise BadInputError(f"no lowering candidate named {reference!r} to compare against")
    sessions = [(name, make_session(m, "cpu", threads=threads)) for name, m in candidates.items()]
    cache: dict = {}
    outputs = {
        name: s.run(None, make_inputs(s, batch, seed=0, cache=cache)) for name, s in sessions
    }
    timings = (time_fn or _time)(sessions, batch=batch, warmup=warmup, runs=runs)
    report = TuningReport(batch, threads, runs, chosen="")
    for (name, _), t in zip(sessions, timings, strict=True):
        ok, err = _max_error(outputs[reference], outputs[name])
        report.candidates.append(Candidate(name, t.median_ms, ok, err))
    good = [c for c in report.candidates if c.parity]
    if not good:
        raise BadInputError("no lowering candidate matches the reference outputs")
    report.chosen = min(good, key=lambda c: c.median_ms).name
    return report


def _time(sessions: list, *, batch: int, warmup: int, runs: int) -> list:
    return bench_sessions(sessions, batch=batch, warmup=warmup, runs=runs)
