"""``bench --plot``: the latency distribution of each benchmarked model as a PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from linkedonnx.errors import BadInputError
from linkedonnx.plotting import finish, pyplot
from linkedonnx.runtime.bench import Timing


def latency_plot(timings: Sequence[Timing], path: Path, title: str = "") -> Path:
    """Draw one horizontal box (quartiles, 1.5 IQR whiskers, outliers) per model over its
    timed runs (ms), the median marked, and save it as a PNG at ``path`` atomically.
    Raises BadInputError when a timing has no per-run times. Returns ``path``."""
    if not timings or any(not t.times_ms for t in timings):
        raise BadInputError("no per-run times to plot")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.6 * len(timings)))
    names = [Path(t.name).name for t in timings][::-1]  # the first model on top
    data = [t.times_ms for t in timings][::-1]
    import matplotlib

    major, minor = (int(p) for p in matplotlib.__version__.split(".")[:2])
    sideways = {"orientation": "horizontal"} if (major, minor) >= (3, 10) else {"vert": False}
    ax.boxplot(data, showfliers=True, **sideways)  # `vert` is deprecated from 3.10 on
    ax.set_yticks(range(1, len(data) + 1), names)
    ax.scatter([t.median_ms for t in timings][::-1], range(1, len(data) + 1), marker="|",
               s=200, color="tab:red", zorder=3, label="median")  # fmt: skip
    ax.set_xscale("log")  # one slow run must not squash the others
    _readable_log_ticks(ax, min(min(d) for d in data), max(max(d) for d in data))
    ax.set_xlabel("latency per run (ms, log scale)")
    ax.set_title(title or "latency distribution")
    return finish(plt, fig, ax, path)


def _readable_log_ticks(ax: object, low: float, high: float) -> None:
    """Label the log axis of ``ax`` without overlap: under one decade (matplotlib would
    label every minor tick there, in scientific notation) a few evenly spaced plain
    numbers; over a decade the powers of ten only. Minor ticks stay, unlabelled."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())  # type: ignore[attr-defined]
    if high < 10 * low:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))  # type: ignore[attr-defined]
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # type: ignore[attr-defined]
