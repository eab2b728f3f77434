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

from linkedonnx.errors import BadInputError, LinkedOnnxError, run_failure


class Runner(ABC):
    """A model loaded on one runtime. Subclasses set ``runtime`` (e.g. "onnxruntime")
    and ``load_seconds`` (the wall time their constructor spent loading/compiling)."""

    runtime: ClassVar[str]
    load_seconds: float = 0.0

    @property
    def title(self) -> str:
        """How messages name the runtime ("ONNX Runtime", ...); default ``runtime``."""
        return self.runtime

    @property
    @abstractmethod
    def input_names(self) -> list[str]:
        """The names the model's feeds are given by, in graph order."""

    @property
    @abstractmethod
    def output_names(self) -> list[str]:
        """The model's output names, in graph order."""

    def run(
        self, feeds: Mapping[str, np.ndarray], outputs: Sequence[str] | None = None
    ) -> list[np.ndarray]:
        """Run on ``feeds`` (input name -> array); return ``outputs`` (default: all, in
        graph order) as numpy arrays. Raises BadInputError (one line) on feeds the model
        cannot take (:meth:`failure` for any failure of :meth:`run_impl` that is not
        already a LinkedOnnxError)."""
        names = None if outputs is None else list(outputs)
        try:
            values = self.run_impl(dict(feeds), names)
        except LinkedOnnxError:
            raise
        except Exception as exc:
            raise self.failure(exc) from None
        return [np.asarray(v) for v in values]

    def run_impl(self, feeds: dict[str, np.ndarray], outputs: list[str] | None) -> Sequence[Any]:
        """The runtime's own call behind :meth:`run`: the values ``outputs`` names (None:
        all). A runner implements this, or overrides :meth:`run` itself."""
        raise NotImplementedError(f"{type(self).__name__} implements neither run nor run_impl")

    def failure(self, exc: Exception) -> LinkedOnnxError:
        """The one-line error :meth:`run` raises when :meth:`run_impl` fails: by default
        a BadInputError '<title> failed to run the model: <type>: <message>'."""
        return run_failure(self.title, exc, BadInputError)

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
