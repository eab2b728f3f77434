"""Float16Pass: convert a float32 model to float16 for the CUDA target (no torch here).

Float32 initializers, Constant values, value types and Cast(to=float) become float16.
With ``keep_io_float32`` (the default) float32 graph inputs and outputs stay float32:
a Cast to float16 follows each input and a Cast back to float32 precedes each output,
so callers feed and receive float32; an initializer that is also a graph input stays a
float32 input too. Ops whose float inputs must stay float32 (Resize
scales and the like) are not special-cased: the models here do not use them.
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from linkedonnx.passes.base import CountingPass
from linkedonnx.passes.ir_helpers import Namer, copy_provenance

F32, F16 = ir.DataType.FLOAT, ir.DataType.FLOAT16


def _to_f16(tensor: ir.TensorProtocol, name: str | None) -> ir.Tensor:
    return ir.tensor(np.asarray(tensor.numpy(), np.float32).astype(np.float16), name=name)


class Float16Pass(CountingPass):
    """Convert float32 to float16; counts ``initializers``, ``values``, ``casts added``."""

    name = "Float16"

    def __init__(self, keep_io_float32: bool = True) -> None:
        super().__init__()
        self.keep_io_float32 = keep_io_float32

    def run(self, model: ir.Model) -> bool:
        graph = model.graph
        namer = Namer(graph)
        for value in graph.initializers.values():
            if self.keep_io_float32 and value.is_graph_input():
                continue  # an overridable weight: a float32 input, cast after it below
            if value.const_value is not None and value.const_value.dtype == F32:
                value.const_value = _to_f16(value.const_value, value.name)
                value.dtype = F16
                self.count("initializers")
        io_outputs = {id(v) for v in graph.outputs}
        for node in ir.traversal.RecursiveGraphIterator(graph):
            if node.op_type == "Constant" and node.domain == "":
                attr = node.attributes.get("value")
                if attr is not None and attr.as_tensor().dtype == F32:
                    node.attributes["value"] = ir.AttrTensor(
                        "value", _to_f16(attr.as_tensor(), None)
                    )
                    self.count("constants")
            if (
                node.op_type == "Cast"
                and node.domain == ""
                and node.attributes["to"].as_int() == F32.value
            ):
                node.attributes["to"] = ir.AttrInt64("to", F16.value)
                self.count("casts retargeted")
            for out in node.outputs:
                if out.dtype == F32 and (id(out) not in io_outputs or not self.keep_io_float32):
                    out.dtype = F16
                    self.count("values")
        for value in list(graph.inputs):
            if value.dtype != F32:
                continue
            if not self.keep_io_float32:
                value.dtype = F16
                self.count("inputs")
                continue
            uses = list(value.uses())
            cast = ir.node("Cast", [value], {"to": F16.value}, name=namer(f"{value.name}_to_f16"))
            half = cast.outputs[0]
            half.name, half.dtype, half.shape = namer(f"{value.name}_f16"), F16, value.shape
            for use in uses:
                use.node.replace_input_with(use.idx, half)
            if graph.num_nodes():
                graph.insert_before(graph.node(0), cast)
            else:
                graph.append(cast)
            self.count("casts added")
        if self.keep_io_float32:
            for i, value in enumerate(list(graph.outputs)):
                if value.dtype != F32:
                    continue
                producer = value.producer()
                if producer is None:
                    continue
                name = value.name
                value.name = namer(f"{name}_f16")
                value.dtype = F16
                cast = ir.node("Cast", [value], {"to": F32.value}, name=namer(f"{name}_to_f32"))
                copy_provenance(producer, cast)
                out = cast.outputs[0]
                out.dtype, out.shape = F32, value.shape
                graph.append(cast)
                graph.outputs[i] = out
                out.name = name
                self.count("casts added")
        return bool(self.counts)
