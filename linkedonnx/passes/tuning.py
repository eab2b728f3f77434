"""Measurement-driven choice among candidate models, the one tuning module of optimize
(each linked site's lowering form) and quantize (``--tune``'s INT8 forms); no torch
here. :func:`time_models` times candidates interleaved on a provider's runner
(:mod:`linkedonnx.runners.providers`; ONNX Runtime's spinning off), by paired medians
in blocks of freshly loaded sessions, each round in a random order, within an optional
time box (benchmarks/bench_forms.py times the same way); :func:`choose` checks every candidate's parity against a
reference (unless told the candidates differ by design) and keeps the fastest.
"""

from __future__ import annotations

import functools
import math
import random
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx

from linkedonnx.errors import BadInputError
from linkedonnx.runners.base import Runner
from linkedonnx.runners.providers import get_provider
from linkedonnx.runtime.bench import interleave
from linkedonnx.runtime.compare import compare_all
from linkedonnx.runtime.inputs import data_inputs, seeded_inputs

#: Tolerances for a candidate to count as equal to the inline lowering (float32).
ATOL = RTOL = 1e-4
#: Fewest timed rounds a time box may cut a timing to.
MIN_RUNS = 5

#: (models name -> ModelProto, batch, runs, time box in s or None) -> name -> ms. The
#: real one is :func:`time_models`; tests inject a fake (no timed assertions).
Timer = Callable[[Mapping[str, onnx.ModelProto], int, int, float | None], dict[str, float]]


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


def seeded_feeds(model: onnx.ModelProto, batch: int) -> dict[str, np.ndarray]:
    """The one seeded input (seed 0, dynamic dims ``batch``) candidates of ``model`` are
    run on. Raises BadInputError for an input that cannot be synthesized (strings, ...)."""
    inputs = data_inputs(model)
    for sig in inputs:
        if sig.dtype.kind not in "biuf":
            raise BadInputError(f"input {sig.name!r} has type {sig.dtype}, which cannot be fed")
    return seeded_inputs(inputs, batch, seed=0)


def load_runner(model: onnx.ModelProto, provider: str, threads: int | None) -> Runner:
    """``model`` on ``provider``'s runner with ``threads`` (None: the runtime's default)."""
    return get_provider(provider).load(model, threads=threads)


def time_models(
    models: Mapping[str, onnx.ModelProto],
    batch: int,
    runs: int,
    budget_s: float | None = None,
    *,
    threads: int | None = None,
    warmup: int = 2,
    provider: str = "cpu",
    blocks: int = 1,
    min_seconds: float = 0.0,
    seed: int = 0,
) -> dict[str, float]:
    """Time ``models`` (name -> model) interleaved on ``provider``'s runner (ONNX
    Runtime: spinning off) on one seeded input at ``batch``; return name -> ms.

    The first model is the reference: each one's figure is its ratio to the reference
    times the reference's median (over all timed rounds). The rounds are split into
    ``blocks`` blocks; each block loads every model afresh (in an order shuffled by
    ``seed``: no model is always loaded first), warms up ``warmup`` rounds and times its
    share of ``runs`` rounds, each round in a shuffled order. A block's ratio is the
    median over its rounds of the model's time / the reference's in the same round
    (paired rounds cancel the machine's slow drifts); the figure is the median of the
    blocks' ratios (a session's own layout, or a burst of load during one block, does
    not decide it). ``min_seconds`` raises the rounds until the timed rounds take about
    that long (a tiny model's 30 rounds would span a few milliseconds: one scheduler
    time slice). With ``budget_s`` the rounds (at least :data:`MIN_RUNS`) and the
    blocks are cut to what fits in it, judged by the first block's loading and warm-up
    (a round's cost: its last warm-up round, the first calls' allocations done).
    Raises BadInputError for an input that cannot be fed.
    """
    names = list(models)
    feeds = seeded_feeds(models[names[0]], batch)
    rng = random.Random(seed)
    ratios: dict[str, list[float]] = {n: [] for n in names}
    ref_times: list[float] = []
    per_block = 0
    block = 0
    while block < max(blocks, 1):
        loaded_at = time.perf_counter()
        order = list(names)
        rng.shuffle(order)
        loaded = {n: load_runner(models[n], provider, threads) for n in order}
        runners = [functools.partial(loaded[n].run, feeds) for n in names]
        interleave(runners, max(warmup, 1) - 1, 0, rng=rng)
        last_at = time.perf_counter()
        interleave(runners, 1, 0, rng=rng)  # the last warm-up round: a round's cost
        if block == 0:
            per_round = time.perf_counter() - last_at
            setup = time.perf_counter() - loaded_at
            blocks, total = _plan(runs, blocks, budget_s, min_seconds, per_round, setup)
            per_block = -(-total // blocks)
        times = interleave(runners, 0, per_block, rng=rng)
        ref = times[0]
        ref_times += ref
        for n, ts in zip(names, times, strict=True):
            ratios[n].append(statistics.median(t / r for t, r in zip(ts, ref, strict=True)))
        del loaded, runners
        block += 1
    ref_median = statistics.median(ref_times) * 1e3
    return {n: ref_median * statistics.median(ratios[n]) for n in names}


def _plan(
    runs: int,
    blocks: int,
    budget_s: float | None,
    min_seconds: float,
    per_round: float,
    setup: float,
) -> tuple[int, int]:
    """(blocks, timed rounds in all) for :func:`time_models`: ``runs`` rounds raised to
    span ``min_seconds`` at ``per_round`` s a round, then, within ``budget_s``, blocks
    cut so that their loading and warm-up (``setup`` s each after the first) take at
    most half of it and the rounds cut to the rest (at least :data:`MIN_RUNS`)."""
    per_round = max(per_round, 1e-9)
    blocks = max(blocks, 1)
    total = max(runs, math.ceil(min_seconds / per_round))
    if budget_s is not None:
        blocks = max(1, min(blocks, 1 + int(budget_s / 2 / max(setup, 1e-9))))
        left = budget_s - (blocks - 1) * setup
        total = max(MIN_RUNS, min(total, int(left / per_round)))
    return blocks, max(total, blocks)


def choose(
    candidates: Mapping[str, onnx.ModelProto],
    reference: str,
    *,
    batch: int = 1,
    threads: int | None = None,
    runs: int = 30,
    budget_s: float | None = None,
    timer: Timer | None = None,
    provider: str = "cpu",
    warmup: int = 2,
    same_outputs: bool = True,
) -> TuningReport:
    """Check ``candidates`` (name -> model) against ``reference``'s outputs on
    ``provider``'s runner at ``batch`` (skipped when not ``same_outputs``: candidates
    that differ by design, such as INT8 models of different forms), time those that
    match with ``timer`` (default :func:`time_models` with ``warmup`` rounds,
    ``reference`` first) and return a report naming the fastest.

    Raises BadInputError when ``reference`` is not a candidate or no candidate matches it.
    """
    if reference not in candidates:
        raise BadInputError(f"no lowering candidate named {reference!r} to compare against")
    if same_outputs:
        feeds = seeded_feeds(candidates[reference], batch)
        outputs = {
            name: load_runner(model, provider, threads).run(feeds)
            for name, model in candidates.items()
        }
        checks = {name: parity(outputs[reference], out) for name, out in outputs.items()}
    else:
        checks = dict.fromkeys(candidates, (True, float("nan")))
    good = {reference: candidates[reference]}
    good.update({n: m for n, m in candidates.items() if checks[n][0]})
    timer = timer or functools.partial(
        time_models, threads=threads, warmup=warmup, provider=provider
    )
    timings = timer(good, batch, runs, budget_s) if len(good) > 1 else {reference: 0.0}
    report = TuningReport(batch, threads, runs, chosen="")
    for name in candidates:
        ok, err = checks[name]
        report.candidates.append(Candidate(name, timings.get(name, float("nan")), ok, err))
    passing = [c for c in report.candidates if c.parity]
    if not passing:
        raise BadInputError("no lowering candidate matches the reference outputs")
    report.chosen = min(passing, key=lambda c: c.median_ms).name
    return report
