"""Dead-unit reports shared by the torch and the ONNX Runtime counters (no torch here).

A unit is a channel along the activation's unit axis (1 for NCHW and dense outputs;
a linked layer's ``axis``, so each half's channels count as units). It is dead when
its activation is zero at every position of every sample seen (the paper's definition).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


def alive_channels(activation: np.ndarray, axis: int) -> np.ndarray:
    """Return a bool vector over ``axis``: True where any element of that channel is non-zero."""
    moved = np.moveaxis(np.asarray(activation), axis, 0)
    return (moved.reshape(moved.shape[0], -1) != 0).any(axis=1)


@dataclass
class LayerUnits:
    """Dead-unit count of one activation layer (one call of it, in execution order)."""

    name: str
    kind: str
    units: int
    dead: int

    @property
    def share(self) -> float:
        """Fraction of the layer's units that are dead (0 for a layer without units)."""
        return self.dead / self.units if self.units else 0.0


@dataclass
class DeadUnitReport:
    """Per-layer dead units of one model on ``samples`` samples of a dataset."""

    source: str
    samples: int
    layers: list[LayerUnits] = field(default_factory=list)

    @property
    def units(self) -> int:
        """Units over all layers."""
        return sum(layer.units for layer in self.layers)

    @property
    def dead(self) -> int:
        """Dead units over all layers."""
        return sum(layer.dead for layer in self.layers)

    @property
    def share(self) -> float:
        """Share of dead units over all layers."""
        return self.dead / self.units if self.units else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: source, samples, totals and one entry per layer."""
        return {
            "source": self.source,
            "samples": self.samples,
            "units": self.units,
            "dead": self.dead,
            "share": self.share,
            "layers": [asdict(layer) | {"share": layer.share} for layer in self.layers],
        }

    def to_json(self) -> str:
        """The report as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2)


class AliveTracker:
    """Accumulates per-layer alive masks over batches, keyed by layer name (first-seen order)."""

    def __init__(self) -> None:
        self.alive: dict[str, np.ndarray] = {}
        self.kinds: dict[str, str] = {}

    def update(self, name: str, kind: str, alive: np.ndarray) -> None:
        """OR ``alive`` (bool per unit) into layer ``name``'s mask."""
        if name in self.alive:
            self.alive[name] |= alive
        else:
            self.alive[name] = alive.copy()
            self.kinds[name] = kind

    def layers(self) -> list[LayerUnits]:
        """The per-layer counts so far."""
        return [
            LayerUnits(name, self.kinds[name], int(mask.size), int((~mask).sum()))
            for name, mask in self.alive.items()
        ]
