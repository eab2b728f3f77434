"""LinkifyReport: each activation linked or left (and why), parameter counts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ActivationEntry:
    """One activation call site: its ``site`` label, the ``op`` as written, its plain
    ``kind``, whether it was ``linked``, the ``reason``, and the widened ``consumers``."""

    site: str
    op: str
    kind: str
    linked: bool
    reason: str
    consumers: tuple[str, ...] = ()


@dataclass
class LinkifyReport:
    """What :func:`linkedonnx.linkify.linkify` did."""

    activation: str
    preserve_function: bool
    activations: list[ActivationEntry] = field(default_factory=list)
    params_before: int = 0
    params_after: int = 0

    @property
    def linked(self) -> int:
        """Number of activation call sites linked."""
        return sum(a.linked for a in self.activations)

    @property
    def left(self) -> int:
        """Number of activation call sites left as they were."""
        return len(self.activations) - self.linked

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (counts included)."""
        return {
            "activation": self.activation,
            "preserve_function": self.preserve_function,
            "linked": self.linked,
            "left": self.left,
            "params_before": self.params_before,
            "params_after": self.params_after,
            "activations": [
                {**asdict(a), "consumers": list(a.consumers)} for a in self.activations
            ],
        }

    def summary(self) -> str:
        """One line: counts and parameters."""
        return (
            f"{self.linked} activations linked ({self.activation}), {self.left} left; "
            f"parameters {self.params_before:,} -> {self.params_after:,}"
        )
