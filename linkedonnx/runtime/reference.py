"""The independent runner: ONNX's own reference evaluator (pure numpy, no torch).

``onnx.reference.ReferenceEvaluator`` runs model-local functions (the linkedonnx
ones included) from their bodies, so it checks ONNX Runtime without sharing its
kernels or its function inlining.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx.reference import ReferenceEvaluator

from linkedonnx.errors import LinkedOnnxError, first_line


def run_reference(
    model: onnx.ModelProto, feeds: dict[str, np.ndarray], names: list[str] | None = None
) -> list[np.ndarray]:
    """Run ``model`` on ``feeds`` with the ONNX reference evaluator; return the values
    ``names`` (any value of the main graph; default: its outputs in graph order).
    Raises LinkedOnnxError (one line) when the evaluator cannot load or run the model
    (e.g. an op it does not implement, such as com.microsoft contrib ops)."""
    try:
        evaluator = ReferenceEvaluator(model)
        outputs = evaluator.run(names, feeds)
    except Exception as exc:
        raise LinkedOnnxError(
            "the ONNX reference evaluator cannot run this model "
            f"({type(exc).__name__}: {first_line(exc, '')}); give --reference instead"
        ) from None
    return [np.asarray(o) for o in outputs]
