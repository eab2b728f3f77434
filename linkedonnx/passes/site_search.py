"""Choose each linked site's lowering form by measurement on this machine (no torch).

Sites whose layers have the same shapes (kind, producer and consumer weights, strides)
form one group and get one form. First every form is tried on all sites at once (the
inline form, what ONNX Runtime makes of the function-form input, is the reference, so
the result is never a measured loss against it, and another form is taken only when
measured at least :data:`KEEP_MARGIN` faster); then, while the time box lasts, each
group (largest first) is tried in the other forms with the rest kept, and a change is
kept when it is measured at least :data:`KEEP_MARGIN` faster. Both run at one batch
(default :data:`DEFAULT_BATCH`). Last, the per-site choice and each single form on all
sites are timed as whole models at the batches that matter (default 1 and 32), and the
one with the smallest worst ratio to the per-batch best wins
(:mod:`linkedonnx.passes.form_check`; :data:`CHECK_SHARE` of the time box is kept for
it). The outcome is cached per model structure and machine
(:mod:`linkedonnx.passes.form_cache`); a cache hit does no timing.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import onnx
import onnx_ir as ir

from linkedonnx.passes.form_cache import Machine, cache_key, load_entry, store_entry, this_machine
from linkedonnx.passes.form_check import CHECK_BATCHES, WholeModelCheck, check_whole_model
from linkedonnx.passes.lower_linked import site_id
from linkedonnx.passes.lowering import is_linked
from linkedonnx.passes.lowering.site import linked_kind
from linkedonnx.passes.tuning import Timer, choose, time_models

#: The batch optimized for when none is given: the geometric mean of batches 1 and 32.
DEFAULT_BATCH = round(math.sqrt(1 * 32))
#: Forms tried, the reference (inline) first.
SEARCH_FORMS = ("inline", "split", "dw", "stacked")
#: The default's time box (seconds of lowering and timing per model).
BUDGET_S = 10.0
#: The share of the time box kept for the whole-model check at the checked batches.
CHECK_SHARE = 0.35
#: A group's change of form is kept only when measured this much faster (share).
KEEP_MARGIN = 0.02
#: Timed rounds per comparison: the time box's ceiling, and ``--tune``'s fixed count.
MAX_RUNS = 200
TUNE_RUNS = 60
#: Blocks of freshly loaded sessions per timing (:func:`time_models`; cut to fit the time
#: box): one session's own layout does not decide a comparison.
TIMING_BLOCKS = 2

#: site forms (site id -> form) -> (lowered model, site id -> form that applied).
LowerSites = Callable[[Mapping[str, str]], tuple[onnx.ModelProto, dict[str, str]]]


@dataclass
class FormChoice:
    """The measured choice: site id -> form, how it was made, and the measurements."""

    site_forms: dict[str, str]
    how: str  # 'measured', 'tuned' or 'cache hit'
    batch: int
    machine: Machine
    timings: dict[str, float] = field(default_factory=dict)  # candidate -> ms
    groups: list[dict] = field(default_factory=list)  # label, sites, form
    speedup: float = 1.0  # measured: the choice against all sites inline
    check: WholeModelCheck | None = None  # the whole-model check at the checked batches

    def counts(self) -> dict[str, float]:
        """Report counts: how and where it was chosen, each candidate's ms at the search
        batch, the choice's measured speed-up over inline (the function form's own) there,
        the whole-model check (ms per batch, worst ratios, winner) and each group's form."""
        out: dict[str, float] = {f"{self.how} at batch {self.batch}": 1}
        out[f"on {self.machine.describe()}"] = 1
        out.update({f"{name} ms": round(ms, 4) for name, ms in self.timings.items()})
        out["chosen vs all inline (x)"] = round(self.speedup, 3)
        if self.check is not None:
            out.update(self.check.counts())
        for g in self.groups:
            out[f"{g['label']}: {g['form']} (sites)"] = g["sites"]
        return out

    def metadata(self) -> dict:
        """The ``linkedonnx.form_choice`` record of a measured choice: how, the search
        batch, the CPU and the whole-model check (winner, batches, ms, worst ratios)."""
        out = {"choice": self.how, "batch": self.batch, "cpu": self.machine.describe()}
        if self.check is not None:
            out["whole_model"] = self.check.to_dict()
        return out


def site_groups(model: onnx.ModelProto) -> dict[str, list[str]]:
    """Linked sites of ``model``'s main graph grouped by layer shape: label -> site ids,
    in graph order."""
    graph = ir.from_proto(model).graph
    groups: dict[str, list[str]] = {}
    for node in graph:
        if not is_linked(node):
            continue
        consumers = sorted({_layer(c) for c in node.outputs[0].consumers()})
        label = f"{linked_kind(node)} {_layer(node.inputs[0].producer())} -> {', '.join(consumers)}"
        groups.setdefault(label, []).append(site_id(node))
    return groups


def _layer(node: ir.Node | None) -> str:
    """A node's op type with its weight shape and strides, e.g. 'Conv[64,32,3,3]/2'."""
    if node is None:
        return "input"
    shape = ""
    if len(node.inputs) > 1 and node.inputs[1] is not None and node.inputs[1].shape is not None:
        shape = "[" + ",".join(str(d) for d in node.inputs[1].shape) + "]"
    strides = node.attributes.get("strides")
    stride = (
        f"/{max(strides.as_ints())}" if strides is not None and max(strides.as_ints()) > 1 else ""
    )
    return f"{node.op_type}{shape}{stride}"


def choose_site_forms(
    prepared: onnx.ModelProto,
    lower_sites: LowerSites,
    batch: int = DEFAULT_BATCH,
    *,
    check_at: Sequence[int] = CHECK_BATCHES,
    thorough: bool = False,
    threads: int | None = None,
    timer: Timer | None = None,
    machine: Machine | None = None,
    provider: str = "cpu",
) -> FormChoice:
    """Choose a form for every linked site of ``prepared`` (the model before lowering) by
    timing ``lower_sites`` candidates at ``batch``, then check the choice against each
    single form as whole models at the batches ``check_at``: within :data:`BUDGET_S` and
    from the cache by default; ``thorough`` (``--tune``) takes :data:`TUNE_RUNS` rounds
    per comparison with no time box and measures again (refreshing the cache). ``timer``
    replaces the timing (tests); the real one runs on ``provider``'s runner. Raises
    BadInputError when no candidate matches inline.
    """
    machine = machine or this_machine()
    key = cache_key(prepared, machine, batch, threads, provider, checked_at=check_at)
    cached = None if thorough else load_entry(key)
    if cached is not None:
        try:
            check = WholeModelCheck.from_dict(cached["check"]) if cached.get("check") else None
            return FormChoice(
                dict(cached["site_forms"]),
                "cache hit",
                batch,
                machine,
                {},
                list(cached["groups"]),
                float(cached["speedup"]),
                check,
            )
        except (KeyError, TypeError, ValueError):
            pass  # a damaged entry is measured again
    started = time.perf_counter()
    deadline = None if thorough else started + BUDGET_S * (1 - CHECK_SHARE)
    check_deadline = None if thorough else started + BUDGET_S
    runs = TUNE_RUNS if thorough else MAX_RUNS
    groups = site_groups(prepared)
    sites = [s for ids in groups.values() for s in ids]
    timer = timer or functools.partial(
        time_models, threads=threads, provider=provider, blocks=TIMING_BLOCKS
    )

    lowering_s = 0.0  # one round of lowering: also about what sessions and parity cost

    def budget(share: float) -> float | None:
        """A share of the time left for timed runs, the setup of the comparison kept aside."""
        if deadline is None:
            return None
        return max(0.0, (deadline - time.perf_counter() - lowering_s) * share)

    # 1. every form on all sites; the distinct results are timed against inline
    candidates: dict[str, onnx.ModelProto] = {}
    applied: dict[str, dict[str, str]] = {}
    lowering_started = time.perf_counter()
    for form in SEARCH_FORMS:
        model, got = lower_sites(dict.fromkeys(sites, form))
        if got not in applied.values():
            candidates[f"all {form}"], applied[f"all {form}"] = model, got
    lowering_s = time.perf_counter() - lowering_started  # what one round of trials costs
    first = choose(
        candidates,
        "all inline",
        batch=batch,
        threads=threads,
        runs=runs,
        budget_s=budget(0.5),
        timer=timer,
        provider=provider,
    )
    timings = {c.name: c.median_ms for c in first.candidates}
    inline_ms = timings["all inline"]
    chosen = first.chosen
    if timings[chosen] > inline_ms * (1 - KEEP_MARGIN):
        chosen = "all inline"  # not measurably faster than the function form's own
    current, current_ms = applied[chosen], timings[chosen]
    current_model = candidates[chosen]
    # 2. each group in the other forms, the rest kept, while the time box lasts
    ordered = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    if len(groups) > 1:
        for i, (label, ids) in enumerate(ordered):
            if deadline is not None and deadline - time.perf_counter() < 2 * lowering_s:
                break  # not enough time left to lower and time this group's trials
            trials: dict[str, onnx.ModelProto] = {"current": current_model}
            trial_sites: dict[str, dict[str, str]] = {}
            for form in SEARCH_FORMS:
                model, got = lower_sites({**current, **dict.fromkeys(ids, form)})
                if got != current and got not in trial_sites.values():
                    trials[f"{label}: {form}"], trial_sites[f"{label}: {form}"] = model, got
            if len(trials) == 1:
                continue
            share = 1.0 / (len(ordered) - i)
            report = choose(
                trials,
                "current",
                batch=batch,
                threads=threads,
                runs=runs,
                budget_s=budget(share),
                timer=timer,
                provider=provider,
            )
            ms = {c.name: c.median_ms for c in report.candidates}
            best = report.chosen
            if best != "current" and ms[best] <= ms["current"] * (1 - KEEP_MARGIN):
                scale = current_ms / ms["current"]  # back to phase 1's scale
                current, current_model = trial_sites[best], trials[best]
                current_ms = ms[best] * scale
                timings[best] = current_ms
    # 3. the per-site choice against each single form, whole models, at the checked batches
    passing = {c.name for c in first.candidates if c.parity}
    incumbent = next((n for n in passing if applied[n] == current), "per-site choice")
    pool = {incumbent: current_model}
    pool.update({n: m for n, m in candidates.items() if n in passing and applied[n] != current})
    # side by side at the search batch: phase 1's single forms (the per-site choice's ms
    # is chained through phase 2's kept gains, biased low: it drops nothing)
    searched = {n: timings[n] for n in pool if n in applied}
    check = check_whole_model(
        pool,
        incumbent,
        check_at,
        timer,
        margin=KEEP_MARGIN,
        runs=runs,
        reference="all inline" if "all inline" in pool else None,
        deadline=check_deadline,
        searched=searched,
    )
    if check.chosen != incumbent:
        current, current_ms = applied[check.chosen], timings[check.chosen]
    choice_groups = [
        {"label": label, "sites": len(ids), "form": "/".join(sorted({current[s] for s in ids}))}
        for label, ids in groups.items()
    ]
    speedup = inline_ms / current_ms if current_ms > 0 else 1.0
    choice = FormChoice(
        current,
        "tuned" if thorough else "measured",
        batch,
        machine,
        timings,
        choice_groups,
        speedup,
        check,
    )
    store_entry(
        key,
        {
            "site_forms": current,
            "groups": choice_groups,
            "speedup": speedup,
            "timings": timings,
            "check": check.to_dict(),
            "machine": machine.describe(),
            "batch": batch,
        },
    )
    return choice


def site_forms_of(model: onnx.ModelProto) -> dict[str, str]:
    """The ``linkedonnx.lowered_sites`` record of a lowered model (site id -> form)."""
    for prop in model.metadata_props:
        if prop.key == "linkedonnx.lowered_sites":
            return json.loads(prop.value)
    return {}
