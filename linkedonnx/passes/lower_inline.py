"""InlineLinkedPass: replace every remaining linkedonnx function call by its body and drop
the linkedonnx functions and opset import, so a plain ONNX Runtime session (any EP) can
load the model without custom ops."""

from __future__ import annotations

import onnx_ir as ir
from onnx_ir.passes.common import InlinePass, RemoveUnusedFunctionsPass

from linkedonnx import DOMAIN
from linkedonnx.passes.base import CountingPass


class InlineLinkedPass(CountingPass):
    """Inline linkedonnx-domain function calls (all graphs); count ``inlined`` calls."""

    name = "InlineLinked"

    def run(self, model: ir.Model) -> bool:
        calls = sum(
            1 for n in ir.traversal.RecursiveGraphIterator(model.graph) if n.domain == DOMAIN
        )
        if calls:
            InlinePass(criteria=lambda f: f.domain == DOMAIN)(model)
            self.count("inlined", calls)
        RemoveUnusedFunctionsPass()(model)
        left = [n for n in ir.traversal.RecursiveGraphIterator(model.graph) if n.domain == DOMAIN]
        if left:
            raise ValueError(f"{len(left)} linkedonnx node(s) could not be inlined")
        dropped = model.opset_imports.pop(DOMAIN, None) is not None
        model.graph.opset_imports.pop(DOMAIN, None)
        return bool(calls) or dropped
