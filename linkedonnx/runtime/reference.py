"""What a model is checked against (no torch here): a :class:`Reference` is a loaded
runner (:mod:`linkedonnx.runners`) with a label for the report, the inputs it takes
(each fed in the float type it wants) and, optionally, how to trace its per-layer
values. ``validate`` and ``validate --data`` load one; the torch side
(:mod:`linkedonnx.reference_torch`) builds the PyTorch one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from linkedonnx.errors import BadInputError
from linkedonnx.runners.base import Runner
from linkedonnx.runtime.inputs import InputSignature
from linkedonnx.runtime.layers import Trace

#: Per-layer values of a reference for the same feeds.
Tracer = Callable[[Mapping[str, np.ndarray]], Trace]


def adapt_feeds(
    feeds: Mapping[str, np.ndarray], inputs: list[InputSignature]
) -> dict[str, np.ndarray]:
    """The arrays of ``feeds`` that ``inputs`` name, each float array cast to the float
    type that input wants (a float16-IO model's inputs fed to a float32 reference)."""
    out = {}
    for sig in inputs:
        if sig.name not in feeds:
            continue
        array = feeds[sig.name]
        if (
            array.dtype != sig.dtype
            and np.issubdtype(array.dtype, np.floating)
            and np.issubdtype(sig.dtype, np.floating)
        ):
            array = array.astype(sig.dtype)
        out[sig.name] = array
    return out


@dataclass
class Reference:
    """A loaded reference: a ``label`` for the report, the ``runner`` holding it, the
    ``inputs`` it takes (None: every feed, as given; else only these, cast to their
    float types), notes for the report, the lowest float ``precision`` it computes in,
    and optionally a ``tracer`` returning its per-layer values for the same feeds."""

    label: str
    runner: Runner
    inputs: list[InputSignature] | None = None
    notes: list[str] = field(default_factory=list)
    precision: str | None = None
    tracer: Tracer | None = None

    @property
    def takes(self) -> frozenset[str] | None:
        """The names of the inputs it takes (None: all)."""
        return None if self.inputs is None else frozenset(s.name for s in self.inputs)

    @property
    def output_names(self) -> list[str]:
        """Its output names (empty when its runner does not name them)."""
        return self.runner.output_names

    def feeds(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The part of the model's ``feeds`` it takes, in the float types it wants."""
        return dict(feeds) if self.inputs is None else adapt_feeds(feeds, self.inputs)

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """Its outputs for the model's ``feeds``."""
        return self.runner.run(self.feeds(feeds))

    def require_tracer(self) -> Tracer:
        """Its tracer. Raises BadInputError when it gives no per-layer values."""
        if self.tracer is None:
            raise BadInputError(f"the reference {self.label} gives no per-layer values")
        return self.tracer

    def trace(self, feeds: Mapping[str, np.ndarray]) -> Trace:
        """Its per-layer values for the model's ``feeds``. Raises BadInputError when it
        gives none."""
        return self.require_tracer()(self.feeds(feeds))
