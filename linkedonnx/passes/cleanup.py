"""CleanupPass: the generic clean-ups every optimized model gets (no torch here).

Constant folding (onnxscript.optimizer, without inlining functions), identity
elimination, unused nodes/initializers/functions/opsets removed, duplicate
initializers merged (any size: conv weights included) and the nodes that then compute
the same thing merged (common subexpressions), topological sort.
"""

from __future__ import annotations

import logging

import onnx_ir as ir
import onnxscript.optimizer
from onnx_ir.passes.common import (
    CommonSubexpressionEliminationPass,
    DeduplicateInitializersPass,
    IdentityEliminationPass,
    LiftConstantsToInitializersPass,
    RemoveUnusedFunctionsPass,
    RemoveUnusedNodesPass,
    RemoveUnusedOpsetsPass,
    TopologicalSortPass,
)

from linkedonnx.passes.base import CountingPass

#: Initializers up to this many elements are compared for deduplication (weights too).
DEDUP_SIZE_LIMIT = 1 << 28


class CleanupPass(CountingPass):
    """Fold constants and remove what is dead or duplicated. Counts ``nodes removed``,
    ``initializers removed`` and ``functions removed``."""

    name = "Cleanup"

    def run(self, model: ir.Model) -> bool:
        nodes = model.graph.num_nodes()
        inits = len(model.graph.initializers)
        functions = len(model.functions)
        onnxscript.optimizer.optimize_ir(model, onnx_shape_inference=False, inline=False)
        # initializers that are graph inputs are skipped on purpose: no warning per weight
        dedup_log = logging.getLogger("onnx_ir.passes.common.initializer_deduplication")
        level = dedup_log.level
        dedup_log.setLevel(logging.ERROR)
        try:
            for p in (
                LiftConstantsToInitializersPass(lift_all_constants=True, size_limit=0),
                IdentityEliminationPass(),
                RemoveUnusedNodesPass(),
                DeduplicateInitializersPass(size_limit=DEDUP_SIZE_LIMIT),
                CommonSubexpressionEliminationPass(),
                RemoveUnusedNodesPass(),
                RemoveUnusedFunctionsPass(),
                RemoveUnusedOpsetsPass(),
                TopologicalSortPass(),
            ):
                p(model)
        finally:
            dedup_log.setLevel(level)
        for node in ir.traversal.RecursiveGraphIterator(model.graph):
            for value in node.outputs:
                if value.type is None and value.shape is not None:
                    value.shape = None  # a shape without a type is invalid value_info
        removed = {
            "nodes removed": nodes - model.graph.num_nodes(),
            "initializers removed": inits - len(model.graph.initializers),
            "functions removed": functions - len(model.functions),
        }
        for key, n in removed.items():
            if n:
                self.count(key, n)
        return any(removed.values())
