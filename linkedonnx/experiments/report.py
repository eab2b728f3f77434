"""The experiment's results tables (Markdown + JSON): one row per run (activation and
seed) and, with several seeds, one row per activation over its seeds (best and median,
as the paper reports runs)."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any

from linkedonnx.experiments.timing import TimeRatio


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
    dead_elements: int | None = None  # elements (channel x position) dead at the end
    elements: int | None = None
    first_dead_layer: int | None = None  # 1-based layer of the first dead channel
    first_dead_element_layer: int | None = None  # 1-based layer of the first dead element

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
        layers = last["dead_units"]["layers"]
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
            dead_elements=last["dead_units"].get("dead_elements"),
            elements=last["dead_units"].get("elements"),
            first_dead_layer=first_dead_layer(layers, "channel"),
            first_dead_element_layer=first_dead_layer(layers, "element"),
        )

    @property
    def dead_element_share(self) -> float | None:
        """Share of the activation elements that are dead at the end (None: not counted)."""
        if self.elements is None or self.dead_elements is None:
            return None
        return self.dead_elements / self.elements if self.elements else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict including the dead shares."""
        return asdict(self) | {
            "dead_share": self.dead_share,
            "dead_element_share": self.dead_element_share,
        }


def layer_counts(layer: list[Any], per: str) -> tuple[int | None, int | None]:
    """(units, dead) of one logged layer entry ``[name, units, dead, elements,
    dead_elements]`` (older logs: the first three) counted ``per`` 'channel' or
    'element' ((None, None) when the log has no element counts)."""
    if per == "channel":
        return layer[1], layer[2]
    if per == "element":
        return (layer[3], layer[4]) if len(layer) >= 5 else (None, None)
    raise ValueError(f"per must be 'channel' or 'element', got {per!r}")


def first_dead_layer(layers: list[list[Any]], per: str = "channel") -> int | None:
    """The 1-based index of the first layer with a dead unit ``per`` 'channel' or
    'element' (the paper numbers the depth net's layers by conv, one activation each);
    None when no layer has one or the counts were not logged."""
    for index, layer in enumerate(layers, start=1):
        dead = layer_counts(layer, per)[1]
        if dead:
            return index
    return None


def layers_table(runs: dict[str, list[dict[str, Any]]]) -> str:
    """A Markdown table, one row per layer (1-based) and one column per run: the dead
    channels / dead elements of that layer after the run's last epoch."""
    labels = list(runs)
    per_run = [runs[label][-1]["dead_units"]["layers"] for label in labels]
    depth = max((len(layers) for layers in per_run), default=0)
    head = (
        "| layer | units (ch / el) | "
        + " | ".join(f"{label}: dead ch / el" for label in labels)
        + " |\n|---:|---:|"
        + "---:|" * len(labels)
        + "\n"
    )
    lines = []
    for i in range(depth):
        first = next(layers[i] for layers in per_run if i < len(layers))
        units, elements = layer_counts(first, "channel")[0], layer_counts(first, "element")[0]
        cells = []
        for layers in per_run:
            if i >= len(layers):
                cells.append("")
                continue
            dead_el = layer_counts(layers[i], "element")[1]
            cells.append(f"{layers[i][2]} / {'' if dead_el is None else dead_el}")
        lines.append(
            f"| {i + 1} | {units} / {'' if elements is None else elements} | "
            + " | ".join(cells)
            + " |"
        )
    return head + "\n".join(lines) + "\n"


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
    first_dead_layers: list[int | None]  # per run, in seed order (None: no dead channel)
    median_first_dead_layer: float | None  # over the runs with a dead channel

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
            first_dead_layers=[r.first_dead_layer for r in runs],
            median_first_dead_layer=_median_or_none([r.first_dead_layer for r in runs]),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def _median_or_none(values: list[int | None]) -> float | None:
    """Median of the values that are not None (None when there are none)."""
    known = [v for v in values if v is not None]
    return float(statistics.median(known)) if known else None


def _layer(value: float | int | None) -> str:
    return "none" if value is None else f"{value:g}"


def summarise_seeds(rows: list[RunSummary], chance: float) -> list[SeedsSummary]:
    """One :class:`SeedsSummary` per activation of ``rows``, in first-seen order."""
    order = list(dict.fromkeys(r.activation for r in rows))
    return [SeedsSummary.from_runs([r for r in rows if r.activation == a], chance) for a in order]


def seeds_table(rows: list[RunSummary], chance: float) -> str:
    """A Markdown table with one row per activation over its seeds."""
    head = (
        "| activation | model | runs (seeds) | best test acc: max / median "
        "| runs above chance | dead units: median (min-max) "
        "| first dead layer per run | median first dead layer |\n"
        "|---|---|---|---:|---:|---:|---:|---:|\n"
    )
    lines = [
        f"| {s.activation} | `{s.model}` | {len(s.seeds)} ({', '.join(map(str, s.seeds))}) "
        f"| {s.best_test_accuracy:.4f} / {s.median_best_test_accuracy:.4f} "
        f"| {s.runs_above_chance}/{len(s.seeds)} "
        f"| {s.median_dead_share:.0%} ({s.min_dead_share:.0%}-{s.max_dead_share:.0%}) "
        f"| {', '.join(_layer(v) for v in s.first_dead_layers)} "
        f"| {_layer(s.median_first_dead_layer)} |"
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
        "| dead linkages (end) | dead elements (end) | first dead layer (ch / el) |\n"
        f"|---|{'---:|' if several else ''}---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in rows:
        lines.append(
            f"| {r.activation} |{f' {r.seed} |' if several else ''} `{r.model}` "
            f"| {r.parameters:,} | {r.epochs}{'*' if r.partial else ''} "
            f"| {r.best_test_accuracy:.4f} | {r.final_test_accuracy:.4f} "
            f"| {r.final_train_loss:.4f} | {r.seconds:.0f} "
            f"| {r.dead_units}/{r.units} ({r.dead_share:.0%}) "
            f"| {'' if r.dead_linkages is None else f'{r.dead_linkages}/{r.linkages}'} "
            f"| {_elements(r)} "
            f"| {_layer(r.first_dead_layer)} / {_layer(r.first_dead_element_layer)} |"
        )
    note = (
        "\n\n\\* last epoch cut short by the time budget or --max-steps."
        if any(r.partial for r in rows)
        else ""
    )
    return head + "\n".join(lines) + note + f"\n\nChance level: {chance:.4f}.\n"


def _elements(r: RunSummary) -> str:
    """'dead/elements (share)' of a run, '' when elements were not counted."""
    share = r.dead_element_share
    if share is None:
        return ""
    return f"{r.dead_elements}/{r.elements} ({share:.0%})"


def time_table(rows: list[RunSummary], chance: float, ratios: list[TimeRatio]) -> str:
    """A Markdown table, one row per activation as in the paper's no-BN ResNet table:
    max / median best test accuracy over the seeds, the whole-run wall time and its
    ratio to the reference (the paper's measure), the seconds per step and their ratio,
    and the first layer with a dead channel of each run (no-BN rows only)."""
    from linkedonnx.zoo.naming import parse_name

    by_activation = {r.activation: r for r in ratios}
    head = (
        "| activation | model | BN | runs | best test acc: max / median "
        "| whole run s | wall-time ratio | s / step | per-step ratio "
        "| first dead layer per run |\n"
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for s in summarise_seeds(rows, chance):
        t = by_activation[s.activation]
        bn = parse_name(s.model).batch_norm
        dead = "" if bn else ", ".join(_layer(v) for v in s.first_dead_layers)
        lines.append(
            f"| {s.activation} | `{s.model}` | {'yes' if bn else 'no'} | {t.runs} "
            f"| {s.best_test_accuracy:.4f} / {s.median_best_test_accuracy:.4f} "
            f"| {t.wall_seconds:.1f} | {_times(t.wall_ratio)} "
            f"| {t.seconds_per_step:.3f} | {_times(t.step_ratio)} | {dead} |"
        )
    return head + "\n".join(lines) + "\n"


def _times(ratio: float | None) -> str:
    """'1.23x', or '' when there is no ratio."""
    return "" if ratio is None else f"{ratio:.2f}x"
