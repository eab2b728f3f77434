"""The experiment's results tables (Markdown + JSON): one row per run (activation and
seed) and, with several seeds, one row per activation over its seeds (best and median,
as the paper reports runs)."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class RunSummary:
    """One run (activation, seed): model, size, accuracies, time and final dead units."""

    activation: str
    model: str
    parameters: int
    epochs: int
    partial: bool
    best_test_accuracy: float
    final_test_accuracy: float
    final_train_loss: float
    seconds: float
    dead_units: int
    units: int
    seed: int = 0
    dead_linkages: int | None = None  # linked models: linkages with both halves dead
    linkages: int = 0  # linked models: linkages over the linked layers

    @property
    def dead_share(self) -> float:
        """Share of the model's activation units that are dead at the end."""
        return self.dead_units / self.units if self.units else 0.0

    @classmethod
    def from_metrics(
        cls,
        activation: str,
        model: str,
        parameters: int,
        metrics: list[dict[str, Any]],
        seed: int = 0,
    ) -> RunSummary:
        """Summarise a run's per-epoch metrics (as ``train`` logs them)."""
        last = metrics[-1]
        return cls(
            seed=seed,
            activation=activation,
            model=model,
            parameters=parameters,
            epochs=int(last["epoch"]),
            partial=bool(last.get("partial")),
            best_test_accuracy=max(m["test_accuracy"] for m in metrics),
            final_test_accuracy=last["test_accuracy"],
            final_train_loss=last["loss"],
            seconds=sum(m["seconds"] for m in metrics),
            dead_units=last["dead_units"]["dead"],
            units=last["dead_units"]["units"],
            dead_linkages=last["dead_units"].get("dead_linkages"),
            linkages=last["dead_units"].get("linkages", 0),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict including the dead share."""
        return asdict(self) | {"dead_share": self.dead_share}


@dataclass
class SeedsSummary:
    """One activation over its runs with different seeds."""

    activation: str
    model: str
    seeds: list[int]
    best_test_accuracy: float  # the best run's best epoch
    median_best_test_accuracy: float  # median over the runs of each run's best epoch
    median_dead_share: float
    min_dead_share: float
    max_dead_share: float
    runs_above_chance: int  # runs whose best test accuracy beats chance by 5 points

    @classmethod
    def from_runs(cls, runs: list[RunSummary], chance: float) -> SeedsSummary:
        """Aggregate the runs of one activation (raises ValueError if there are none)."""
        if not runs:
            raise ValueError("no runs to summarise")
        shares = [r.dead_share for r in runs]
        bests = [r.best_test_accuracy for r in runs]
        return cls(
            activation=runs[0].activation,
            model=runs[0].model,
            seeds=[r.seed for r in runs],
            best_test_accuracy=max(bests),
            median_best_test_accuracy=statistics.median(bests),
            median_dead_share=statistics.median(shares),
            min_dead_share=min(shares),
            max_dead_share=max(shares),
            runs_above_chance=sum(b > chance + 0.05 for b in bests),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def summarise_seeds(rows: list[RunSummary], chance: float) -> list[SeedsSummary]:
    """One :class:`SeedsSummary` per activation of ``rows``, in first-seen order."""
    order = list(dict.fromkeys(r.activation for r in rows))
    return [SeedsSummary.from_runs([r for r in rows if r.activation == a], chance) for a in order]


def seeds_table(rows: list[RunSummary], chance: float) -> str:
    """A Markdown table with one row per activation over its seeds."""
    head = (
        "| activation | model | runs (seeds) | best test acc: best / median "
        "| runs above chance | dead units: median (min-max) |\n"
        "|---|---|---|---:|---:|---:|\n"
    )
    lines = [
        f"| {s.activation} | `{s.model}` | {len(s.seeds)} ({', '.join(map(str, s.seeds))}) "
        f"| {s.best_test_accuracy:.4f} / {s.median_best_test_accuracy:.4f} "
        f"| {s.runs_above_chance}/{len(s.seeds)} "
        f"| {s.median_dead_share:.0%} ({s.min_dead_share:.0%}-{s.max_dead_share:.0%}) |"
        for s in summarise_seeds(rows, chance)
    ]
    return head + "\n".join(lines) + "\n"


def markdown_table(rows: list[RunSummary], chance: float) -> str:
    """A Markdown table of ``rows``, one per run (with a seed column when the runs have
    several seeds), and the chance level."""
    several = len({r.seed for r in rows}) > 1
    head = (
        f"| activation |{' seed |' if several else ''} model | parameters | epochs "
        "| best test acc | final test acc | train loss | train s | dead units (end) "
        "| dead linkages (end) |\n"
        f"|---|{'---:|' if several else ''}---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in rows:
        lines.append(
            f"| {r.activation} |{f' {r.seed} |' if several else ''} `{r.model}` "
            f"| {r.parameters:,} | {r.epochs}{'*' if r.partial else ''} "
            f"| {r.best_test_accuracy:.4f} | {r.final_test_accuracy:.4f} "
            f"| {r.final_train_loss:.4f} | {r.seconds:.0f} "
            f"| {r.dead_units}/{r.units} ({r.dead_share:.0%}) "
            f"| {'' if r.dead_linkages is None else f'{r.dead_linkages}/{r.linkages}'} |"
        )
    note = (
        "\n\n\\* last epoch cut short by the time budget or --max-steps."
        if any(r.partial for r in rows)
        else ""
    )
    return head + "\n".join(lines) + note + f"\n\nChance level: {chance:.4f}.\n"
