"""Property test: random small graphs mixing every linked spelling, look-alikes,
duplicated branches and unrelated ops keep their outputs through ``convert`` and then
``optimize(target='cpu', tune=False)`` (ONNX Runtime, float32, atol = rtol = 1e-5; the
table's forms, nothing timed: the measured default picks among the same forms, each
exact on its own in test_lower_forms); and, with every
initializer also a graph input (older exporters), the results follow new values fed
for them.

Each example is built by :class:`graphs.GraphBuilder` from a list of drawn blocks; the
model is checked with ``onnx.checker`` (full) after convert, and convert must produce
exactly one linked node per linked spelling or mirrored duplicated branch drawn.
"""

from __future__ import annotations

import numpy as np
import onnx
from graphs import (
    SPELLINGS,
    GraphBuilder,
    count_linked,
    random_feeds,
    run,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkedonnx.passes.convert import convert
from linkedonnx.passes.optimize import optimize
from linkedonnx.runtime.inputs import perturbed_initializers, signature
from tests.passes.lowering_graphs import weights_as_inputs

SPELLING_NAMES = sorted(SPELLINGS)
UNARY = ["Relu", "Sigmoid", "Neg", "Tanh", "Selu"]
BRANCH_MODES = ["same", "copy", "negated", "one-off"]

spelling_block = st.tuples(
    st.just("spelling"), st.sampled_from(SPELLING_NAMES), st.sampled_from([1, -1, 0, 2])
)
filler_block = st.one_of(
    st.tuples(st.just("conv"), st.integers(2, 4), st.sampled_from([1, 3])),
    st.tuples(st.just("branches"), st.sampled_from(BRANCH_MODES), st.booleans()),
    st.tuples(st.just("unary"), st.sampled_from(UNARY), st.just(0)),
    # affine: y = x * a + c, a and c sometimes exactly the neutral 1 and 0 (a no-op that a
    # clean-up may drop only when they are true constants)
    st.tuples(
        st.just("affine"),
        st.just(1.0) | st.floats(-2, 2, width=32),
        st.just(0.0) | st.floats(-1, 1, width=32),
    ),
    st.tuples(st.just("transpose"), st.permutations([1, 2, 3]), st.just(0)),
)
#: One step: an optional unrelated block (or duplicated branches), then a spelling (a
#: linked one or a look-alike), so every example holds at least one spelling.
step = st.tuples(st.none() | filler_block, spelling_block).map(
    lambda pair: [b for b in pair if b is not None]
)


def build(
    blocks: list[tuple], shape: tuple[int, ...], dense: tuple | None, seed: int
) -> tuple[onnx.ModelProto, int]:
    """Build the model of ``blocks`` on an NCHW input; return (model, expected number of
    linked nodes after convert)."""
    b = GraphBuilder(seed)
    x = b.input(shape, "x")
    outputs: list[str] = []
    expected = 0
    for kind, a, c in blocks:
        if kind == "spelling":
            x = b.spelling(a, x, c)
            expected += SPELLINGS[a].kind is not None
        elif kind == "conv":
            x = b.conv(x, a, k=c)
        elif kind == "branches":
            x, linked = _branches(b, x, a, mirror=c)
            expected += linked
        elif kind == "unary":
            x = b.unary(a, x)
        elif kind == "affine":
            x = b.binary("Add", b.binary("Mul", x, b.const(np.float32(a))), b.const(np.float32(c)))
        elif kind == "transpose":
            x = b.transpose(x, [0, *a])
        if len(outputs) < 2 and len(b.nodes) % 3 == 0:
            outputs.append(x)
    if dense is not None:
        cout, spelling = dense
        flat = b.node("Flatten", [x], (b.shapes[x][0], int(np.prod(b.shapes[x][1:]))))
        z = b.gemm(flat, cout, b=b.const(b.weight((cout,))))
        x = b.spelling(spelling, z, -1)
        expected += SPELLINGS[spelling].kind is not None
    outputs = [o for o in outputs if o != x] + [x]
    return b.model(outputs), expected


def _branches(b: GraphBuilder, x: str, mode: str, mirror: bool) -> tuple[str, int]:
    """Two 1x1 Conv branches of ``x`` related by ``mode``; Concat(Relu(z1), Relu(±z2))."""
    cin = b.shapes[x][1]
    w = b.weight((3, cin, 1, 1))
    bias = b.weight((3,))
    w1, b1 = b.const(w), b.const(bias)
    if mode == "same":
        w2, b2 = w1, b1
    elif mode == "copy":
        w2, b2 = b.const(w.copy()), b.const(bias.copy())
    elif mode == "negated":
        w2, b2 = b.const(-w), b.const(-bias)
    else:
        off = w.copy()
        off.flat[0] += np.float32(0.01)
        w2, b2 = b.const(off), b.const(bias.copy())
    z1, z2 = b.conv(x, 3, w=w1, b=b1), b.conv(x, 3, w=w2, b=b2)
    negated = mode == "negated"
    second = z2 if negated or not mirror else b.unary("Neg", z2)
    y = b.concat([b.unary("Relu", z1), b.unary("Relu", second)], 1)
    linked = (mode in ("same", "copy") and mirror) or negated
    return y, int(linked)


def assert_close(before: onnx.ModelProto, after: onnx.ModelProto, feeds: dict, what: str) -> None:
    for i, (a, b) in enumerate(zip(run(before, feeds), run(after, feeds), strict=True)):
        assert a.shape == b.shape, (what, i)
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5, err_msg=f"{what}, output {i}")


def examples(n: int) -> settings:
    """Hypothesis settings of these tests: ``n`` examples, no deadline, no database."""
    return settings(
        max_examples=n,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


#: The drawn graph: its steps and its NCHW input shape.
steps_drawn = st.lists(step, min_size=1, max_size=4)
shape_drawn = st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))


@examples(200)
@given(
    steps=steps_drawn,
    shape=shape_drawn,
    dense=st.none() | st.tuples(st.integers(2, 4), st.sampled_from(SPELLING_NAMES)),
    seed=st.integers(0, 2**16),
)
def test_convert_then_optimize_preserves_outputs(
    steps: list[list[tuple]], shape: tuple[int, ...], dense: tuple | None, seed: int
) -> None:
    model, expected = build([b for s in steps for b in s], shape, dense, seed)
    feeds = random_feeds(model, seed)
    converted, _ = convert(model)
    onnx.checker.check_model(converted, full_check=True)
    assert sum(count_linked(converted).values()) == expected
    assert_close(model, converted, feeds, "convert")
    optimized, _ = optimize(converted, target="cpu", tune=False)
    assert not count_linked(optimized)
    assert_close(model, optimized, feeds, "convert + optimize")


@examples(100)
@given(
    steps=steps_drawn,
    shape=shape_drawn,
    seed=st.integers(0, 2**16),
)
def test_with_weights_as_inputs_the_results_follow_new_weights(
    steps: list[list[tuple]], shape: tuple[int, ...], seed: int
) -> None:
    # every constant of the graph (weights, a spelling's 0 or -1, the affine 1 and 0) is
    # an initializer a caller may override: no pass may bake one in
    model, _ = build([b for s in steps for b in s], shape, None, seed)
    model = weights_as_inputs(model)
    feeds = random_feeds(model, seed) | perturbed_initializers(signature(model), seed)
    converted, _ = convert(model)
    optimized, _ = optimize(converted, target="cpu", tune=False)
    assert_close(model, converted, feeds, "convert, new weights")
    assert_close(model, optimized, feeds, "convert + optimize, new weights")
