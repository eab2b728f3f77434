"""count_linked_nodes: the one count of linkedonnx nodes (exporter, convert, tests)."""

from __future__ import annotations

from linkedonnx.functions import count_linked_nodes
from tests.passes.graphs import GraphBuilder


def test_counts_main_graph_linked_nodes_per_op_type() -> None:
    b = GraphBuilder(0)
    x = b.input((1, 2, 3, 3), "x")
    y = b.linked("relu", b.linked("relu", x))
    model = b.model([b.linked("selu", b.unary("Relu", y))])
    assert count_linked_nodes(model) == {"LinkedRelu": 2, "LinkedSelu": 1}
    plain = GraphBuilder(0)
    model = plain.model([plain.unary("Relu", plain.input((1, 2), "x"))])
    assert count_linked_nodes(model) == {}
