"""CleanupPass: the generic clean-ups every optimized model gets (no torch here).

Constant folding and onnxscript's default rewrite rules (its ``optimize_ir`` without
inlining functions), identity elimination, unused nodes/initializers/functions/opsets
removed, duplicate initializers merged (any size: conv weights included) and the nodes
that then compute the same thing merged (common subexpressions), topological sort.

Two guards keep the library's rules from changing what the model computes:

- initializers that are also graph inputs are hidden from onnxscript while it runs
  (:func:`~linkedonnx.passes.graph_utils.overridable_initializers_hidden`): its rules
  read any initializer's stored value as a constant (``x * w`` with a stored w of 1
  became Identity, and a caller's w was then ignored);
- its no-op rules (``x * 1``, ``x + 0``, ``x - 0``, ``x / 1`` -> Identity) are replaced
  by exact ones (:mod:`linkedonnx.passes.exact_no_op`): theirs match constants within a
  relative tolerance of 1e-5, so ``x * 1.000001`` became ``x``.
"""

from __future__ import annotations

import logging

import onnx_ir as ir
import onnxscript.optimizer
import onnxscript.rewriter
from onnx_ir.passes.common import (
    CommonSubexpressionEliminationPass,
    DeduplicateInitializersPass,
    IdentityEliminationPass,
    LiftConstantsToInitializersPass,
    NameFixPass,
    OutputFixPass,
    RemoveUnusedFunctionsPass,
    RemoveUnusedNodesPass,
    RemoveUnusedOpsetsPass,
    TopologicalSortPass,
)
from onnxscript.rewriter.rules.common import dropout_inference_rule, dropout_zero_rule
from onnxscript.rewriter.rules.common._no_op import rules as _no_op_rules

from linkedonnx.passes.base import CountingPass
from linkedonnx.passes.exact_no_op import exact_no_op_rules
from linkedonnx.passes.graph_utils import overridable_initializers_hidden

#: Initializers up to this many elements are compared for deduplication (weights too).
DEDUP_SIZE_LIMIT = 1 << 28

#: onnxscript's no-op rules whose constants match within a tolerance (see the module doc);
#: its two Dropout no-op rules are exact and stay.
TOLERANT_NO_OP_RULES = tuple(
    r for r in _no_op_rules.rules if r not in (dropout_zero_rule, dropout_inference_rule)
)

#: The rewrite rules the clean-up runs: onnxscript's defaults with the tolerant no-op
#: rules replaced by exact ones.
EXACT_REWRITE_RULES = (
    *exact_no_op_rules.rules,
    *(r for r in onnxscript.rewriter._DEFAULT_REWRITE_RULES if r not in TOLERANT_NO_OP_RULES),
)

#: Rounds of folding and rewriting (onnxscript's ``optimize_ir`` default).
LIBRARY_ROUNDS = 2


def library_cleanup(model: ir.Model) -> None:
    """onnxscript's ``optimize_ir`` (no inlining, no ONNX shape inference) with
    :data:`EXACT_REWRITE_RULES`, in place: rounds of constant folding and rewriting
    until nothing changes, then its closing passes (names and outputs fixed)."""
    for _ in range(LIBRARY_ROUNDS):
        folded = onnxscript.optimizer.fold_constants(model, onnx_shape_inference=False)
        rewritten = onnxscript.rewriter.RewritePass(EXACT_REWRITE_RULES)(model)
        for p in (RemoveUnusedNodesPass(), RemoveUnusedFunctionsPass(), RemoveUnusedOpsetsPass()):
            p(model)
        if not (folded.modified or rewritten.modified):
            break
    for p in (RemoveUnusedNodesPass(), OutputFixPass(), NameFixPass()):
        p(model)


class CleanupPass(CountingPass):
    """Fold constants and remove what is dead or duplicated. Counts ``nodes removed``,
    ``initializers removed``, ``initializers added`` (Constant nodes and folded values
    lifted into initializers) and ``functions removed``; never a negative count."""

    name = "Cleanup"

    def run(self, model: ir.Model) -> bool:
        nodes = model.graph.num_nodes()
        inits = set(model.graph.initializers)
        functions = len(model.functions)
        with overridable_initializers_hidden(model.graph):
            library_cleanup(model)
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
            "initializers removed": len(inits - set(model.graph.initializers)),
            "initializers added": len(set(model.graph.initializers) - inits),
            "functions removed": functions - len(model.functions),
        }
        for key, n in removed.items():
            if n:
                self.count(key, n)
        return any(removed.values())
