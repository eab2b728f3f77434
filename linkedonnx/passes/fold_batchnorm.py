"""FoldBatchNormPass: fold an inference-mode BatchNormalization into the Conv before it
(no torch here).

Applies when the BN reads the output of a Conv with constant weight (and bias), that
output has no other consumer and is not a graph output, and the BN's scale, bias, mean
and variance are constants. ``W' = W * s`` per output channel and ``b' = (b - mean) * s
+ beta`` with ``s = scale / sqrt(var + epsilon)``, computed in float64 then cast back.
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from linkedonnx.passes.base import CountingPass
from linkedonnx.passes.graph_utils import const_array, overridable_reason
from linkedonnx.passes.ir_helpers import Namer, initializer


class FoldBatchNormPass(CountingPass):
    """Fold Conv -> BatchNormalization pairs; counts ``folded`` and ``skipped: <reason>``."""

    name = "FoldBatchNorm"

    def run(self, model: ir.Model) -> bool:
        graph = model.graph
        namer = Namer(graph)
        changed = False
        for bn in [n for n in graph if n.op_type == "BatchNormalization" and n.domain == ""]:
            reason = self._fold(graph, namer, bn)
            if reason is None:
                self.count("folded")
                changed = True
            else:
                self.count(f"skipped: {reason}")
        return changed

    def _fold(self, graph: ir.Graph, namer: Namer, bn: ir.Node) -> str | None:
        if len([o for o in bn.outputs if o.uses() or o.is_graph_output()]) > 1:
            return "training-mode outputs are used"
        training = bn.attributes.get("training_mode")
        if training is not None and training.as_int():
            return "training mode"
        x = bn.inputs[0]
        conv = x.producer() if x is not None else None
        if conv is None or conv.op_type != "Conv" or conv.domain != "":
            return "not after a Conv"
        if len(x.uses()) != 1 or x.is_graph_output():
            return "the Conv output has other consumers"
        named = [("Conv", conv, conv.inputs[1:3]), ("BatchNormalization", bn, bn.inputs[1:5])]
        for op, node, values in named:
            for value in values:
                reason = overridable_reason(value, f"{op} {node.name!r} input")
                if reason is not None:
                    return f"BatchNormalization {bn.name!r} left as is: {reason}"
        w = const_array(conv.inputs[1])
        params = [const_array(v) for v in bn.inputs[1:5]]
        if w is None or any(p is None for p in params):
            return "weights or statistics are not constant"
        cout = w.shape[0]
        bias_in = conv.inputs[2] if len(conv.inputs) > 2 else None
        b = np.zeros(cout, np.float64) if bias_in is None else const_array(bias_in)
        if b is None:
            return "the Conv bias is not constant"
        scale, beta, mean, var = (np.asarray(p, np.float64).reshape(-1) for p in params)
        if any(p.size != cout for p in (scale, beta, mean, var)):
            return "statistics do not have one value per output channel"
        eps_attr = bn.attributes.get("epsilon")
        eps = 1e-5 if eps_attr is None else float(eps_attr.as_float())
        s = scale / np.sqrt(var + eps)
        new_w = (w.astype(np.float64) * s.reshape((cout,) + (1,) * (w.ndim - 1))).astype(w.dtype)
        new_b = ((np.asarray(b, np.float64).reshape(-1) - mean) * s + beta).astype(w.dtype)
        base = conv.name or "conv"
        wv = initializer(graph, namer, new_w, f"{base}_w_bnfold")
        bv = initializer(graph, namer, new_b, f"{base}_b_bnfold")
        conv.replace_input_with(1, wv)
        if len(conv.inputs) < 3:
            conv.resize_inputs(3)
        conv.replace_input_with(2, bv)
        y = bn.outputs[0]
        name = y.name
        x.type = x.type or y.type
        x.shape = x.shape or y.shape
        y.replace_all_uses_with(x, replace_graph_outputs=True)
        graph.remove(bn, safe=True)
        if x.is_graph_output():
            x.name = name
        return None
