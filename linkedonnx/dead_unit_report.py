"""Dead-unit reports shared by the torch and the ONNX Runtime counters: pure numpy, in
neither world, so that train/, runtime/ and inspect/ all import it and none imports another.

A unit is a channel along the activation's unit axis (1 for NCHW and dense outputs;
a linked layer's ``axis``, so each half's channels count as units). It is dead when
its activation is zero at every position of every sample seen (the paper's definition).
In a linked layer (kind ``lk-*``) a *linkage* is channel c of the first half with
channel c of the second (the two activations of one pre-activation); it is dead only
when both are: a dead half beside a live mirror still passes the gradient.
Per element (channel and position, as Keras counts a conv layer's units: its PReLU has
one slope per element) a unit is dead when that one activation value is zero on every
sample; a dead channel has all its elements dead, a live channel may have dead elements.
Each layer also records its *peak*, the largest |activation| seen: a vanishing signal
(a peak far below the learning rate) is where optimizer steps start killing units.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from linkedonnx.report_json import JsonReport


def peak_magnitude(activation: np.ndarray) -> float:
    """The largest |value| of ``activation`` (0 for an empty array)."""
    values = np.asarray(activation)
    return float(np.abs(values).max()) if values.size else 0.0


def alive_elements(activation: np.ndarray) -> np.ndarray:
    """Return a flat bool vector over the elements of one sample (all axes but the first,
    the batch): True where any sample of ``activation`` is non-zero there."""
    values = np.asarray(activation)
    return (values != 0).reshape(values.shape[0], -1).any(axis=0)


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
    dead_linkages: int | None = None  # linked layers only: linkages with both halves dead
    peak: float | None = None  # largest |activation| seen (None: not recorded)
    elements: int | None = None  # units per element (channel x position; None: not recorded)
    dead_elements: int | None = None  # elements zero on every sample

    @property
    def share(self) -> float:
        """Fraction of the layer's units that are dead (0 for a layer without units)."""
        return self.dead / self.units if self.units else 0.0

    @property
    def linkages(self) -> int:
        """Linkages of a linked layer (half its units); 0 for a plain layer."""
        return self.units // 2 if self.dead_linkages is not None else 0


def is_linked_kind(kind: str) -> bool:
    """True for a linked activation's kind ('lk-relu', 'lk-selu', ...)."""
    return kind.startswith("lk-")


def dead_linkages(alive: np.ndarray) -> int:
    """Linkages of a linked layer's alive mask (first half, then the mirror half along
    the unit axis) whose two halves are both dead. Raises ValueError for an odd size."""
    if alive.size % 2:
        raise ValueError(f"a linked layer has an even number of units, got {alive.size}")
    half = alive.size // 2
    return int((~alive[:half] & ~alive[half:]).sum())


@dataclass
class DeadUnitReport(JsonReport):
    """Per-layer dead units of one model on ``samples`` samples of a dataset."""

    source: str
    samples: int
    layers: list[LayerUnits] = field(default_factory=list)
    data: str = ""
    notes: list[str] = field(default_factory=list)

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

    @property
    def linkages(self) -> int:
        """Linkages over the linked layers (0 when there are none)."""
        return sum(layer.linkages for layer in self.layers)

    @property
    def dead_linkages(self) -> int | None:
        """Dead linkages over the linked layers; None when the model has no linked layer."""
        counts = [la.dead_linkages for la in self.layers if la.dead_linkages is not None]
        return sum(counts) if counts else None

    @property
    def elements(self) -> int | None:
        """Elements (channel x position) over all layers; None when not recorded."""
        counts = [la.elements for la in self.layers]
        return sum(counts) if counts and None not in counts else None  # type: ignore[arg-type]

    @property
    def dead_elements(self) -> int | None:
        """Dead elements over all layers; None when not recorded."""
        counts = [la.dead_elements for la in self.layers]
        return sum(counts) if counts and None not in counts else None  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: source, samples, totals and one entry per layer."""
        return {
            "source": self.source,
            "data": self.data,
            "samples": self.samples,
            "units": self.units,
            "dead": self.dead,
            "share": self.share,
            "linkages": self.linkages,
            "dead_linkages": self.dead_linkages,
            "elements": self.elements,
            "dead_elements": self.dead_elements,
            "layers": [asdict(layer) | {"share": layer.share} for layer in self.layers],
            "notes": list(self.notes),
        }


class AliveTracker:
    """Accumulates per-layer alive masks over batches, keyed by layer name (first-seen order)."""

    def __init__(self) -> None:
        self.alive: dict[str, np.ndarray] = {}
        self.kinds: dict[str, str] = {}
        self.peaks: dict[str, float] = {}
        self.elements: dict[str, np.ndarray] = {}

    def update(
        self,
        name: str,
        kind: str,
        alive: np.ndarray,
        peak: float | None = None,
        elements: np.ndarray | None = None,
    ) -> None:
        """OR ``alive`` (bool per unit) into layer ``name``'s mask, and ``elements``
        (bool per element, :func:`alive_elements`) into its element mask when given;
        keep the largest ``peak`` (|activation|) seen."""
        if elements is not None:
            if name in self.elements:
                self.elements[name] |= elements
            else:
                self.elements[name] = elements.copy()
        if name in self.alive:
            self.alive[name] |= alive
        else:
            self.alive[name] = alive.copy()
            self.kinds[name] = kind
        if peak is not None:
            self.peaks[name] = max(self.peaks.get(name, 0.0), float(peak))

    def layers(self) -> list[LayerUnits]:
        """The per-layer counts so far."""
        return [
            LayerUnits(
                name,
                self.kinds[name],
                int(mask.size),
                int((~mask).sum()),
                dead_linkages(mask) if is_linked_kind(self.kinds[name]) else None,
                self.peaks.get(name),
                *self._element_counts(name),
            )
            for name, mask in self.alive.items()
        ]

    def _element_counts(self, name: str) -> tuple[int | None, int | None]:
        """(elements, dead elements) of layer ``name``; (None, None) when not recorded."""
        mask = self.elements.get(name)
        if mask is None:
            return None, None
        return int(mask.size), int((~mask).sum())
