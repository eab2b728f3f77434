"""The runner interface: a model loaded once on one runtime, run on numpy feeds.

Modelled on Polygraphy's runners: loading is the constructor (timed apart from runs),
``run`` maps input names to arrays and returns the outputs as numpy arrays, and
``settings`` reports what was chosen (threads, precision, ...) for the text and JSON
reports. No torch here; the torch runner lives in its own module and is imported only
when asked for.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np


class Runner(ABC):
    """A model loaded on one runtime. Subclasses set ``runtime`` (e.g. "onnxruntime")
    and ``load_seconds`` (the wall time their constructor spent loading/compiling)."""

    runtime: ClassVar[str]
    load_seconds: float = 0.0

    @property
    @abstractmethod
    def input_names(self) -> list[str]:
        """The names the model's feeds are given by, in graph order."""

    @property
    @abstractmethod
    def output_names(self) -> list[str]:
        """The model's output names, in graph order."""

    @abstractmethod
    def run(
        self, feeds: Mapping[str, np.ndarray], outputs: Sequence[str] | None = None
    ) -> list[np.ndarray]:
        """Run on ``feeds`` (input name -> array); return ``outputs`` (default: all, in
        graph order) as numpy arrays. Raises BadInputError (one line) on feeds the model
        cannot take."""

    def settings(self) -> dict[str, Any]:
        """What this runner chose (runtime, provider, threads, precision, ...), for
        reports. Override to add runtime-specific settings."""
        return {"runtime": self.runtime}

    def timed_call(self, feeds: Mapping[str, np.ndarray]) -> Callable[[], None]:
        """A function of no arguments that runs the model once on ``feeds``: what a
        timing loop calls. Runtimes override it to keep conversions and copies out of
        the timed call (set up here, once); the default calls :meth:`run`."""

        def run_once() -> None:
            self.run(feeds)

        return run_once
