"""Hand-built ONNX graphs for the pass tests (shared by convert and optimize tests).

:class:`GraphBuilder` builds small float32 graphs while tracking every tensor's
static shape, so blocks can be chained. :data:`SPELLINGS` maps a name to a function
``(builder, x, axis) -> output`` writing one flat spelling of a linked activation (or a
look-alike that must not be recognized) and to the kind it should become.

Builders of whole models:

- :func:`linked_chain` conv -> linked activation (function node or flat spelling) -> conv ...
- :func:`spelling_model` one spelling, optionally after a conv, on any axis
- :func:`two_branch_model` two Conv/Gemm/MatMul branches reading one input with
  shared / copied / negated / almost-equal weights (branch fusion)

Helpers: :func:`random_feeds`, :func:`run`, and ``count_linked`` (re-exported
:func:`linkedonnx.functions.count_linked_nodes`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from linkedonnx.functions import attach_functions, make_call
from linkedonnx.functions import count_linked_nodes as count_linked
from linkedonnx.kinds import KINDS

OPSET = 18

Shape = tuple[int, ...]


class GraphBuilder:
    """Builds a float32 ONNX graph node by node, tracking static shapes.

    Every method that adds a node returns the name of its (single) output.
    """

    def __init__(self, seed: int = 0, opset: int = OPSET) -> None:
        self.rng = np.random.default_rng(seed)
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.shapes: dict[str, Shape] = {}
        self._n = 0

    # -- names, inputs, constants ------------------------------------------------
    def fresh(self, prefix: str) -> str:
        """Return a new unique tensor/node name starting with ``prefix``."""
        self._n += 1
        return f"{prefix}_{self._n}"

    def input(self, shape: Sequence[int], name: str | None = None) -> str:
        """Add a float32 graph input of ``shape``."""
        name = name or self.fresh("x")
        self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)))
        self.shapes[name] = tuple(shape)
        return name

    def const(self, value: np.ndarray | float, name: str | None = None) -> str:
        """Add a float32 initializer holding ``value``."""
        arr = np.asarray(value, dtype=np.float32)
        name = name or self.fresh("c")
        self.inits.append(numpy_helper.from_array(arr, name))
        self.shapes[name] = tuple(arr.shape)
        return name

    def weight(self, shape: Sequence[int], scale: float = 0.5) -> np.ndarray:
        """Random float32 weights of ``shape``."""
        return (self.rng.standard_normal(shape) * scale).astype(np.float32)

    # -- nodes ----------------------------------------------------------------------
    def node(
        self,
        op: str,
        inputs: Sequence[str],
        shape: Shape,
        domain: str = "",
        **attrs: object,
    ) -> str:
        """Add node ``op`` with one output of static ``shape``."""
        out = self.fresh(op.lower())
        self.nodes.append(
            helper.make_node(op, list(inputs), [out], name=self.fresh(op), domain=domain, **attrs)
        )
        self.shapes[out] = tuple(shape)
        return out

    def unary(self, op: str, x: str, **attrs: object) -> str:
        """Elementwise unary op (Relu, Neg, Sigmoid, Selu ...)."""
        return self.node(op, [x], self.shapes[x], **attrs)

    def binary(self, op: str, a: str, b: str) -> str:
        """Elementwise binary op with numpy broadcasting (Add, Mul, Min, Max, PRelu ...)."""
        shape = np.broadcast_shapes(self.shapes[a], self.shapes[b])
        return self.node(op, [a, b], tuple(shape))

    def concat(self, parts: Sequence[str], axis: int) -> str:
        """Concat ``parts`` on ``axis``."""
        shape = list(self.shapes[parts[0]])
        ax = axis % len(shape)
        shape[ax] = sum(self.shapes[p][ax] for p in parts)
        return self.node("Concat", parts, tuple(shape), axis=axis)

    def transpose(self, x: str, perm: Sequence[int]) -> str:
        """Transpose ``x`` by ``perm``."""
        shape = tuple(self.shapes[x][p] for p in perm)
        return self.node("Transpose", [x], shape, perm=list(perm))

    def conv(
        self,
        x: str,
        cout: int,
        k: int = 1,
        bias: bool = True,
        w: str | None = None,
        b: str | None = None,
    ) -> str:
        """Conv2d 'same' (stride 1) from ``x`` (NCHW) to ``cout`` channels; random weights
        unless initializer names ``w``/``b`` are given."""
        n, cin, h, wd = self.shapes[x]
        w = w or self.const(self.weight((cout, cin, k, k)))
        inputs = [x, w]
        if bias or b is not None:
            inputs.append(b or self.const(self.weight((cout,))))
        pad = k // 2
        return self.node("Conv", inputs, (n, cout, h, wd), pads=[pad] * 4)

    def gemm(self, x: str, cout: int, w: str | None = None, b: str | None = None, **attrs) -> str:
        """Gemm from ``x`` [N, cin] to [N, cout]; weight stored [cout, cin] with transB=1
        unless ``attrs`` say otherwise."""
        n, cin = self.shapes[x]
        attrs.setdefault("transB", 1)
        wshape = (cout, cin) if attrs["transB"] else (cin, cout)
        w = w or self.const(self.weight(wshape))
        inputs = [x, w] + ([b] if b else [])
        return self.node("Gemm", inputs, (n, cout), **attrs)

    def matmul(self, x: str, cout: int, w: str | None = None) -> str:
        """MatMul of ``x`` [..., cin] by a [cin, cout] weight."""
        *lead, cin = self.shapes[x]
        w = w or self.const(self.weight((cin, cout)))
        return self.node("MatMul", [x, w], (*lead, cout))

    def linked(self, kind: str, x: str, axis: int = 1) -> str:
        """A ``linkedonnx::Linked*`` function node on ``x`` (PRelu gets random slopes)."""
        inputs = [x]
        if KINDS[kind].has_slopes:
            c = self.shapes[x][axis]
            shape = (c,) + (1,) * (len(self.shapes[x]) - 1 - (axis % len(self.shapes[x])))
            inputs += [self.const(self.weight(shape, 0.3)), self.const(self.weight(shape, 0.3))]
        out = self.fresh("linked")
        self.nodes.append(make_call(kind, inputs, out, axis, name=self.fresh("Linked")))
        shape = list(self.shapes[x])
        shape[axis] *= 2
        self.shapes[out] = tuple(shape)
        return out

    def spelling(self, name: str, x: str, axis: int = 1) -> str:
        """Write the flat spelling ``name`` (a key of SPELLINGS) of ``x`` on ``axis``."""
        return SPELLINGS[name].build(self, x, axis)

    def slope(self, x: str, axis: int) -> str:
        """A random per-channel PRelu slope broadcasting along ``axis`` of ``x``."""
        rank = len(self.shapes[x])
        ax = axis % rank
        shape = (self.shapes[x][ax],) + (1,) * (rank - 1 - ax)
        return self.const(self.weight(shape, 0.3))

    # -- model ----------------------------------------------------------------------
    def model(self, outputs: Sequence[str], check: bool = True) -> onnx.ModelProto:
        """Return the ModelProto with ``outputs`` as graph outputs (functions attached)."""
        outs = [
            helper.make_tensor_value_info(o, TensorProto.FLOAT, list(self.shapes[o]))
            for o in outputs
        ]
        graph = helper.make_graph(self.nodes, "g", self.inputs, outs, initializer=self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        model.ir_version = 10
        attach_functions(model)
        if check:
            onnx.checker.check_model(model, full_check=True)
        return model


# -- spellings --------------------------------------------------------------------


@dataclass(frozen=True)
class Spelling:
    """One flat spelling: ``build(builder, x, axis) -> output``; ``kind`` is the linked
    function it must become, or None for a look-alike that must be left alone."""

    build: Callable[[GraphBuilder, str, int], str]
    kind: str | None


def _zero_scalar(b: GraphBuilder) -> str:
    return b.const(np.float32(0.0))


def _zeros_like(b: GraphBuilder, x: str) -> str:
    return b.const(np.zeros(b.shapes[x], np.float32))


def _relu_where(b: GraphBuilder, x: str, zero: str | None = None) -> str:
    """torch's relu_right: Where(Less(x, 0), zeros, x)."""
    less = b.node("Less", [x, _zero_scalar(b)], b.shapes[x])
    return b.node("Where", [less, zero or _zeros_like(b, x), x], b.shapes[x])


def _zeros_dynamic(b: GraphBuilder, x: str, how: str = "expand", fill: float = 0.0) -> str:
    """A zero tensor of x's shape built at run time (torch's zeros_like with a dynamic
    batch): Expand(0, Shape(x)) or ConstantOfShape(Shape(x))."""
    shape = b.node("Shape", [x], (len(b.shapes[x]),))
    if how == "expand":
        return b.node("Expand", [b.const(np.float32(fill)), shape], b.shapes[x])
    value = numpy_helper.from_array(np.array([fill], np.float32), "value")
    return b.node("ConstantOfShape", [shape], b.shapes[x], value=value)


def _clip_min(b: GraphBuilder, x: str, low: float = 0.0) -> str:
    """torch's clamp(x, min=low): Clip(x, low)."""
    return b.node("Clip", [x, b.const(np.float32(low))], b.shapes[x])


def _relu_where_dynamic(
    b: GraphBuilder, x: str, how: str, fill: float = 0.0, of: str | None = None
) -> str:
    """Where(Less(x, 0), zeros_like(of or x) built at run time, x)."""
    less = b.node("Less", [x, _zero_scalar(b)], b.shapes[x])
    return b.node("Where", [less, _zeros_dynamic(b, of or x, how, fill), x], b.shapes[x])


def _prelu_where(b: GraphBuilder, x: str, slope: str, swap_mul: bool = False) -> str:
    """torch's prelu_right: Where(Less(x, 0), Mul(x, slope), x)."""
    less = b.node("Less", [x, _zero_scalar(b)], b.shapes[x])
    mul = b.binary("Mul", slope, x) if swap_mul else b.binary("Mul", x, slope)
    return b.node("Where", [less, mul, x], b.shapes[x])


def _swish(b: GraphBuilder, x: str, swap: bool = False) -> str:
    s = b.unary("Sigmoid", x)
    return b.binary("Mul", s, x) if swap else b.binary("Mul", x, s)


def _nhwc_crelu(b: GraphBuilder, x: str, axis: int, neg_first: bool = False) -> str:
    """Transpose ``axis`` last, Relu(Concat(t, -t) on the last axis), transpose back."""
    rank = len(b.shapes[x])
    ax = axis % rank
    perm = [i for i in range(rank) if i != ax] + [ax]
    inv = [perm.index(i) for i in range(rank)]
    t = b.transpose(x, perm)
    n = b.unary("Neg", t)
    c = b.concat([n, t] if neg_first else [t, n], -1)
    return b.transpose(b.unary("Relu", c), inv)


def _selu(b: GraphBuilder, x: str, **attrs: float) -> str:
    return b.unary("Selu", x, **attrs)


SPELLINGS: dict[str, Spelling] = {
    # --- mirror LK-ReLU -----------------------------------------------------------
    "relu": Spelling(
        lambda b, x, a: b.concat([b.unary("Relu", x), b.unary("Relu", b.unary("Neg", x))], a),
        "relu",
    ),
    "relu-negfirst": Spelling(
        lambda b, x, a: b.concat([b.unary("Relu", b.unary("Neg", x)), b.unary("Relu", x)], a),
        "relu",
    ),
    "relu-where": Spelling(  # torch.onnx.export(dynamo=True) of LinkedReLU
        lambda b, x, a: b.concat([_relu_where(b, x), b.unary("Relu", b.unary("Neg", x))], a),
        "relu",
    ),
    "relu-clamp": Spelling(  # torch.onnx.export(dynamo=True) of LinkedReLU: clamp(z, min=0)
        lambda b, x, a: b.concat([_clip_min(b, x), b.unary("Relu", b.unary("Neg", x))], a),
        "relu",
    ),
    "relu-where-scalar": Spelling(
        lambda b, x, a: b.concat(
            [_relu_where(b, x, _zero_scalar(b)), b.unary("Relu", b.unary("Neg", x))], a
        ),
        "relu",
    ),
    "relu-where-expand": Spelling(  # dynamic batch: zeros_like is Expand(0, Shape(x))
        lambda b, x, a: b.concat(
            [_relu_where_dynamic(b, x, "expand"), b.unary("Relu", b.unary("Neg", x))], a
        ),
        "relu",
    ),
    "relu-where-constantofshape": Spelling(
        lambda b, x, a: b.concat(
            [
                _relu_where_dynamic(b, x, "cos"),
                _relu_where_dynamic(b, b.unary("Neg", x), "cos"),
            ],
            a,
        ),
        "relu",
    ),
    "crelu": Spelling(
        lambda b, x, a: b.unary("Relu", b.concat([x, b.unary("Neg", x)], a)),
        "relu",
    ),
    "crelu-negfirst": Spelling(
        lambda b, x, a: b.unary("Relu", b.concat([b.unary("Neg", x), x], a)),
        "relu",
    ),
    "crelu-nhwc": Spelling(lambda b, x, a: _nhwc_crelu(b, x, a), "relu"),
    "crelu-nhwc-negfirst": Spelling(lambda b, x, a: _nhwc_crelu(b, x, a, True), "relu"),
    "relu-where-greater": Spelling(  # torch.where(z > 0, z, zeros_like(z))
        lambda b, x, a: b.concat(
            [
                b.node(
                    "Where",
                    [b.node("Greater", [x, _zero_scalar(b)], b.shapes[x]), x, _zero_scalar(b)],
                    b.shapes[x],
                ),
                b.unary("Relu", b.unary("Neg", x)),
            ],
            a,
        ),
        "relu",
    ),
    "lookalike-relu-minus-z": Spelling(  # relu(-z) as Relu(z) - z, relu(z) as Abs(Max(0, z))
        lambda b, x, a: b.concat(
            [
                b.unary("Abs", b.binary("Max", _zero_scalar(b), x)),
                b.binary("Sub", b.unary("Relu", x), x),
            ],
            a,
        ),
        None,  # Relu(z) - z is inf - inf = NaN at z = +inf: not relu(-z)
    ),
    # --- min-max LK-ReLU ------------------------------------------------------------
    "minmax-neg-relu-neg": Spelling(  # torch: cat([relu(z), -relu(-z)])
        lambda b, x, a: b.concat(
            [b.unary("Relu", x), b.unary("Neg", b.unary("Relu", b.unary("Neg", x)))], a
        ),
        "relu-minmax",
    ),
    "minmax-by-meaning": Spelling(  # max(z, 0) as Clip(z*1, 0); min(z, 0) as -Abs(Min(z, 0))/1
        lambda b, x, a: b.concat(
            [
                _clip_min(b, b.binary("Mul", x, b.const(np.float32(1.0)))),
                b.binary(
                    "Div",
                    b.unary("Neg", b.unary("Abs", b.binary("Min", x, _zero_scalar(b)))),
                    b.const(np.float32(1.0)),
                ),
            ],
            a,
        ),
        "relu-minmax",
    ),
    "minmax": Spelling(
        lambda b, x, a: b.concat([b.unary("Relu", x), b.binary("Min", x, _zero_scalar(b))], a),
        "relu-minmax",
    ),
    "minmax-max-full": Spelling(
        lambda b, x, a: b.concat(
            [b.binary("Max", x, _zero_scalar(b)), b.binary("Min", x, _zeros_like(b, x))], a
        ),
        "relu-minmax",
    ),
    "minmax-negfirst": Spelling(
        lambda b, x, a: b.concat([b.binary("Min", _zero_scalar(b), x), b.unary("Relu", x)], a),
        "relu-minmax",
    ),
    "minmax-clamp": Spelling(  # torch: clamp(z, min=0), clamp(z, max=0)
        lambda b, x, a: b.concat(
            [_clip_min(b, x), b.node("Clip", [x, "", _zero_scalar(b)], b.shapes[x])], a
        ),
        "relu-minmax",
    ),
    "minmax-clip": Spelling(  # torch: where(z<0,0,z), clamp(z, max=0)
        lambda b, x, a: b.concat(
            [_relu_where(b, x), b.node("Clip", [x, "", _zero_scalar(b)], b.shapes[x])], a
        ),
        "relu-minmax",
    ),
    # --- SELU -----------------------------------------------------------------------
    "selu": Spelling(
        lambda b, x, a: b.concat([_selu(b, x), _selu(b, b.unary("Neg", x))], a), "selu"
    ),
    "selu-negfirst": Spelling(
        lambda b, x, a: b.concat([_selu(b, b.unary("Neg", x)), _selu(b, x)], a), "selu"
    ),
    # --- Swish ----------------------------------------------------------------------
    "swish": Spelling(
        lambda b, x, a: b.concat([_swish(b, x), _swish(b, b.unary("Neg", x))], a), "swish"
    ),
    "swish-swapped": Spelling(
        lambda b, x, a: b.concat([_swish(b, x, True), _swish(b, b.unary("Neg", x), True)], a),
        "swish",
    ),
    "swish-negfirst": Spelling(
        lambda b, x, a: b.concat([_swish(b, b.unary("Neg", x)), _swish(b, x, True)], a), "swish"
    ),
    # --- PReLU ----------------------------------------------------------------------
    "prelu": Spelling(
        lambda b, x, a: b.concat(
            [
                b.binary("PRelu", x, b.slope(x, a)),
                b.binary("PRelu", b.unary("Neg", x), b.slope(x, a)),
            ],
            a,
        ),
        "prelu",
    ),
    "prelu-negfirst": Spelling(
        lambda b, x, a: b.concat(
            [
                b.binary("PRelu", b.unary("Neg", x), b.slope(x, a)),
                b.binary("PRelu", x, b.slope(x, a)),
            ],
            a,
        ),
        "prelu",
    ),
    "prelu-where": Spelling(  # torch.onnx.export(dynamo=True) of LinkedPReLU
        lambda b, x, a: b.concat(
            [
                _prelu_where(b, x, b.slope(x, a)),
                _prelu_where(b, b.unary("Neg", x), b.slope(x, a), swap_mul=True),
            ],
            a,
        ),
        "prelu",
    ),
    # --- look-alikes: must NOT be recognized ---------------------------------------------
    "lookalike-different-tensors": Spelling(
        lambda b, x, a: b.concat(
            [b.unary("Relu", x), b.unary("Relu", b.unary("Neg", b.unary("Sigmoid", x)))], a
        ),
        None,
    ),
    "lookalike-same-half": Spelling(
        lambda b, x, a: b.concat([b.unary("Relu", x), b.unary("Relu", x)], a), None
    ),
    "lookalike-third-input": Spelling(
        lambda b, x, a: b.concat([b.unary("Relu", x), b.unary("Relu", b.unary("Neg", x)), x], a),
        None,
    ),
    "lookalike-min-nonzero": Spelling(
        lambda b, x, a: b.concat(
            [b.unary("Relu", x), b.binary("Min", x, b.const(np.float32(0.25)))], a
        ),
        None,
    ),
    "lookalike-min-almost-zeros": Spelling(
        lambda b, x, a: b.concat(
            [
                b.unary("Relu", x),
                b.binary(
                    "Min",
                    x,
                    b.const(
                        np.where(np.arange(np.prod(b.shapes[x])) == 0, 1.0, 0.0).reshape(
                            b.shapes[x]
                        )
                    ),
                ),
            ],
            a,
        ),
        None,
    ),
    "lookalike-clip-nonzero": Spelling(  # clamp(z, min=0.5) is no ReLU
        lambda b, x, a: b.concat([_clip_min(b, x, 0.5), b.unary("Relu", b.unary("Neg", x))], a),
        None,
    ),
    "lookalike-max-nonzero": Spelling(
        lambda b, x, a: b.concat(
            [b.binary("Max", x, b.const(np.float32(-0.5))), b.binary("Min", x, _zero_scalar(b))],
            a,
        ),
        None,
    ),
    "lookalike-where-threshold": Spelling(
        lambda b, x, a: b.concat(
            [
                b.node(
                    "Where",
                    [
                        b.node("Less", [x, b.const(np.float32(0.1))], b.shapes[x]),
                        _zeros_like(b, x),
                        x,
                    ],
                    b.shapes[x],
                ),
                b.unary("Relu", b.unary("Neg", x)),
            ],
            a,
        ),
        None,
    ),
    "lookalike-where-expand-nonzero": Spelling(
        lambda b, x, a: b.concat(
            [_relu_where_dynamic(b, x, "expand", 0.5), b.unary("Relu", b.unary("Neg", x))], a
        ),
        None,
    ),
    "lookalike-where-constantofshape-other": Spelling(  # zeros shaped like another tensor
        lambda b, x, a: b.concat(
            [
                _relu_where_dynamic(b, x, "cos", of=b.unary("Sigmoid", x)),
                b.unary("Relu", b.unary("Neg", x)),
            ],
            a,
        ),
        None,
    ),
    "lookalike-selu-attrs": Spelling(
        lambda b, x, a: b.concat(
            [_selu(b, x, alpha=1.5), _selu(b, b.unary("Neg", x), alpha=1.5)], a
        ),
        None,
    ),
    "lookalike-swish-other-gate": Spelling(
        lambda b, x, a: b.concat(
            [
                b.binary("Mul", x, b.unary("Sigmoid", b.unary("Neg", x))),
                _swish(b, b.unary("Neg", x)),
            ],
            a,
        ),
        None,
    ),
    "lookalike-crelu-no-neg": Spelling(
        lambda b, x, a: b.unary("Relu", b.concat([x, b.unary("Sigmoid", x)], a)), None
    ),
    "lookalike-crelu-three": Spelling(
        lambda b, x, a: b.unary("Relu", b.concat([x, b.unary("Neg", x), x], a)), None
    ),
    # --- look-alikes of issue 11: near a linked half, but not equal to it everywhere ---
    "lookalike-threshold-1e-7": Spelling(
        lambda b, x, a: b.concat(
            [b.binary("Max", x, b.const(np.float32(1e-7))), b.unary("Relu", b.unary("Neg", x))],
            a,
        ),
        None,
    ),
    "lookalike-scale": Spelling(  # relu(z) and 0.5 * relu(-z)
        lambda b, x, a: b.concat(
            [
                b.unary("Relu", x),
                b.binary("Mul", b.unary("Relu", b.unary("Neg", x)), b.const(np.float32(0.5))),
            ],
            a,
        ),
        None,
    ),
    "lookalike-half-sum": Spelling(  # (z + |z|) / 2 overflows for large z
        lambda b, x, a: b.concat(
            [
                b.binary("Div", b.binary("Add", x, b.unary("Abs", x)), b.const(np.float32(2))),
                b.unary("Relu", b.unary("Neg", x)),
            ],
            a,
        ),
        None,
    ),
    "lookalike-sub-relu": Spelling(  # z - relu(z) is NaN at +inf, min(z, 0) is 0
        lambda b, x, a: b.concat(
            [b.unary("Relu", x), b.binary("Sub", x, b.unary("Relu", x))],
            a,
        ),
        None,
    ),
    "lookalike-leaky-alpha-0": Spelling(  # 0 * -inf is NaN, relu(-inf) is 0
        lambda b, x, a: b.concat(
            [b.unary("LeakyRelu", x, alpha=0.0), b.unary("Relu", b.unary("Neg", x))], a
        ),
        None,
    ),
    "lookalike-prelu-no-neg": Spelling(
        lambda b, x, a: b.concat(
            [b.binary("PRelu", x, b.slope(x, a)), b.binary("PRelu", x, b.slope(x, a))], a
        ),
        None,
    ),
}

#: Spellings that must become a linked function node.
LINKED_SPELLINGS = sorted(k for k, s in SPELLINGS.items() if s.kind is not None)
#: Look-alikes that must be left alone.
LOOKALIKES = sorted(k for k, s in SPELLINGS.items() if s.kind is None)


# -- whole models -------------------------------------------------------------------


def spelling_model(
    name: str,
    axis: int = 1,
    shape: Shape = (2, 4, 3, 3),
    conv_first: bool = True,
    seed: int = 0,
) -> onnx.ModelProto:
    """A model applying spelling ``name`` on ``axis`` to its input (after a 1x1 Conv when
    ``conv_first`` and the input is 4-D)."""
    b = GraphBuilder(seed)
    x = b.input(shape, "x")
    if conv_first and len(shape) == 4:
        x = b.conv(x, shape[1])
    return b.model([b.spelling(name, x, axis)])


def linked_chain(
    acts: Sequence[str],
    channels: int = 4,
    in_channels: int = 3,
    size: int = 4,
    batch: int = 2,
    k: int = 3,
    seed: int = 0,
) -> onnx.ModelProto:
    """conv -> act -> conv -> act ... -> conv(to 3 channels), NCHW, channel axis 1.

    Each entry of ``acts`` is either ``"fn:<kind>"`` (a linkedonnx function node of that
    kind), a SPELLINGS name (a flat spelling), or ``"plain:<Op>"`` (one unary op)."""
    b = GraphBuilder(seed)
    x = b.input((batch, in_channels, size, size), "x")
    for act in acts:
        x = b.conv(x, channels, k=k)
        if act.startswith("fn:"):
            x = b.linked(act[3:], x, 1)
        elif act.startswith("plain:"):
            x = b.unary(act[6:], x)
        else:
            x = b.spelling(act, x, 1)
    return b.model([b.conv(x, 3, k=1)])


#: Modes of :func:`two_branch_model`: how the second branch's weights relate to the first's.
BRANCH_MODES = ("same", "copy", "negated", "one-off", "negated-bias-mismatch")


def two_branch_model(
    op: str = "Conv",
    mode: str = "copy",
    mirror: bool = True,
    bias: bool = True,
    seed: int = 0,
) -> onnx.ModelProto:
    """Two ``op`` (Conv, Gemm or MatMul) branches reading one input, then a linked-looking
    Concat(Relu(b1), Relu(±b2)).

    ``mode``: ``same`` (one weight tensor read twice), ``copy`` (equal weights stored
    twice), ``negated`` (second weights = -first, bias too), ``one-off`` (a copy with one
    element changed), ``negated-bias-mismatch`` (weights negated, bias merely copied).
    With ``mirror`` the second branch goes through Neg (naive two-branch LK-ReLU), except
    for the negated modes, whose second branch is already the mirror."""
    if mode not in BRANCH_MODES:
        raise ValueError(mode)
    b = GraphBuilder(seed)
    if op == "Conv":
        x = b.input((2, 3, 4, 4), "x")
        wshape, bshape, cout = (4, 3, 3, 3), (4,), 4
    else:
        x = b.input((2, 5), "x")
        wshape = (4, 5) if op == "Gemm" else (5, 4)
        bshape, cout = (4,), 4
    use_bias = bias and op != "MatMul"
    w1 = b.weight(wshape)
    b1 = b.weight(bshape)
    w1n = b.const(w1)
    b1n = b.const(b1) if use_bias else None
    if mode == "same":
        w2n, b2n = w1n, b1n
    elif mode == "copy":
        w2n, b2n = b.const(w1.copy()), b.const(b1.copy()) if use_bias else None
    elif mode == "negated":
        w2n, b2n = b.const(-w1), b.const(-b1) if use_bias else None
    elif mode == "negated-bias-mismatch":
        w2n, b2n = b.const(-w1), b.const(b1.copy()) if use_bias else None
    else:  # one-off
        w2 = w1.copy()
        w2.flat[w2.size // 2] += np.float32(1e-3)
        w2n, b2n = b.const(w2), b.const(b1.copy()) if use_bias else None

    def branch(w: str, bb: str | None) -> str:
        if op == "Conv":
            return b.conv(x, cout, k=3, bias=bb is not None, w=w, b=bb)
        if op == "Gemm":
            return b.gemm(x, cout, w=w, b=bb)
        return b.matmul(x, cout, w=w)

    z1 = branch(w1n, b1n)
    z2 = branch(w2n, b2n)
    second = z2 if (mode.startswith("negated") or not mirror) else b.unary("Neg", z2)
    axis = 1
    return b.model([b.concat([b.unary("Relu", z1), b.unary("Relu", second)], axis)])


# -- running ------------------------------------------------------------------------


def random_feeds(model: onnx.ModelProto, seed: int = 0) -> dict[str, np.ndarray]:
    """Random float32 inputs (standard normal) for every graph input of ``model``."""
    rng = np.random.default_rng(seed)
    init_names = {i.name for i in model.graph.initializer}
    feeds = {}
    for vi in model.graph.input:
        if vi.name in init_names:
            continue
        dims = [d.dim_value if d.dim_value > 0 else 1 for d in vi.type.tensor_type.shape.dim]
        feeds[vi.name] = rng.standard_normal(dims).astype(np.float32)
    return feeds


def run(
    model: onnx.ModelProto, feeds: dict[str, np.ndarray], optimization: str = "disable"
) -> list[np.ndarray]:
    """Run ``model`` in ONNX Runtime (CPU, one thread, given optimization level)."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = {
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[optimization]
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(
        model.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"]
    )
    return sess.run(None, feeds)


def op_counts(model: onnx.ModelProto) -> dict[str, int]:
    """Count the graph's nodes by op_type (all domains)."""
    counts: dict[str, int] = {}
    for n in model.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return counts


def apply_passes(model: onnx.ModelProto, passes: Sequence[object]) -> onnx.ModelProto:
    """Run onnx_ir ``passes`` on a copy of ``model`` and return the resulting ModelProto
    with the linked functions attached."""
    import onnx_ir as ir

    ir_model = ir.serde.deserialize_model(model)
    for p in passes:
        ir_model = p(ir_model).model
    out = ir.serde.serialize_model(ir_model)
    attach_functions(out)
    return out


def assert_same_outputs(
    before: onnx.ModelProto,
    after: onnx.ModelProto,
    seeds: Sequence[int] = (0, 1),
    exact: bool = True,
) -> None:
    """Run both models in ONNX Runtime on random inputs (one per seed) and compare every
    output: bitwise-equal values when ``exact``, else float32 atol = rtol = 1e-5."""
    for seed in seeds:
        feeds = random_feeds(before, seed)
        for a, b in zip(run(before, feeds), run(after, feeds), strict=True):
            assert a.shape == b.shape
            if exact:
                np.testing.assert_array_equal(a, b)
            else:
                np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


def assert_recognized(
    before: onnx.ModelProto,
    after: onnx.ModelProto,
    rewrites: Mapping[str, int],
    function: str,
    gone: set[str],
) -> None:
    """``after`` is a valid model with exactly one ``function`` call, none of the ``gone``
    ops, one rewrite counted, and bitwise the outputs of ``before`` in ONNX Runtime."""
    onnx.checker.check_model(after, full_check=True)
    assert count_linked(after) == {function: 1}
    assert not gone & set(op_counts(after))
    assert sum(rewrites.values()) == 1
    assert_same_outputs(before, after, exact=True)


def assert_left_alone(
    before: onnx.ModelProto, after: onnx.ModelProto, rewrites: Mapping[str, int]
) -> None:
    """No rule fired: no rewrite counted, no linked call, the same ops, and bitwise the
    outputs of ``before`` in ONNX Runtime."""
    assert not rewrites
    assert count_linked(after) == {}
    assert op_counts(after) == op_counts(before)
    assert_same_outputs(before, after, exact=True)
