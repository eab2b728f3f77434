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
from linkedonnx.runtime.bench import bench_sessions
from linkedonnx.runtime.compare import compare_all
from linkedonnx.runtime.inputs import session_inputs
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


def parity(
    ref: Sequence[np.ndarray], got: Sequence[np.ndarray], atol: float = ATOL, rtol: float = RTOL
) -> tuple[bool, float]:
    """Whether every output of ``got`` matches ``ref`` (runtime/compare's rule at
    ``atol``/``rtol``), and the largest absolute error (inf on a shape mismatch)."""
    if len(ref) != len(got):
        return False, float("inf")
    results = compare_all([f"output {i}" for i in range(len(ref))], got, ref, atol, rtol)
    errors = [
        r.max_abs if np.shape(e) == r.shape else np.inf for r, e in zip(results, ref, strict=True)
    ]
    return all(r.passed for r in results), float(max(errors, default=0.0))


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
    outputs = {name: s.run(None, session_inputs(s, batch, seed=0)) for name, s in sessions}
    timings = (time_fn or _time)(sessions, batch=batch, warmup=warmup, runs=runs)
    report = TuningReport(batch, threads, runs, chosen="")
    for (name, _), t in zip(sessions, timings, strict=True):
        ok, err = parity(outputs[reference], outputs[name])
        report.candidates.append(Candidate(name, t.median_ms, ok, err))
    good = [c for c in report.candidates if c.parity]
    if not good:
        raise BadInputError("no lowering candidate matches the reference outputs")
    report.chosen = min(good, key=lambda c: c.median_ms).name
    return report


def _time(sessions: list, *, batch: int, warmup: int, runs: int) -> list:
    return bench_sessions(sessions, batch=batch, warmup=warmup, runs=runs)
