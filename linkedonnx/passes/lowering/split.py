"""The ``split`` form (no torch here): no Concat. For the piecewise-linear kinds (relu,
relu-minmax, prelu) the halves are per-channel combinations of ``r+ = relu(Z)`` and
``r- = relu(-Z) = r+ - Z``, so every consumer (Conv, Gemm, MatMul, or a Flatten feeding
a Gemm/MatMul: all linear in ``Y``) becomes ``W·Y = (P+Q)·r+ - Q·Z``: two convs, one
Relu, no negation op (ORT fuses the Add into the second conv)."""

from __future__ import annotations

import onnx_ir as ir

from linkedonnx.passes.ir_helpers import Namer
from linkedonnx.passes.lowering.build import record_z, relu_of, rewrite_linear_use
from linkedonnx.passes.lowering.result import FormResult, NotApplicable
from linkedonnx.passes.lowering.site import LinkedSite, linear_plan


def apply_split(graph: ir.Graph, namer: Namer, site: LinkedSite) -> FormResult:
    """Rewrite the site's consumers as (P+Q)·relu(Z) - Q·Z (no Concat, no Neg); the
    result says why not when the consumers are not all linear or the kind is not
    piecewise linear (graph untouched then)."""
    result = FormResult("split")
    try:
        uses, plans = linear_plan(site)
    except NotApplicable as exc:
        return result.fail(str(exc))
    relu = relu_of(namer, site, site.z)
    graph.insert_before(site.node, relu)
    for use, (p, q) in zip(uses, plans, strict=True):
        rewrite_linear_use(graph, namer, use, relu.outputs[0], site.z, p + q, -q)
    graph.remove(site.node, safe=True)
    record_z(site)
    return result
