"""The whole-model check of a per-site form choice (no torch here).

Sites timed one group at a time at one batch can lose, as a whole, to a single form on
every site: neighbouring sites interact (NCHWc reorders between differently lowered
layers) and the fastest form changes with the batch. So the per-site choice (the
incumbent) and each single form on all sites are timed again as whole models at the
batches that matter (1 and 32 by default). The reference (all sites inline: what ONNX
Runtime makes of the function-form input) bounds the choice: a candidate measured
slower than it by more than :data:`MAX_VS_REFERENCE` at any batch is not eligible
(optimize never makes the model slower than its input). Among the eligible ones, the
one with the smallest worst ratio to the per-batch best wins; another candidate
replaces an eligible incumbent only when its worst ratio is a margin smaller (the site
search's: noise does not flip the choice). Candidates measured more than
:data:`DROP_RATIO` times the best at a batch (or at the batch the sites were searched
at) are obviously bad: they are not timed at the following batches (the incumbent and
the reference always are), which keeps the check inside the default's time box.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import onnx

from linkedonnx.passes.tuning import Timer

#: The batches the default checks at when no batch is named: a single input and a
#: typical serving batch (the site search itself runs at their geometric mean).
CHECK_BATCHES = (1, 32)
#: A candidate measured more than this many times the best at a batch is dropped.
DROP_RATIO = 1.3
#: A winner is at most this many times the reference's ms at every checked batch: at
#: least 0.98x the function-form export (issue 27's target).
MAX_VS_REFERENCE = 1 / 0.98
#: The share of the time left that one batch's timed rounds may take (the rest: loading
#: the sessions and warming up).
TIMED_SHARE = 0.5


@dataclass
class WholeModelCheck:
    """The check's outcome: the winner, the incumbent, the batches, each candidate's ms
    per batch (a dropped candidate: the batches it was timed at), worst ratios of those
    timed at every batch, the dropped candidates and those not eligible (measured slower
    than the reference)."""

    chosen: str
    incumbent: str
    batches: list[int]
    ms: dict[str, dict[int, float]] = field(default_factory=dict)
    worst_ratio: dict[str, float] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    slower_than_reference: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """A JSON-ready dict (ms per candidate as a list aligned with ``batches``, None
        where not timed)."""
        return {
            "chosen": self.chosen,
            "incumbent": self.incumbent,
            "batches": list(self.batches),
            "ms": {
                name: [None if b not in per else round(per[b], 4) for b in self.batches]
                for name, per in self.ms.items()
            },
            "worst_ratio": {name: round(r, 4) for name, r in self.worst_ratio.items()},
            "dropped": list(self.dropped),
            "slower_than_reference": list(self.slower_than_reference),
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> WholeModelCheck:
        """The check :meth:`to_dict` wrote (a cache entry's). Raises KeyError, TypeError
        or ValueError for a malformed record."""
        batches = [int(b) for b in data["batches"]]
        ms = {
            str(name): {b: float(v) for b, v in zip(batches, row, strict=True) if v is not None}
            for name, row in data["ms"].items()
        }
        return cls(
            str(data["chosen"]),
            str(data["incumbent"]),
            batches,
            ms,
            {str(k): float(v) for k, v in data["worst_ratio"].items()},
            [str(d) for d in data["dropped"]],
            [str(d) for d in data["slower_than_reference"]],
        )

    def counts(self) -> dict[str, float]:
        """Report counts: each candidate's ms per batch, its worst ratio to the best, the
        dropped candidates and the winner."""
        out: dict[str, float] = {}
        for name, per in self.ms.items():
            for b, v in per.items():
                out[f"whole model at batch {b}: {name} ms"] = round(v, 4)
        for name, r in self.worst_ratio.items():
            out[f"whole model: {name} worst ratio to the best"] = round(r, 3)
        for name in self.dropped:
            out[f"whole model: {name} dropped (over {DROP_RATIO}x the best)"] = 1
        for name in self.slower_than_reference:
            out[f"whole model: {name} not eligible (slower than inline)"] = 1
        out[f"whole model: kept {self.chosen}"] = 1
        return out


def worst_ratios(ms: Mapping[str, Mapping[int, float]], batches: Sequence[int]) -> dict[str, float]:
    """Each candidate's largest ratio, over ``batches``, of its ms to the smallest ms at
    that batch (candidates timed at every batch; a best of 0 ms counts as a tie)."""
    full = {n: per for n, per in ms.items() if all(b in per for b in batches)}
    best = {b: min(per[b] for per in full.values()) for b in batches} if full else {}
    return {
        n: max((per[b] / best[b] if best[b] > 0 else 1.0 for b in batches), default=1.0)
        for n, per in full.items()
    }


def pick(worst: Mapping[str, float], incumbent: str, margin: float) -> str:
    """The candidate of ``worst`` (name -> worst ratio) with the smallest worst ratio,
    unless it is not at least ``margin`` below the ``incumbent``'s (then the incumbent).
    Raises KeyError when the incumbent has no worst ratio."""
    best = min(worst, key=lambda n: (worst[n], n != incumbent))
    return best if worst[best] <= worst[incumbent] * (1 - margin) else incumbent


def slower_than(
    ms: Mapping[str, Mapping[int, float]], reference: str, batches: Sequence[int]
) -> list[str]:
    """The candidates of ``ms`` (name -> batch -> ms, timed at every batch) measured more
    than :data:`MAX_VS_REFERENCE` times ``reference``'s ms at some batch."""
    ref = ms[reference]
    return [n for n, per in ms.items() if any(per[b] > MAX_VS_REFERENCE * ref[b] for b in batches)]


def _over(ms: Mapping[str, float], keep: Sequence[str]) -> list[str]:
    """The names in ``ms`` measured over :data:`DROP_RATIO` times the best, ``keep`` aside."""
    positive = [v for v in ms.values() if v > 0]
    if not positive:
        return []
    best = min(positive)
    return [n for n, v in ms.items() if n not in keep and v > DROP_RATIO * best]


def check_whole_model(
    candidates: Mapping[str, onnx.ModelProto],
    incumbent: str,
    batches: Sequence[int],
    timer: Timer,
    *,
    margin: float,
    runs: int,
    reference: str | None = None,
    deadline: float | None = None,
    searched: Mapping[str, float] | None = None,
) -> WholeModelCheck:
    """Time ``candidates`` (name -> model; they match each other's outputs) as whole
    models at each of ``batches`` (smallest first) with ``timer`` (``runs`` rounds,
    cut to fit before ``deadline``, a ``time.perf_counter`` value, when given) and
    return the check naming the winner (see the module's rule; ``margin``: the share by
    which another candidate's worst ratio must be below the incumbent's; ``reference``:
    the candidate no winner may be slower than, None: no such bound). ``searched`` (name
    -> ms at the batch the sites were searched at) only drops candidates early. Raises
    KeyError when ``incumbent`` or ``reference`` is not a candidate.
    """
    for name in (incumbent, reference):
        if name is not None and name not in candidates:
            raise KeyError(name)
    pool = [incumbent] + [n for n in candidates if n != incumbent]
    keep = [incumbent] + ([reference] if reference is not None else [])
    order = sorted(dict.fromkeys(batches))
    check = WholeModelCheck(incumbent, incumbent, order)
    if searched:
        check.dropped = _over({n: searched[n] for n in pool if n in searched}, keep)
    alive = [n for n in pool if n not in check.dropped]
    for i, batch in enumerate(order):
        if len(alive) == 1:
            break
        budget = None
        if deadline is not None:
            budget = max(0.0, (deadline - time.perf_counter()) / (len(order) - i) * TIMED_SHARE)
        ms = timer({n: candidates[n] for n in alive}, batch, runs, budget)
        for n in alive:
            check.ms.setdefault(n, {})[batch] = ms[n]
        over = _over({n: ms[n] for n in alive}, keep)
        check.dropped += over
        alive = [n for n in alive if n not in over]
    if len(alive) > 1:
        timed = {n: check.ms[n] for n in alive}
        check.worst_ratio = worst_ratios(timed, order)
        if reference is not None:
            check.slower_than_reference = slower_than(timed, reference, order)
        eligible = {
            n: r for n, r in check.worst_ratio.items() if n not in check.slower_than_reference
        }
        if incumbent in eligible:
            check.chosen = pick(eligible, incumbent, margin)
        else:  # the reference is always eligible: some candidate is
            check.chosen = min(eligible, key=lambda n: (eligible[n], n != reference))
    return check
