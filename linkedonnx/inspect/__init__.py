"""Dead-unit inspection: per layer, how many units are zero on every sample.

``inspect_source(SOURCE, data)`` accepts a checkpoint, ``zoo:NAME`` or an ``.onnx``
file; the report types live in :mod:`linkedonnx.inspect.report` (numpy only).
"""

from linkedonnx.inspect.report import DeadUnitReport, LayerUnits
from linkedonnx.inspect.source import inspect_source

__all__ = ["DeadUnitReport", "LayerUnits", "inspect_source"]
