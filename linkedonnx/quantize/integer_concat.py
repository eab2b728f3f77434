"""IntegerConcatPass: a Concat between DequantizeLinears and a QuantizeLinear that all
have the same scale and zero point becomes a Concat of the 8-bit tensors (no torch here).

``Q(concat(DQ(a), DQ(b)))`` with one (scale, zero point) everywhere is exactly
``concat(a, b)``: a copy. ORT would otherwise run it as a QLinearConcat, which
requantizes every element. The linked-aware quantizer gives both halves of a linkage and
their Concat (and the split form's ``[relu(z), z]``) one range, so this applies there.
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from linkedonnx.passes.base import CountingPass
from linkedonnx.quantize.integer_relu import qparams


class IntegerConcatPass(CountingPass):
    """Rewrite ``Q(Concat(DQ(a), DQ(b), ...))`` with equal per-tensor parameters into
    ``Concat(a, b, ...)`` on the 8-bit tensors; counts ``integer concat``."""

    name = "IntegerConcat"

    def run(self, model: ir.Model) -> bool:
        graph = model.graph
        changed = False
        for concat in [n for n in graph if n.op_type == "Concat" and n.domain == ""]:
            users = list(concat.outputs[0].uses())
            if len(users) != 1 or concat.outputs[0].is_graph_output():
                continue
            q = users[0].node
            if q.op_type != "QuantizeLinear" or q.outputs[0].is_graph_output():
                continue
            after = qparams(q)
            dqs = [v.producer() if v is not None else None for v in concat.inputs]
            if after is None or any(d is None or d.op_type != "DequantizeLinear" for d in dqs):
                continue
            params = [qparams(d) for d in dqs]  # type: ignore[arg-type]
            if any(
                p is None
                or p[1].dtype != after[1].dtype
                or not (np.array_equal(p[0], after[0]) and np.array_equal(p[1], after[1]))
                for p in params
            ):
                continue
            quantized = [d.inputs[0] for d in dqs]  # type: ignore[union-attr]
            joined = ir.node(
                "Concat", quantized, dict(concat.attributes), name=f"{concat.name}_integer"
            )
            joined.outputs[0].name = f"{q.outputs[0].name}_concat"
            joined.outputs[0].type = q.outputs[0].type
            joined.outputs[0].shape = q.outputs[0].shape
            graph.insert_before(q, joined)
            ir.convenience.replace_all_uses_with(q.outputs[0], joined.outputs[0])
            graph.remove([q, concat], safe=True)
            for dq in dqs:
                if dq is not None and dq.graph is graph and not list(dq.outputs[0].uses()):
                    graph.remove(dq, safe=True)
            self.count("integer concat")
            changed = True
        return changed
