"""What every linkedonnx pass shares: counts of what it did, and running a pipeline of
passes into a report that the CLI prints and writes as JSON."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import onnx_ir as ir
from onnx_ir.passes import PassBase, PassResult


class CountingPass(ir.passes.InPlacePass):
    """An in-place onnx_ir pass that records what it did in ``self.counts``.

    Subclasses implement ``run(model) -> bool`` (True when the model changed) and
    call ``self.count(key, n)``; ``counts`` is reset on every call.
    """

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def count(self, key: str, n: int = 1) -> None:
        """Add ``n`` to the counter ``key``."""
        self.counts[key] += n

    def run(self, model: ir.Model) -> bool:  # pragma: no cover - abstract
        """Transform ``model`` in place; return whether it changed."""
        raise NotImplementedError

    def call(self, model: ir.Model) -> PassResult:
        self.counts = Counter()
        modified = self.run(model)
        return PassResult(model, modified=bool(modified))


@dataclass
class StepReport:
    """One pass's outcome in a pipeline run."""

    name: str
    modified: bool
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class PipelineReport:
    """The outcome of a pipeline run: one StepReport per pass, in order."""

    pipeline: str
    steps: list[StepReport] = field(default_factory=list)

    @property
    def modified(self) -> bool:
        """Whether any pass changed the model."""
        return any(s.modified for s in self.steps)

    def totals(self) -> dict[str, int]:
        """Counts summed over steps, keyed 'PassName.key'."""
        return {f"{s.name}.{k}": v for s in self.steps for k, v in s.counts.items()}

    def to_dict(self) -> dict:
        """A JSON-ready dict of the report."""
        return {
            "pipeline": self.pipeline,
            "modified": self.modified,
            "steps": [
                {
                    "pass": s.name,
                    "modified": s.modified,
                    "counts": dict(s.counts),
                    "seconds": round(s.seconds, 4),
                }
                for s in self.steps
            ],
        }


def pass_name(p: PassBase) -> str:
    """A readable name for a pass: its ``name`` attribute or its class name."""
    return getattr(p, "name", None) or type(p).__name__


def run_pipeline(
    model: ir.Model, passes: Sequence[PassBase], pipeline: str
) -> tuple[ir.Model, PipelineReport]:
    """Run ``passes`` in order on ``model`` and return (model, report).

    Each pass's ``counts`` (for CountingPass and anything else exposing a ``counts``
    mapping) is copied into the report. Functional passes may return a new model.
    """
    report = PipelineReport(pipeline)
    for p in passes:
        start = time.perf_counter()
        result = p(model)
        model = result.model
        counts = dict(getattr(p, "counts", {}) or {})
        report.steps.append(
            StepReport(pass_name(p), result.modified, counts, time.perf_counter() - start)
        )
    return model, report
