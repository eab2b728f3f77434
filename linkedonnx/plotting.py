"""Matplotlib figures as PNG files (Agg backend, no display): the helpers every plot
of the package shares (experiment curves, bench latency distributions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from linkedonnx.atomic import atomic_path


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (imported on first use)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def finish(plt: Any, fig: Any, ax: Any, path: Path, legend: bool = True) -> Path:
    """Grid, legend (when ``legend``) and layout for ``ax``; save ``fig`` as a PNG at
    ``path`` atomically, close it and return ``path``."""
    ax.grid(alpha=0.3)
    if legend:
        ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return path
