"""Elementwise activations written as trees of standard ONNX ops over one input ``x``
(no torch here): how a linked half is spelled in a flat graph, and how the lowering
forms write it back. One tree says both, so what recognition accepts is what the
function body and the lowering compute, op for op.

A tree is an :class:`Op` whose inputs are :data:`X` (the half's input), float constants
(scalars in the input's dtype) or other :class:`Op` trees. :func:`match` checks a graph
node against a tree through a :class:`GraphView`, so the onnx_ir passes and the
ModelProto readers (quantization) share it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import onnx

#: The input of a spelled activation.
X = "x"

#: Operators whose two inputs may come in either order (IEEE: bit-exact either way).
COMMUTATIVE = frozenset({"Add", "Mul"})


@dataclass(frozen=True)
class Op:
    """``op_type(*inputs)`` with ``attributes`` ((name, value) pairs; a node that leaves
    one out matches when the value is the operator's schema default)."""

    op_type: str
    inputs: tuple[Op | str | float, ...]
    attributes: tuple[tuple[str, Any], ...] = ()


Expr = Op | str | float


def op_types(expr: Expr) -> frozenset[str]:
    """The op types a tree uses."""
    if not isinstance(expr, Op):
        return frozenset()
    return frozenset({expr.op_type}).union(*(op_types(i) for i in expr.inputs))


def render(expr: Expr) -> str:
    """The tree in words: ``Selu(x, alpha=1.6732632, gamma=1.050701)``."""
    if not isinstance(expr, Op):
        return str(expr)
    parts = [render(i) for i in expr.inputs]
    parts += [f"{k}={v:.8g}" if isinstance(v, float) else f"{k}={v!r}" for k, v in expr.attributes]
    return f"{expr.op_type}({', '.join(parts)})"


def postorder(expr: Op) -> Iterator[Op]:
    """The tree's ops, inputs before the op reading them (left to right)."""
    for child in expr.inputs:
        if isinstance(child, Op):
            yield from postorder(child)
    yield expr


class GraphView(Protocol):
    """What :func:`match` reads of a graph (onnx_ir or ModelProto)."""

    def producer(self, value: Any) -> Any | None:
        """The standard-domain node computing ``value`` (one output), or None."""

    def op_type(self, node: Any) -> str:
        """The node's op type."""

    def inputs(self, node: Any) -> list[Any]:
        """The node's inputs (None for a missing optional one)."""

    def attribute(self, node: Any, name: str) -> Any | None:
        """The node's attribute value (a Python value), or None when absent."""

    def constant(self, value: Any) -> np.ndarray | None:
        """The constant ``value`` holds (never an overridable graph input), or None."""


def schema_default(op_type: str, name: str) -> Any | None:
    """The default value of attribute ``name`` of the standard operator ``op_type``."""
    try:
        attr = onnx.defs.get_schema(op_type).attributes[name]
    except (onnx.defs.SchemaError, KeyError):
        return None
    if not attr.default_value.name:
        return None
    return onnx.helper.get_attribute_value(attr.default_value)


def _same_attribute(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bytes):
        actual = actual.decode()
    if isinstance(expected, float):
        return isinstance(actual, float | int) and np.float32(actual) == np.float32(expected)
    return bool(actual == expected)


def _is_scalar(view: GraphView, value: Any, number: float) -> bool:
    arr = view.constant(value)
    return (
        arr is not None
        and arr.size == 1
        and np.issubdtype(arr.dtype, np.floating)
        and arr.ndim <= 1
        and bool(arr.reshape(()) == arr.dtype.type(number))
    )


def match(expr: Op, value: Any, view: GraphView) -> Any | None:
    """The value ``x`` such that ``value`` is computed as the tree ``expr`` of ``x`` (the
    same ``x`` wherever the tree reads it), or None when it is not."""
    bound: dict[str, Any] = {}
    return bound.get(X) if _match(expr, value, view, bound) else None


def _match(expr: Expr, value: Any, view: GraphView, bound: dict[str, Any]) -> bool:
    if value is None:
        return False
    if isinstance(expr, str):
        if expr in bound:
            return bool(bound[expr] == value)  # names (ModelProto) or the same ir.Value
        bound[expr] = value
        return True
    if isinstance(expr, float | int):
        return _is_scalar(view, value, float(expr))
    node = view.producer(value)
    if node is None or view.op_type(node) != expr.op_type:
        return False
    for name, expected in expr.attributes:
        actual = view.attribute(node, name)
        if actual is None:
            actual = schema_default(expr.op_type, name)
        if actual is None or not _same_attribute(actual, expected):
            return False
    inputs = view.inputs(node)
    if len(inputs) != len(expr.inputs):
        return False
    orders = [inputs]
    if expr.op_type in COMMUTATIVE and len(inputs) == 2:
        orders.append(inputs[::-1])
    for order in orders:
        trial = dict(bound)
        if all(_match(e, v, view, trial) for e, v in zip(expr.inputs, order, strict=True)):
            bound.update(trial)
            return True
    return False


def proto_constants(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Tensor name -> value of ``graph``'s initializers and Constant (``value``) nodes."""
    consts = {init.name: onnx.numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            consts[node.output[0]] = onnx.numpy_helper.to_array(node.attribute[0].t)
    return consts


class ProtoView:
    """How :func:`match` reads a ModelProto's main graph (values are tensor names)."""

    def __init__(self, graph: onnx.GraphProto) -> None:
        self.producers = {
            node.output[0]: node
            for node in graph.node
            if node.domain in ("", "ai.onnx") and len(node.output) == 1
        }
        inputs = {i.name for i in graph.input}
        self.constants = {k: v for k, v in proto_constants(graph).items() if k not in inputs}

    def producer(self, value: str) -> onnx.NodeProto | None:
        return self.producers.get(value)

    def op_type(self, node: onnx.NodeProto) -> str:
        return node.op_type

    def inputs(self, node: onnx.NodeProto) -> list[str | None]:
        return [name or None for name in node.input]

    def attribute(self, node: onnx.NodeProto, name: str) -> Any | None:
        attr = next((a for a in node.attribute if a.name == name), None)
        return onnx.helper.get_attribute_value(attr) if attr is not None else None

    def constant(self, value: str) -> np.ndarray | None:
        return self.constants.get(value)


def label(expr: Op, name: str) -> str:
    """A short label of an activation tree: its op type when it is one op over ``x`` (and
    free inputs), else ``name`` capitalized ('Swish')."""
    if all(not isinstance(i, Op | float | int) for i in expr.inputs):
        return expr.op_type
    return name[:1].upper() + name[1:]
