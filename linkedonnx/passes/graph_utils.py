"""Small helpers the recognition rules and the branch-fusion pass share: constant
values of onnx_ir values, exact zero tests, broadcasting checks (no torch here)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import onnx_ir as ir


def const_array(value: ir.Value | None) -> np.ndarray | None:
    """Return the constant held by ``value`` as a numpy array, or None.

    A value is constant when it is an initializer that is not also a graph input (a
    graph input may be overridden at run time) or the output of a Constant node.
    """
    if value is None:
        return None
    if value.is_graph_input():
        return None
    tensor = ir.convenience.get_const_tensor(value)
    if tensor is None:
        return None
    try:
        return tensor.numpy()
    except Exception:  # external data that cannot be read, unsupported dtype
        return None


def is_overridable(value: ir.Value | None) -> bool:
    """True when ``value`` is an initializer that is also a graph input (older exporters
    write weights so): it holds a value, but a caller may feed another at run time, so
    :func:`const_array` does not treat it as constant. The passes start from what
    :func:`linkedonnx.onnx_read.read_model` returns, whose IR < 4 initializers are
    already out of the inputs, so this agrees with
    :func:`linkedonnx.onnx_io.overridable_initializers` on the file."""
    return value is not None and value.is_graph_input() and value.const_value is not None


@contextmanager
def overridable_initializers_hidden(graph: ir.Graph) -> Iterator[list[ir.Value]]:
    """While open, ``graph``'s overridable initializers (:func:`is_overridable`) are
    plain graph inputs with no stored value, so a library pass that reads every
    initializer as a constant (onnxscript's rewriter reads ``const_value`` and does not
    tell graph inputs apart) cannot fold them in; yields them. On exit each gets its
    value back and is an initializer again."""
    hidden = [(value, value.const_value) for value in graph.inputs if is_overridable(value)]
    for value, _ in hidden:
        graph.initializers.pop(value.name)
        value.const_value = None
    try:
        yield [value for value, _ in hidden]
    finally:
        for value, tensor in hidden:
            value.const_value = tensor
            graph.register_initializer(value)


def overridable_reason(value: ir.Value | None, what: str) -> str | None:
    """A one-line reason naming ``value`` when it is an overridable initializer (see
    :func:`is_overridable`), for the pass reports; None otherwise."""
    if not is_overridable(value):
        return None
    assert value is not None
    return f"{what} {value.name!r} is a graph input (may be overridden at run time)"


def static_shape(value: ir.Value | None) -> tuple[int, ...] | None:
    """Return ``value``'s shape as a tuple of ints when every dim is known, else None."""
    if value is None or value.shape is None:
        return None
    dims = []
    for d in value.shape:
        if not isinstance(d, int):
            return None
        dims.append(d)
    return tuple(dims)


def known_rank(value: ir.Value | None) -> int | None:
    """Return ``value``'s rank when known, else None."""
    if value is None or value.shape is None:
        return None
    return len(value.shape)


def broadcasts_into(small: Sequence[int], like: ir.Value) -> bool:
    """True when a tensor of shape ``small`` broadcast against ``like`` leaves ``like``'s
    shape unchanged (numpy rules): rank no larger, each dim 1 or equal to ``like``'s.

    A shape with a single element of rank 0 always qualifies; otherwise ``like``'s
    rank (and, for dims other than 1, its dims) must be known.
    """
    small = tuple(small)
    if len(small) == 0:
        return True
    if like.shape is None:
        return False
    big = list(like.shape)
    if len(small) > len(big):
        return False
    for s, b in zip(reversed(small), reversed(big), strict=False):
        if s == 1:
            continue
        if not isinstance(b, int) or s != b:
            return False
    return True


def _is_zero_array(arr: np.ndarray | None) -> bool:
    return (
        arr is not None
        and arr.size > 0
        and np.issubdtype(arr.dtype, np.floating)
        and bool(np.all(arr == 0))
    )


def _same_shape_source(value: ir.Value | None, like: ir.Value) -> bool:
    """True when ``value`` has ``like``'s shape by construction: ``like`` itself, or a Neg
    of it, or what ``like`` is the Neg of."""
    if value is None:
        return False
    if value is like:
        return True
    producer = value.producer()
    if producer is not None and producer.op_type == "Neg" and producer.inputs[0] is like:
        return True
    producer = like.producer()
    return producer is not None and producer.op_type == "Neg" and producer.inputs[0] is value


def _is_full_shape_of(value: ir.Value | None, like: ir.Value) -> bool:
    """True when ``value`` is ``Shape(v)`` (whole shape) of a value with ``like``'s shape."""
    producer = value.producer() if value is not None else None
    if producer is None or producer.op_type != "Shape" or producer.domain not in ("", "ai.onnx"):
        return False
    if attr_value(producer, "start", 0) != 0 or attr_value(producer, "end") is not None:
        return False
    return _same_shape_source(producer.inputs[0], like)


def is_zero_like(value: ir.Value | None, like: ir.Value) -> bool:
    """True when ``value`` is exactly zero everywhere and broadcasting it against ``like``
    leaves ``like``'s shape unchanged: a zero constant (scalar or tensor), or a zero
    tensor built at run time for a dynamic shape, ``Expand(0, Shape(like))`` or
    ``ConstantOfShape(Shape(like))`` with a zero value (torch's ``zeros_like``), or a
    zero constant through Cast/CastLike (LinkedReluMinMax's inlined body)."""
    if value is None:
        return False
    arr = const_array(value)
    if arr is not None:
        return _is_zero_array(arr) and broadcasts_into(arr.shape, like)
    producer = value.producer()
    if producer is None or producer.domain not in ("", "ai.onnx"):
        return False
    if producer.op_type == "Expand":
        base = const_array(producer.inputs[0])
        return (
            _is_zero_array(base)
            and broadcasts_into(base.shape, like)
            and _is_full_shape_of(producer.inputs[1], like)
        )
    if producer.op_type in ("Cast", "CastLike"):  # a zero constant cast (function bodies)
        base = const_array(producer.inputs[0])
        return base is not None and _is_zero_array(base) and broadcasts_into(base.shape, like)
    if producer.op_type == "ConstantOfShape":
        attr = producer.attributes.get("value")
        fill = (
            attr.value.numpy()
            if attr is not None and not attr.is_ref()
            else np.zeros(1, np.float32)
        )
        return _is_zero_array(fill) and _is_full_shape_of(producer.inputs[0], like)
    return False


def arrays_equal(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    """Exact equality of two constant arrays: same dtype, shape and values (NaN never equal)."""
    if a is None or b is None:
        return False
    return a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(a, b))


def arrays_negated(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    """True when ``b`` is exactly ``-a`` (same dtype and shape, floating point)."""
    if a is None or b is None or not np.issubdtype(a.dtype, np.floating):
        return False
    return a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(b, -a))


def attr_value(node: ir.Node, name: str, default: object = None) -> object:
    """Return the Python value of attribute ``name`` of ``node``, or ``default``."""
    attr = node.attributes.get(name)
    if attr is None:
        return default
    if attr.is_ref():
        return default
    return attr.value
