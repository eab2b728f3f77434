"""Linked-aware INT8 static quantization (no torch here): lower with the optimize
pipeline, calibrate on numpy batches, share one range between the halves of each
linked activation, quantize with ONNX Runtime's QDQ quantizer.

Public API: :func:`quantize` (ModelProto + batches), :func:`quantize_file`,
:class:`QuantizeReport`, :func:`calibration_batches`.
"""

from linkedonnx.quantize.calibration import calibration_batches
from linkedonnx.quantize.file import quantize_file
from linkedonnx.quantize.static import METADATA_KEY, METHODS, QuantizeReport, quantize

__all__ = [
    "METADATA_KEY",
    "METHODS",
    "QuantizeReport",
    "calibration_batches",
    "quantize",
    "quantize_file",
]
