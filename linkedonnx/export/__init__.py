"""torch -> ONNX: the one place that knows both worlds.

- :func:`export_model`: an ``nn.Module`` to ONNX, linked activations as model-local
  functions in the ``linkedonnx`` domain (or inlined);
- :func:`export_plain`: the plain ``torch.onnx.export`` baseline (no functions);
- :func:`export_source`: the same for a SOURCE string (``zoo:NAME`` or a checkpoint);
- :func:`run_torch`: the PyTorch runner that validation compares against.
"""

from linkedonnx.export.exporter import (
    MAX_EXPORT_OPSET,
    MIN_EXPORT_OPSET,
    ExportResult,
    export_model,
    export_plain,
    export_source,
)
from linkedonnx.functions.inline import inline_linked_functions
from linkedonnx.runners.torch_runner import run_torch

__all__ = [
    "MAX_EXPORT_OPSET",
    "MIN_EXPORT_OPSET",
    "ExportResult",
    "export_model",
    "export_plain",
    "export_source",
    "inline_linked_functions",
    "run_torch",
]
