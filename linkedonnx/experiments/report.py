"""The experiment's results table (Markdown + JSON), one row per activation."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class RunSummary:
    """One activation's run: model, size, accuracies, time and final dead units."""

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

    @property
    def dead_share(self) -> float:
        """Share of the model's activation units that are dead at the end."""
        return self.dead_units / self.units if self.units else 0.0

    @classmethod
    def from_metrics(
        cls, activation: str, model: str, parameters: int, metrics: list[dict[str, Any]]
    ) -> RunSummary:
        """Summarise a run's per-epoch metrics (as ``train`` logs them)."""
        last = metrics[-1]
        return cls(
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
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict including the dead share."""
        return asdict(self) | {"dead_share": self.dead_share}


def markdown_table(rows: list[RunSummary], chance: float) -> str:
    """A Markdown table of ``rows``, one per activation, and the chance level."""
    head = (
        "| activation | model | parameters | epochs | best test acc | final test acc "
        "| train loss | train s | dead units (end) |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in rows:
        lines.append(
            f"| {r.activation} | `{r.model}` | {r.parameters:,} | {r.epochs}{'*' if r.partial else ''} "
            f"| {r.best_test_accuracy:.4f} | {r.final_test_accuracy:.4f} "
            f"| {r.final_train_loss:.4f} | {r.seconds:.0f} "
            f"| {r.dead_units}/{r.units} ({r.dead_share:.0%}) |"
        )
    note = (
        "\n\n\\* last epoch cut short by the time budget or --max-steps."
        if any(r.partial for r in rows)
        else ""
    )
    return head + "\n".join(lines) + note + f"\n\nChance level: {chance:.4f}.\n"
