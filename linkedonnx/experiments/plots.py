"""Experiment plots (matplotlib, Agg backend): test accuracy per epoch (or against the
run's wall time) per activation, and the share of dead units per layer at the end of
each run. Runs of one activation
with different seeds (``groups``) share a colour and one legend entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from linkedonnx.plotting import finish as _finish
from linkedonnx.plotting import pyplot as _pyplot


def _styles(labels: list[str], groups: dict[str, str] | None) -> dict[str, dict[str, Any]]:
    """Line style per run label: one colour per group, the legend label on its first run."""
    groups = groups or {label: label for label in labels}
    order = list(dict.fromkeys(groups[label] for label in labels))
    sizes = {g: sum(groups[label] == g for label in labels) for g in order}
    styles, seen = {}, set()
    for label in labels:
        group = groups[label]
        legend = None
        if group not in seen:
            legend = group if sizes[group] == 1 else f"{group} ({sizes[group]} seeds)"
            seen.add(group)
        styles[label] = {
            "color": f"C{order.index(group) % 10}",
            "label": legend,
            "alpha": 1.0 if sizes[group] == 1 else 0.6,
        }
    return styles


def plot_accuracy(
    runs: dict[str, list[dict[str, Any]]],
    path: Path,
    title: str,
    chance: float,
    groups: dict[str, str] | None = None,
    against: str = "epoch",
) -> Path:
    """Write a PNG of test accuracy against ``against`` 'epoch' or 'wall' (the run's
    wall time, :func:`~linkedonnx.experiments.timing.elapsed`), one line per run
    (``groups`` maps a run label to its activation, for colours); return ``path``.
    Raises ValueError for another ``against``."""
    from linkedonnx.experiments.timing import elapsed

    if against not in ("epoch", "wall"):
        raise ValueError(f"against must be 'epoch' or 'wall', got {against!r}")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    styles = _styles(list(runs), groups)
    for label, metrics in runs.items():
        ax.plot(
            [m["epoch"] for m in metrics] if against == "epoch" else elapsed(metrics),
            [m["test_accuracy"] for m in metrics],
            marker="o",
            markersize=3,
            **styles[label],
        )
    ax.axhline(chance, color="grey", linestyle=":", label="chance")
    xlabel = "epoch" if against == "epoch" else "wall time of the run (s): training + test"
    ax.set(xlabel=xlabel, ylabel="test accuracy", title=title, ylim=(0, 1))
    return _finish(plt, fig, ax, path)


def plot_dead_units(
    runs: dict[str, list[dict[str, Any]]],
    path: Path,
    title: str,
    groups: dict[str, str] | None = None,
    per: str = "channel",
) -> Path:
    """Write a PNG of the dead-unit share per activation layer (last epoch of each run;
    units ``per`` 'channel' or 'element'; ``groups`` as for :func:`plot_accuracy`);
    return ``path``."""
    from linkedonnx.experiments.report import layer_counts

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    styles = _styles(list(runs), groups)
    for label, metrics in runs.items():
        counts = [layer_counts(la, per) for la in metrics[-1]["dead_units"]["layers"]]
        shares = [dead / units if units else 0.0 for units, dead in counts]
        ax.plot(range(1, len(shares) + 1), shares, marker="o", markersize=3, **styles[label])
    ax.set(
        xlabel="layer (1-based activation index = conv index in the depth net)",
        ylabel=f"share of dead units (per {per})",
        title=title,
        ylim=(-0.02, 1.02),
    )
    return _finish(plt, fig, ax, path)
