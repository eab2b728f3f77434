"""Timing helpers shared by the benchmark scripts (torch and the standard library only,
so the GPU script runs on a machine with nothing but torch and this repository)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def stats(times_ms: Sequence[float], batch: int) -> dict[str, float]:
    """Median, p90, p99, min (ms) and throughput (items/s at the median) of ``times_ms``."""
    if not times_ms:
        raise ValueError("no timed runs")
    ordered = sorted(times_ms)

    def pct(q: float) -> float:
        # linear interpolation, as numpy.percentile's default
        pos = (len(ordered) - 1) * q / 100
        lo = int(pos)
        hi = min(lo + 1, len(ordered) - 1)
        return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)

    median = statistics.median(ordered)
    return {
        "median_ms": median,
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "min_ms": ordered[0],
        "runs": len(ordered),
        "throughput": batch * 1e3 / median if median > 0 else float("inf"),
    }


def time_host(fn: Callable[[], Any], warmup: int, runs: int) -> list[float]:
    """Call ``fn`` ``warmup`` times, then time ``runs`` calls with perf_counter; return ms."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1e3)
    return out


def time_cuda(fn: Callable[[], Any], warmup: int, runs: int) -> list[float]:
    """Time ``runs`` calls of ``fn`` on the current CUDA stream with CUDA events (each
    call bracketed by its own event pair, synchronized before reading); return ms."""
    import torch

    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    pairs = []
    for _ in range(runs):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        pairs.append((start, end))
    torch.cuda.synchronize()
    return [s.elapsed_time(e) for s, e in pairs]


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (lscpu's 'Model name'), else the platform's."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """Processor, logical CPU count, OS and Python version of this machine."""
    return {
        "processor": platform.processor() or platform.machine(),
        "logical_cpus": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically (temp file + rename)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, target)
    return target


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table of ``rows`` under ``header``."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
