"""ConcatZPass: the split form's two convolutions become one over ``[relu(z), z]``
before 8-bit quantization (no torch here).

The split lowering computes a linked layer's consumer as ``Conv_a(relu(z)) +
Conv_b(z)``: in float ONNX Runtime fuses the Add into the second conv, but in 8 bits
it becomes a QLinearAdd with its own requantization. One conv over the channel
concatenation ``[relu(z), z]`` with weights ``[W_a, W_b]`` (input axis) and bias
``b_a + b_b`` computes the same sums (reordered), and once ``relu(z)`` shares the
scale and zero point of ``z`` (:mod:`linkedonnx.quantize.linked_groups`) the Relu is
a Clip on the 8-bit tensor (:mod:`linkedonnx.quantize.integer_relu`) and the Concat a
copy: one QLinearConv per layer and nothing requantized.
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from linkedonnx.passes.base import CountingPass
from linkedonnx.passes.graph_utils import const_array

#: Conv attributes that must agree between the two convolutions.
_SAME = ("kernel_shape", "pads", "strides", "dilations", "group", "auto_pad")


def _attrs(node: ir.Node) -> dict[str, object]:
    return {k: (None if a.is_ref() else a.value) for k, a in node.attributes.items()}


def _conv_parts(node: ir.Node | None) -> tuple[np.ndarray, np.ndarray | None] | None:
    """(weight, bias or None) of a plain Conv with constant weight and bias, else None."""
    if node is None or node.op_type != "Conv" or node.domain != "":
        return None
    weight = const_array(node.inputs[1]) if len(node.inputs) > 1 else None
    if weight is None or int(_attrs(node).get("group", 1) or 1) != 1:
        return None
    bias_value = node.inputs[2] if len(node.inputs) > 2 else None
    bias = const_array(bias_value) if bias_value is not None else None
    if bias_value is not None and bias is None:
        return None
    return weight, bias


class ConcatZPass(CountingPass):
    """Rewrite ``Add(Conv_a(Relu(z)), Conv_b(z))`` (same attributes, constant weights,
    one use of each conv) into ``Conv(Concat(Relu(z), z), [W_a, W_b], b_a + b_b)``;
    counts ``concat z``."""

    name = "ConcatZ"

    def run(self, model: ir.Model) -> bool:
        graph = model.graph
        changed = False
        for add in [n for n in graph if n.op_type == "Add" and n.domain == ""]:
            convs = [v.producer() if v is not None else None for v in add.inputs]
            if len(convs) != 2 or any(c is None for c in convs):
                continue
            for pos, neg in (convs, convs[::-1]):
                relu = pos.inputs[0].producer() if pos.inputs[0] is not None else None  # type: ignore[union-attr]
                if relu is None or relu.op_type != "Relu" or relu.inputs[0] is not neg.inputs[0]:  # type: ignore[union-attr]
                    continue
                if self._rewrite(graph, add, pos, neg, relu):  # type: ignore[arg-type]
                    changed = True
                break
        return changed

    def _rewrite(
        self, graph: ir.Graph, add: ir.Node, pos: ir.Node, neg: ir.Node, relu: ir.Node
    ) -> bool:
        a, b = _conv_parts(pos), _conv_parts(neg)
        if a is None or b is None:
            return False
        if {k: v for k, v in _attrs(pos).items() if k in _SAME} != {
            k: v for k, v in _attrs(neg).items() if k in _SAME
        }:
            return False
        if len(list(pos.outputs[0].uses())) != 1 or len(list(neg.outputs[0].uses())) != 1:
            return False
        if pos.outputs[0].is_graph_output() or neg.outputs[0].is_graph_output():
            return False
        (wa, ba), (wb, bb) = a, b
        if wa.shape[0] != wb.shape[0] or wa.shape[2:] != wb.shape[2:]:
            return False
        weight = np.concatenate([wa, wb], axis=1).astype(wa.dtype)
        bias = np.zeros(wa.shape[0], wa.dtype)
        for part in (ba, bb):
            if part is not None:
                bias = bias + part.astype(wa.dtype)
        base = pos.name or "concat_z"
        values = []
        for array, suffix in ((weight, "w"), (bias, "b")):
            value = ir.Value(name=f"{base}_cz_{suffix}", const_value=ir.tensor(array))
            value.type = ir.TensorType(ir.DataType.from_numpy(array.dtype))
            value.shape = ir.Shape(array.shape)
            graph.register_initializer(value)
            values.append(value)
        z = neg.inputs[0]
        concat = ir.node("Concat", [relu.outputs[0], z], {"axis": 1}, name=f"{base}_cz_concat")
        attributes = {k: v for k, v in _attrs(pos).items() if v is not None}
        conv = ir.node("Conv", [concat.outputs[0], *values], attributes, name=f"{base}_cz_conv")
        concat.outputs[0].name = f"{base}_cz_cat"
        conv.outputs[0].name = f"{base}_cz_out"
        conv.outputs[0].type = add.outputs[0].type
        conv.outputs[0].shape = add.outputs[0].shape
        graph.insert_before(add, [concat, conv])
        ir.convenience.replace_all_uses_with(add.outputs[0], conv.outputs[0])
        if add.outputs[0].is_graph_output():
            index = list(graph.outputs).index(add.outputs[0])
            name = add.outputs[0].name
            add.outputs[0].name = f"{name}_replaced"
            conv.outputs[0].name = name
            graph.outputs[index] = conv.outputs[0]
        graph.remove([add, pos, neg], safe=True)
        self.count("concat z")
        return True
