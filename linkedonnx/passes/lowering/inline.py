"""The ``inline`` form (no torch here): the node is left for
:class:`linkedonnx.passes.lower_inline.InlineLinkedPass`, which replaces it by the
function body (Relu, Neg, Relu, Concat...) at the end of the pipeline."""

from __future__ import annotations

import onnx_ir as ir

from linkedonnx.passes.ir_helpers import Namer
from linkedonnx.passes.lowering.build import record_z
from linkedonnx.passes.lowering.result import FormResult
from linkedonnx.passes.lowering.site import LinkedSite


def apply_inline(graph: ir.Graph, namer: Namer, site: LinkedSite) -> FormResult:
    """Leave the node for the final inlining pass (always applies); z stays as it is."""
    record_z(site)
    return FormResult("inline")
