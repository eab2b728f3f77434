"""ONNX Runtime's own profile of a model: share of kernel time per op type (no torch).

ORT writes a Chrome-trace JSON when profiling is on; every kernel run is an event with
``cat == "Node"``, a name ending in ``_kernel_time``, its duration ``dur`` (µs) and
``args.op_name``. :func:`kernel_shares` sums those per op type; :func:`profile_model`
runs a model with profiling on and summarizes the trace.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import onnx

from linkedonnx.errors import BadInputError
from linkedonnx.runtime.inputs import session_inputs
from linkedonnx.runtime.session import make_session

#: Op types counted as convolution / matrix-product kernels.
CONV_GEMM_OPS = frozenset({"Conv", "FusedConv", "NhwcFusedConv", "Gemm", "FusedGemm"})


@dataclass
class ProfileSummary:
    """Kernel time (µs) per op type over the profiled runs, and derived shares."""

    runs: int
    batch: int
    threads: int | None
    kernel_us: dict[str, float] = field(default_factory=dict)

    @property
    def total_us(self) -> float:
        """Total kernel time (µs)."""
        return float(sum(self.kernel_us.values()))

    def share(self, op_types: frozenset[str] | set[str]) -> float:
        """Fraction of kernel time spent in ``op_types`` (0 when nothing was timed)."""
        total = self.total_us
        return sum(v for k, v in self.kernel_us.items() if k in op_types) / total if total else 0.0

    @property
    def outside_conv_gemm(self) -> float:
        """Fraction of kernel time outside Conv/Gemm kernels."""
        return 1.0 - self.share(CONV_GEMM_OPS) if self.total_us else 0.0

    def to_dict(self) -> dict:
        """A JSON-ready dict with per-op shares."""
        total = self.total_us or 1.0
        return {
            "runs": self.runs,
            "batch": self.batch,
            "threads": self.threads,
            "total_kernel_ms": round(self.total_us / 1e3, 3),
            "outside_conv_gemm": round(self.outside_conv_gemm, 4),
            "shares": {
                k: round(v / total, 4)
                for k, v in sorted(self.kernel_us.items(), key=lambda kv: -kv[1])
            },
        }


def kernel_shares(trace: str | os.PathLike[str] | list, skip_runs: int = 0) -> dict[str, float]:
    """Sum kernel durations (µs) per op type from an ORT profile (path or parsed list),
    ignoring the kernels of the first ``skip_runs`` ``model_run`` events (warm-up).

    Raises BadInputError for a file that is not an ORT profile."""
    if isinstance(trace, list):
        events = trace
    else:
        try:
            events = json.loads(Path(trace).read_text())
        except (OSError, ValueError) as exc:
            raise BadInputError(f"cannot read ORT profile {trace}: {exc}") from None
    if not isinstance(events, list):
        raise BadInputError("an ORT profile is a JSON list of trace events")
    events = [e for e in events if isinstance(e, dict)]
    runs = sorted(
        (float(e.get("ts", 0)) + float(e.get("dur", 0)))
        for e in events
        if e.get("cat") == "Session" and e.get("name") == "model_run"
    )
    after = runs[skip_runs - 1] if 0 < skip_runs <= len(runs) else float("-inf")
    totals: Counter[str] = Counter()
    for event in events:
        if event.get("cat") != "Node" or not str(event.get("name", "")).endswith("_kernel_time"):
            continue
        if float(event.get("ts", 0)) < after:
            continue
        op = (event.get("args") or {}).get("op_name", "?")
        totals[op] += float(event.get("dur", 0))
    return dict(totals)


def profile_model(
    model: str | os.PathLike[str] | onnx.ModelProto,
    *,
    batch: int = 1,
    threads: int | None = None,
    warmup: int = 3,
    runs: int = 10,
    optimization: str = "all",
) -> ProfileSummary:
    """Run ``model`` on seeded inputs with ORT profiling on (CPU EP) and return the
    kernel time per op type of the ``runs`` timed runs (warm-up runs excluded).
    Raises BadInputError for bad settings or a model ORT cannot load."""
    if runs < 1 or warmup < 0 or batch < 1:
        raise BadInputError("runs and batch must be at least 1 and warmup non-negative")
    with tempfile.TemporaryDirectory(prefix="linkedonnx-profile-") as tmp:
        session = make_session(
            model,
            "cpu",
            threads=threads,
            optimization=optimization,
            profile_prefix=os.path.join(tmp, "ort"),
        )
        feeds = session_inputs(session, batch)
        for _ in range(warmup + runs):
            session.run(None, feeds)
        path = session.end_profiling()
        kernels = kernel_shares(path, skip_runs=warmup)
    return ProfileSummary(runs=runs, batch=batch, threads=threads, kernel_us=kernels)
