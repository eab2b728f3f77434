"""The lowering forms' result API: each form returns a FormResult that is true when it
rewrote the node and carries the reason (graph untouched) when it does not apply."""

from __future__ import annotations

import onnx_ir as ir
import pytest

from linkedonnx.passes.ir_helpers import Namer
from linkedonnx.passes.lowering import APPLY, FORMS, is_linked, site_of
from tests.passes.lowering_graphs import allcnn_like, pooled_like


def _first_site(model):
    graph = ir.from_proto(model).graph
    node = next(n for n in graph if is_linked(n))
    return graph, site_of(node)


@pytest.mark.parametrize("form", FORMS)
def test_each_form_reports_applied(form: str) -> None:
    graph, site = _first_site(allcnn_like("relu"))
    result = APPLY[form](graph, Namer(graph), site)
    assert result and result.applied and result.reason is None and result.form == form


@pytest.mark.parametrize("form", ["split", "stacked"])
def test_a_form_that_does_not_apply_says_why_and_leaves_the_graph(form: str) -> None:
    graph, site = _first_site(pooled_like("relu-minmax"))
    before = [(n.op_type, n.name) for n in graph]
    inits = set(graph.initializers)
    result = APPLY[form](graph, Namer(graph), site)
    assert not result and not result.applied
    assert result.reason and "graph output" in result.reason
    assert [(n.op_type, n.name) for n in graph] == before
    assert set(graph.initializers) == inits
