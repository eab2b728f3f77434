"""Property test of recognition by meaning: random halves drawn from exactly the grammar
of :mod:`linkedonnx.passes.half_semantics`, paired with a plainly written partner half.

The oracle is independent of the classifier: the ONNX reference evaluator runs the drawn
half and every known half (relu(±z), min(±z, 0), selu(±z), swish(±z), prelu(±z, s)) on
probes covering every class of float32 input (±0, denormals, values either side of a
1e-7 threshold, ±3e38, ±FLT_MAX, ±inf, NaN). A half equals a known half when the
outputs agree everywhere, the sign of zero aside and a NaN input mapped to 0 accepted
where the known half keeps NaN (the README's conventions).

Each example: a chain of grammar steps from z (or, as a near miss, with a last step just
outside the grammar: a threshold of 1e-7, a scale of 0.5, LeakyRelu alpha 0.01,
(t + Abs(t)) / 2, a Selu with other attributes, a zero that is a graph input, or the half
of a different tensor). ``convert`` must find exactly one linked node when the drawn
half is a grammar chain equal to the known half the partner completes, none otherwise,
and ONNX Runtime must give the same outputs before convert, after it and after
``optimize(target='cpu')``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from graphs import GraphBuilder, count_linked, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from linkedonnx.passes.convert import convert
from linkedonnx.passes.optimize import optimize

SHAPE = (2, 3, 2, 2)
FMAX = float(np.finfo(np.float32).max)
#: Probe values (24 = prod(SHAPE)): every class of float32 input.
_SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 5e-8, -5e-8, 1e-7, -1e-7]
_ORDINARY = [0.7, -0.7, 1.5, -1.5, 3e38, -3e38, FMAX, -FMAX, 1e-20, -1e-20, 42.0, -42.0, 2.5]
PROBES = np.array([*_SPECIAL, *_ORDINARY], np.float32).reshape(SHAPE)
#: Finite inputs for ONNX Runtime: the probes, inf/NaN replaced by random values.
_RANDOM = np.random.default_rng(0).standard_normal((2, *SHAPE)).astype(np.float32)
FEEDS = {
    "z": np.where(np.isfinite(PROBES), PROBES, _RANDOM[0]),
    "other": _RANDOM[1],
}
#: A PReLU slope per channel, of mixed signs.
SLOPE = np.array([0.25, -0.5, 0.75], np.float32).reshape(3, 1, 1)
PARTNER_SLOPE = np.array([-0.125, 0.5, 1.5], np.float32).reshape(3, 1, 1)

ZERO_KINDS = ["scalar", "full", "channel", "expand", "constant-of-shape", "constant-node"]
SIGN_TESTS = ["Less", "Greater", "LessOrEqual", "GreaterOrEqual"]

#: One grammar step: (name, parameters drawn for it).
grammar_step = st.one_of(
    st.tuples(st.sampled_from(["Relu", "Neg", "Abs", "Identity", "Selu", "Cast"]), st.just(())),
    st.tuples(st.sampled_from(["CastLike", "LeakyRelu0", "Sub0t", "Subt0"]), st.just(())),
    st.tuples(st.sampled_from(["SubTRelu", "SubReluT"]), st.just(())),
    st.tuples(
        st.sampled_from(["Max0", "Min0", "Add0"]),
        st.tuples(st.booleans(), st.sampled_from(ZERO_KINDS)),
    ),
    st.tuples(
        st.sampled_from(["ClipLo", "ClipHi"]),  # Clip's bounds are scalars
        st.tuples(st.sampled_from(["scalar", "constant-node"])),
    ),
    st.tuples(
        st.just("Where"),
        st.tuples(
            st.sampled_from(SIGN_TESTS),
            st.booleans(),  # zero on the left of the test
            st.booleans(),  # zero as the 'then' branch
            st.booleans(),  # the branch is -t rather than t
            st.sampled_from(ZERO_KINDS),
        ),
    ),
    st.tuples(
        st.sampled_from(["MulUnit", "DivUnit"]),
        st.tuples(st.sampled_from([1.0, -1.0]), st.booleans(), st.sampled_from(["scalar", "full"])),
    ),
    st.tuples(st.just("PRelu"), st.tuples(st.sampled_from(["slope", "positive", "zeros", "ones"]))),
    st.tuples(st.just("Swish"), st.tuples(st.booleans())),
)
#: The start of a chain: z, -z, or torch's PReLU Where(Less(±z, 0), ±z * s, ±z).
chain_start = st.sampled_from(["z", "neg", "z", "neg", "prelu-where", "prelu-where-neg"])
#: A near miss: a last step just outside the grammar, or a structural miss.
near_miss = st.sampled_from(
    [
        "max-threshold",
        "where-threshold",
        "clip-threshold",
        "scale-half",
        "scale-near-minus-one",
        "leaky-alpha",
        "half-sum",
        "selu-attrs",
        "input-zero",
        "other-tensor",
    ]
)

#: The known halves: name -> (spelling of the partner that completes a pair with it).
KNOWN = ["relu+", "relu-", "min+", "min-", "selu+", "selu-", "swish+", "swish-"]
KNOWN += ["prelu+", "prelu-"]
#: Known half -> the partner halves that complete a linked pair with it.
PARTNERS = {
    "relu+": ["relu-", "min+"],
    "relu-": ["relu+", "min-"],
    "min+": ["relu+"],
    "min-": ["relu-"],
    "selu+": ["selu-"],
    "selu-": ["selu+"],
    "swish+": ["swish-"],
    "swish-": ["swish+"],
    "prelu+": ["prelu-"],
    "prelu-": ["prelu+"],
}


@dataclass
class Half:
    """What a drawn half is built from."""

    start: str
    steps: list[tuple[str, tuple]]
    miss: str | None


class Writer:
    """Writes halves into a GraphBuilder; ``inputs_zero`` makes the near miss's zero a
    graph input (for the model convert sees; the oracle model keeps it constant)."""

    def __init__(self, b: GraphBuilder, z: str, inputs_zero: bool) -> None:
        self.b, self.z, self.inputs_zero = b, z, inputs_zero
        self.source, self.exact = z, True  # what the half is built from; no rounding yet

    def zero(self, kind: str) -> str:
        b = self.b
        if kind == "scalar":
            return b.const(np.float32(0.0))
        if kind == "full":
            return b.const(np.zeros(SHAPE, np.float32))
        if kind == "channel":
            return b.const(np.zeros((1, 3, 1, 1), np.float32))
        if kind == "constant-node":
            value = numpy_helper.from_array(np.array(0.0, np.float32), "value")
            return b.node("Constant", [], (), value=value)
        shape = b.node("Shape", [self.z], (len(SHAPE),))
        if kind == "expand":
            return b.node("Expand", [b.const(np.float32(0.0)), shape], SHAPE)
        value = numpy_helper.from_array(np.array([0.0], np.float32), "value")
        return b.node("ConstantOfShape", [shape], SHAPE, value=value)

    def const(self, value: float, kind: str = "scalar") -> str:
        arr = np.full(SHAPE if kind == "full" else (), value, np.float32)
        return self.b.const(arr)

    def binary(self, op: str, t: str, other: str, swap: bool) -> str:
        return self.b.binary(op, other, t) if swap else self.b.binary(op, t, other)

    def step(self, t: str, name: str, p: tuple) -> str:
        b = self.b
        if name in ("Relu", "Neg", "Abs", "Identity", "Selu"):
            return b.unary(name, t)
        if name == "Cast":
            return b.unary("Cast", t, to=TensorProto.FLOAT)
        if name == "CastLike":
            return b.node("CastLike", [t, t], SHAPE)
        if name == "LeakyRelu0":
            return b.unary("LeakyRelu", t, alpha=0.0)
        if name == "Sub0t":
            return b.binary("Sub", b.const(np.float32(0.0)), t)
        if name == "Subt0":
            return b.binary("Sub", t, b.const(np.float32(0.0)))
        if name == "SubTRelu":
            return b.binary("Sub", t, b.unary("Relu", t))
        if name == "SubReluT":
            return b.binary("Sub", b.unary("Relu", t), t)
        if name in ("Max0", "Min0", "Add0"):
            swap, kind = p
            return self.binary(name[:3], t, self.zero(kind), swap)
        if name == "ClipLo":
            return b.node("Clip", [t, self.zero(p[0])], SHAPE)
        if name == "ClipHi":
            return b.node("Clip", [t, "", self.zero(p[0])], SHAPE)
        if name == "Where":
            test, zero_left, zero_then, negated, kind = p
            # The grammar tests the sign of z: of the chain so far only while it is exact
            # (±z or 0, no rounding), else of the chain's source.
            tested = t if self.exact else self.source
            zero_scalar = self.zero("scalar")
            cond = b.node(
                test, [zero_scalar, tested] if zero_left else [tested, zero_scalar], SHAPE
            )
            branch = b.unary("Neg", t) if negated else t
            zero = self.zero(kind)
            return b.node(
                "Where", [cond, zero, branch] if zero_then else [cond, branch, zero], SHAPE
            )
        if name in ("MulUnit", "DivUnit"):
            unit, swap, kind = p
            c = self.const(unit, kind)
            return self.binary(name[:3], t, c, swap and name == "MulUnit")
        if name == "PRelu":
            slopes = {"slope": SLOPE, "positive": abs(SLOPE), "zeros": SLOPE * 0}
            slope = slopes.get(p[0], SLOPE * 0 + 1)
            return b.binary("PRelu", t, b.const(slope))
        if name == "Swish":
            return self.binary("Mul", t, b.unary("Sigmoid", t), p[0])
        raise AssertionError(name)

    def start(self, start: str, z: str) -> str:
        b = self.b
        if start == "z":
            return z
        t = b.unary("Neg", z)
        if start == "neg":
            return t
        t = z if start == "prelu-where" else t
        cond = b.node("Less", [t, b.const(np.float32(0.0))], SHAPE)
        return b.node("Where", [cond, b.binary("Mul", t, b.const(SLOPE)), t], SHAPE)

    def miss(self, t: str, miss: str) -> str:
        b = self.b
        tiny = b.const(np.float32(1e-7))
        if miss == "max-threshold":
            return b.binary("Max", t, tiny)
        if miss == "where-threshold":
            cond = b.node("Less", [t, tiny], SHAPE)
            return b.node("Where", [cond, self.zero("scalar"), t], SHAPE)
        if miss == "clip-threshold":
            return b.node("Clip", [t, tiny], SHAPE)
        if miss == "scale-half":
            return b.binary("Mul", t, b.const(np.float32(0.5)))
        if miss == "scale-near-minus-one":
            # Not closer to ±1: onnxscript's optimizer takes x * (1 + 1e-7) for x * 1.
            return b.binary("Mul", t, b.const(np.float32(-1.001)))
        if miss == "leaky-alpha":
            return b.unary("LeakyRelu", t, alpha=0.01)
        if miss == "half-sum":
            return b.binary("Div", b.binary("Add", t, b.unary("Abs", t)), b.const(np.float32(2)))
        if miss == "selu-attrs":
            return b.unary("Selu", t, alpha=1.5)
        if miss == "input-zero":
            zero = b.const(np.float32(0.0))
            if self.inputs_zero:
                b.inputs.append(helper.make_tensor_value_info(zero, TensorProto.FLOAT, []))
            return b.binary("Max", t, zero)
        return t  # other-tensor: the half was built from another input

    def half(self, h: Half, z: str) -> str:
        self.source, self.exact = z, not h.start.startswith("prelu")
        t = self.start(h.start, z)
        for name, p in h.steps:
            t = self.step(t, name, p)
            if name in ("Selu", "Swish") or (name == "PRelu" and p[0] in ("slope", "positive")):
                self.exact = False  # rounded values from here on
        return self.miss(t, h.miss) if h.miss else t

    def known(self, name: str) -> str:
        """The known half ``name`` written plainly (the partner, and the oracle's reference)."""
        b, z = self.b, self.z
        kind, sign = name[:-1], name[-1]
        x = z if sign == "+" else b.unary("Neg", z)
        if kind == "relu":
            return b.unary("Relu", x)
        if kind == "min":
            return b.binary("Min", x, b.const(np.float32(0.0)))
        if kind == "selu":
            return b.unary("Selu", x)
        if kind == "swish":
            return b.binary("Mul", x, b.unary("Sigmoid", x))
        return b.binary("PRelu", x, b.const(SLOPE))


def oracle(h: Half) -> list[str]:
    """The known halves ``h`` equals on every probe (reference evaluator)."""
    b = GraphBuilder(0)
    z = b.input(SHAPE, "z")
    w = Writer(b, z, inputs_zero=False)
    outputs = [w.half(h, z)] + [w.known(k) for k in KNOWN]
    model = b.model(outputs, check=False)
    with np.errstate(all="ignore"):
        got, *refs = ReferenceEvaluator(model).run(None, {"z": PROBES})
    nan_in = np.isnan(PROBES)
    equal = []
    for name, ref in zip(KNOWN, refs, strict=True):
        same = (
            (got == ref) | (np.isnan(got) & np.isnan(ref)) | (nan_in & np.isnan(ref) & (got == 0))
        )
        if bool(np.all(same)):
            equal.append(name)
    return equal


half_strategy = st.builds(
    Half,
    start=chain_start,
    steps=st.lists(grammar_step, min_size=0, max_size=3),
    miss=st.none() | st.none() | near_miss,
)


def build(h: Half, partner: str, half_first: bool) -> onnx.ModelProto:
    """Concat(h, partner) (or the other order) on the channel axis of input z."""
    b = GraphBuilder(1)
    z = b.input(SHAPE, "z")
    w = Writer(b, z, inputs_zero=True)
    source = b.input(SHAPE, "other") if h.miss == "other-tensor" else z
    half = w.half(h, source)
    if partner.startswith("prelu"):
        kind_sign = partner[-1]
        x = z if kind_sign == "+" else b.unary("Neg", z)
        other = b.binary("PRelu", x, b.const(PARTNER_SLOPE))
    else:
        other = w.known(partner)
    return b.model([b.concat([half, other] if half_first else [other, half], 1)])


def outputs(model: onnx.ModelProto) -> list[np.ndarray]:
    """ONNX Runtime's outputs of ``model`` on :data:`FEEDS` (one session)."""
    names = {i.name for i in model.graph.input}
    return run(model, {k: v for k, v in FEEDS.items() if k in names})


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(h=half_strategy, pick=st.integers(0, 7), half_first=st.booleans())
def test_halves_recognized_by_meaning(h: Half, pick: int, half_first: bool) -> None:
    equal = oracle(h)
    if equal:
        known = equal[pick % len(equal)]
        options = PARTNERS[known]
        partner = options[pick % len(options)]
    else:
        partner = KNOWN[pick % len(KNOWN)]
    expected = int(h.miss is None and bool(equal))
    model = build(h, partner, half_first)
    converted, _ = convert(model)
    onnx.checker.check_model(converted, full_check=True)
    assert sum(count_linked(converted).values()) == expected, (equal, partner)
    before = outputs(model)
    for a, b in zip(before, outputs(converted), strict=True):
        np.testing.assert_array_equal(b, a)  # exact (the sign of zero aside)
    optimized, _ = optimize(
        converted, target="cpu", convert=False, tune=False
    )  # lower what convert did
    for a, b in zip(before, outputs(optimized), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)
