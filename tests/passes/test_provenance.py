"""Provenance for per-layer parity: every node a pass creates in place of a node keeps
that node's module path (``pkg.torch.onnx.name_scopes``), and a lowered linked node's
input z is located by ``linkedonnx.z`` on the node whose output[0] holds it."""

from __future__ import annotations

import json

import onnx
import onnx_ir as ir
import pytest

from linkedonnx.passes.fuse_branches import FuseWeightSharedBranchesPass
from linkedonnx.passes.ir_helpers import SCOPE_KEY, Z_KEY
from linkedonnx.passes.optimize import optimize
from tests.passes.graphs import two_branch_model
from tests.passes.lowering_graphs import conv_linked_conv


def _scoped(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with a distinct module path on every node, as torch.onnx writes them."""
    for node in model.graph.node:
        node.metadata_props.add(key=SCOPE_KEY, value=f"['', 'layer.{node.name}']")
    return model


def _meta(node: onnx.NodeProto) -> dict[str, str]:
    return {p.key: p.value for p in node.metadata_props}


@pytest.mark.parametrize("bn", [False, True], ids=["conv", "conv-bn"])
@pytest.mark.parametrize("form", ["split", "dw", "stacked", "inline"])
def test_lowered_nodes_keep_module_paths_and_z_is_located(form: str, bn: bool) -> None:
    model = _scoped(conv_linked_conv("relu", bn=bn))
    linked = next(n for n in model.graph.node if n.domain == "linkedonnx")
    scope = _meta(linked)[SCOPE_KEY]
    out, report = optimize(model, form=form)
    lowering = next(s.counts for s in report.steps if s.name.startswith("LowerFor"))
    assert lowering == {f"relu:{form}": 1}, lowering
    scopes = {n.name: _meta(n).get(SCOPE_KEY) for n in out.graph.node}
    assert None not in scopes.values(), scopes
    assert set(scopes.values()) <= {_meta(n)[SCOPE_KEY] for n in model.graph.node}
    assert scope in scopes.values()  # the nodes standing in for the linked node
    located = [(n, json.loads(_meta(n)[Z_KEY])) for n in out.graph.node if Z_KEY in _meta(n)]
    assert len(located) == 1, located
    node, where = located[0]
    assert node.op_type == "Conv" and where["scope"] == scope
    assert where["channels"] == ([0, 4] if form == "stacked" else None)
    first_conv = next(n for n in model.graph.node if n.op_type == "Conv")
    assert _meta(node)[SCOPE_KEY] == _meta(first_conv)[SCOPE_KEY]
    z = node.output[0]
    if form != "stacked":  # z is still a value every lowered form reads
        assert any(z in n.input for n in out.graph.node)


def test_float16_output_casts_keep_the_producers_module_path() -> None:
    model = _scoped(conv_linked_conv("relu"))
    out, _ = optimize(model, form="split", fp16=True)
    last = out.graph.node[-1]
    assert last.op_type == "Cast" and out.graph.output[0].name == last.output[0]
    producer = next(n for n in out.graph.node if last.input[0] in n.output)
    assert _meta(last)[SCOPE_KEY] == _meta(producer)[SCOPE_KEY]


def test_a_fused_branch_keeps_its_module_path() -> None:
    model = _scoped(two_branch_model("Conv", "negated"))
    second = [n for n in model.graph.node if n.op_type == "Conv"][1]
    ir_model = ir.from_proto(model)
    assert FuseWeightSharedBranchesPass()(ir_model).modified
    neg = next(
        n for n in ir_model.graph if n.op_type == "Neg" and n.outputs[0].name.endswith("_fused_neg")
    )
    assert neg.metadata_props[SCOPE_KEY] == _meta(second)[SCOPE_KEY]
