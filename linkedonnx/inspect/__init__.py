"""Dead-unit inspection: per layer, how many units are zero on every sample.

``inspect_source(SOURCE, data)`` accepts a checkpoint, ``zoo:NAME`` or an ``.onnx``
file; the report types live in :mod:`linkedonnx.dead_unit_report` (numpy only).
"""

from linkedonnx.dead_unit_report import DeadUnitReport, LayerUnits
from linkedonnx.inspect.source import inspect_source

__all__ = ["DeadUnitReport", "LayerUnits", "inspect_source"]
