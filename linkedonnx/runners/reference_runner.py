"""The ONNX reference evaluator runner: ONNX's own pure-numpy implementation (no torch).

``onnx.reference.ReferenceEvaluator`` runs model-local functions (the linkedonnx ones
included) from their bodies, so it checks ONNX Runtime without sharing its kernels or
its function inlining. It is validate's default reference, not a ``--provider``.
"""

from __future__ import annotations

import os
import time
from typing import Any, ClassVar

import numpy as np
import onnx
from onnx.reference import ReferenceEvaluator

from linkedonnx.errors import LinkedOnnxError, first_line
from linkedonnx.runners.base import Runner


def _cannot_run(exc: Exception) -> LinkedOnnxError:
    return LinkedOnnxError(
        "the ONNX reference evaluator cannot run this model "
        f"({type(exc).__name__}: {first_line(exc, '')}); give --reference instead"
    )


class ReferenceEvaluatorRunner(Runner):
    """``model`` (path, bytes or ModelProto) loaded in ONNX's reference evaluator.
    ``run`` may ask for any value of the main graph, not only its outputs. Raises
    LinkedOnnxError (one line) when the evaluator cannot load or run the model (e.g. an
    op it does not implement, such as com.microsoft contrib ops)."""

    runtime: ClassVar[str] = "onnx.reference"

    def __init__(self, model: str | os.PathLike[str] | bytes | onnx.ModelProto) -> None:
        start = time.perf_counter()
        if isinstance(model, bytes):
            model = onnx.load_from_string(model)
        elif not isinstance(model, onnx.ModelProto):
            model = onnx.load_model(os.fspath(model))
        self.model = model
        try:
            self.evaluator = ReferenceEvaluator(model)
        except Exception as exc:
            raise _cannot_run(exc) from None
        self.load_seconds = time.perf_counter() - start

    @property
    def title(self) -> str:
        return "the ONNX reference evaluator"

    @property
    def input_names(self) -> list[str]:
        return list(self.evaluator.input_names)

    @property
    def output_names(self) -> list[str]:
        return list(self.evaluator.output_names)

    def run_impl(self, feeds: dict[str, np.ndarray], outputs: list[str] | None) -> list[Any]:
        return self.evaluator.run(outputs, feeds)

    def failure(self, exc: Exception) -> LinkedOnnxError:
        return _cannot_run(exc)
