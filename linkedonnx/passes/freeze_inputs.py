"""FreezeInputsPass: take initializers out of the graph inputs (no torch here).

Older exporters (torch.onnx with ``keep_initializers_as_inputs``, opset <= 13) list
every initializer among the graph inputs, so a caller may feed other weights at run
time and no pass may treat them as constants. Freezing drops them from the inputs: the
stored values become constants the passes can fold, negate, split or stack.
"""

from __future__ import annotations

import onnx_ir as ir

from linkedonnx.passes.base import CountingPass
from linkedonnx.passes.graph_utils import is_overridable

#: The first IR version that lets an initializer be something other than a graph input.
MIN_IR_VERSION = 4


class FreezeInputsPass(CountingPass):
    """Remove every initializer from the main graph's inputs; counts ``frozen <name>``
    per initializer moved out of the inputs (the report names each one)."""

    name = "FreezeInputs"

    def run(self, model: ir.Model) -> bool:
        graph = model.graph
        frozen = [v for v in graph.inputs if is_overridable(v)]
        for value in frozen:
            graph.inputs.remove(value)
            self.count(f"frozen {value.name}")
        if frozen and model.ir_version < MIN_IR_VERSION:
            model.ir_version = MIN_IR_VERSION
        return bool(frozen)
