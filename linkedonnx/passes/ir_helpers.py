"""IR helpers the rewriting passes share (lowering, batch-norm folding, float16, fusion):
unique names, new initializers and nodes, attribute reads, and the provenance a new node
inherits from the node it stands in for (no torch here)."""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

#: Node metadata key torch.onnx writes with the module path of each node; every node a
#: pass creates in place of a node carries the replaced node's value (per-layer parity).
SCOPE_KEY = "pkg.torch.onnx.name_scopes"


#: Node metadata key on the node whose output[0] holds a lowered linked node's input z:
#: JSON ``{"scope": <the linked node's SCOPE_KEY value or null>, "channels": [start, stop]
#: on axis 1 when z is a slice of that output, else null}``.
Z_KEY = "linkedonnx.z"


def copy_provenance(source: ir.Node | None, node: ir.Node) -> ir.Node:
    """Give ``node`` the module path (``SCOPE_KEY`` metadata) of ``source``, the node it
    stands in for, when ``source`` has one; return ``node``."""
    if source is not None and SCOPE_KEY in source.metadata_props:
        node.metadata_props[SCOPE_KEY] = source.metadata_props[SCOPE_KEY]
    return node


def attr_int(node: ir.Node, name: str, default: int) -> int:
    """Return integer attribute ``name`` of ``node``, or ``default`` when absent."""
    attr = node.attributes.get(name)
    return default if attr is None else int(attr.as_int())


def attr_float(node: ir.Node, name: str, default: float) -> float:
    """Return float attribute ``name`` of ``node``, or ``default`` when absent."""
    attr = node.attributes.get(name)
    return default if attr is None else float(attr.as_float())


class Namer:
    """Unique value names for new initializers and values in one graph."""

    def __init__(self, graph: ir.Graph) -> None:
        self.used: set[str] = {v.name for v in graph.initializers.values() if v.name}
        self.used |= {v.name for v in graph.inputs if v.name}
        for node in graph:
            self.used |= {v.name for v in node.outputs if v.name}

    def __call__(self, base: str) -> str:
        """Return ``base`` or ``base_N``, never a name already used."""
        name, i = base, 0
        while name in self.used:
            i += 1
            name = f"{base}_{i}"
        self.used.add(name)
        return name


def initializer(graph: ir.Graph, namer: Namer, array: np.ndarray, base: str) -> ir.Value:
    """Register ``array`` as a new initializer of ``graph`` named from ``base``; return it."""
    value = ir.Value(name=namer(base), const_value=ir.tensor(np.ascontiguousarray(array)))
    value.type = ir.TensorType(ir.DataType.from_numpy(array.dtype))
    value.shape = ir.Shape(array.shape)
    graph.register_initializer(value)
    return value


def new_node(
    namer: Namer,
    op_type: str,
    inputs: list[ir.Value | None],
    attributes: dict | None = None,
    base: str = "lk",
    *,
    name: str | None = None,
    output: str | None = None,
    source: ir.Node | None,
) -> ir.Node:
    """A new (not yet inserted) node ``op_type`` with one output, standing in for (part of)
    ``source`` whose module path it copies (:func:`copy_provenance`); the node is named
    ``name`` or ``<base>_<op_type>`` and its output ``output`` or ``<base>_<op_type lower>``
    (made unique)."""
    node = ir.node(op_type, inputs, attributes or {}, name=namer(name or f"{base}_{op_type}"))
    node.outputs[0].name = namer(output or f"{base}_{op_type.lower()}")
    return copy_provenance(source, node)
