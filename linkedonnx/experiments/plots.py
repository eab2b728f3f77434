"""Experiment plots (matplotlib, Agg backend): test accuracy per epoch per activation,
and the share of dead units per layer at the end of each run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from linkedonnx.atomic import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_accuracy(
    runs: dict[str, list[dict[str, Any]]], path: Path, title: str, chance: float
) -> Path:
    """Write a PNG of test accuracy against epoch, one line per activation."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for activation, metrics in runs.items():
        ax.plot(
            [m["epoch"] for m in metrics],
            [m["test_accuracy"] for m in metrics],
            marker="o",
            markersize=3,
            label=activation,
        )
    ax.axhline(chance, color="grey", linestyle=":", label="chance")
    ax.set(xlabel="epoch", ylabel="test accuracy", title=title, ylim=(0, 1))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return path


def plot_dead_units(runs: dict[str, list[dict[str, Any]]], path: Path, title: str) -> Path:
    """Write a PNG of the dead-unit share per activation layer (last epoch of each run)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for activation, metrics in runs.items():
        layers = metrics[-1]["dead_units"]["layers"]
        shares = [dead / units if units else 0.0 for _, units, dead in layers]
        ax.plot(range(1, len(shares) + 1), shares, marker="o", markersize=3, label=activation)
    ax.set(xlabel="activation layer", ylabel="share of dead units", title=title, ylim=(-0.02, 1.02))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return path
