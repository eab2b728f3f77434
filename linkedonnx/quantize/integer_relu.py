"""IntegerReluPass: a Relu between a DequantizeLinear and a QuantizeLinear with the same
scale and zero point becomes a Clip on the 8-bit tensor itself (no torch here).

``Q(relu(DQ(q)))`` with one (scale, zero point) on both sides is exactly
``clip(q, zero_point, qmax)``: no float round trip. The linked-aware quantizer gives the
split form's ``relu(z)`` the range of ``z`` so this applies there; ORT would otherwise
run DequantizeLinear, Relu (or a requantization) and QuantizeLinear in float.
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from linkedonnx.passes.base import CountingPass
from linkedonnx.passes.graph_utils import const_array

_QMAX = {ir.DataType.UINT8: 255, ir.DataType.INT8: 127}


def qparams(node: ir.Node) -> tuple[np.ndarray, np.ndarray] | None:
    """(scale, zero point) constants of a per-tensor Q or DQ node, else None."""
    if len(node.inputs) < 3 or node.attributes.get("axis") is not None:
        return None
    scale, zero = const_array(node.inputs[1]), const_array(node.inputs[2])
    if scale is None or zero is None or scale.size != 1 or zero.size != 1:
        return None
    return scale, zero


class IntegerReluPass(CountingPass):
    """Rewrite ``DQ -> Relu -> Q`` with equal per-tensor parameters into ``Clip(q,
    zero_point, qmax)`` on the 8-bit tensor; counts ``integer relu``."""

    name = "IntegerRelu"

    def run(self, model: ir.Model) -> bool:
        graph = model.graph
        changed = False
        for relu in [n for n in graph if n.op_type == "Relu" and n.domain == ""]:
            dq = relu.inputs[0].producer() if relu.inputs[0] is not None else None
            users = list(relu.outputs[0].uses())
            if dq is None or dq.op_type != "DequantizeLinear" or len(users) != 1:
                continue
            q = users[0].node
            if q.op_type != "QuantizeLinear" or q.outputs[0].is_graph_output():
                continue
            before, after = qparams(dq), qparams(q)
            quantized = dq.inputs[0]
            if before is None or after is None or quantized is None:
                continue
            dtype = ir.DataType.from_numpy(before[1].dtype)  # the zero point's: the 8-bit type
            if dtype not in _QMAX or after[1].dtype != before[1].dtype:
                continue
            if not (np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])):
                continue
            high = ir.Value(
                name=f"{relu.name or 'relu'}_qmax",
                const_value=ir.tensor(np.array(_QMAX[dtype], dtype=before[1].dtype)),
            )
            high.type = ir.TensorType(dtype)
            high.shape = ir.Shape([])
            graph.register_initializer(high)
            clip = ir.node("Clip", [quantized, dq.inputs[2], high], name=f"{relu.name}_integer")
            graph.insert_before(q, clip)
            clip.outputs[0].name = f"{q.outputs[0].name}_clip"
            clip.outputs[0].type = q.outputs[0].type
            clip.outputs[0].shape = q.outputs[0].shape
            ir.convenience.replace_all_uses_with(q.outputs[0], clip.outputs[0])
            graph.remove([q, relu], safe=True)
            if not list(dq.outputs[0].uses()):
                graph.remove(dq, safe=True)
            self.count("integer relu")
            changed = True
        return changed
