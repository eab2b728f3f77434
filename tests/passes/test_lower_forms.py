"""Each lowering form on hand-built graphs: exact in ORT (float32, atol=rtol=1e-5), no
linkedonnx node left, full ONNX check, and the form really applied (or the reason why not)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from linkedonnx import DOMAIN
from linkedonnx.functions import attach_functions, count_linked_nodes
from linkedonnx.passes.optimize import optimize
from tests.passes.graphs import linked_chain, random_feeds, run
from tests.passes.lowering_graphs import allcnn_like, flatten_dense, mlp_like, pooled_like

KINDS = ("relu", "relu-minmax", "prelu", "selu", "swish")
LINEAR = ("relu", "relu-minmax", "prelu")


def lowered(model: onnx.ModelProto, **options) -> tuple[onnx.ModelProto, dict[str, int]]:
    """optimize(model) checked structurally; returns it with the lowering pass's counts.
    Nothing is timed unless ``options`` ask for it: the forms are the table's (tune=False)."""
    options.setdefault("tune", False)
    out, report = optimize(model, **options)
    onnx.checker.check_model(out, full_check=True)
    assert not count_linked_nodes(out)
    assert not [f for f in out.functions if f.domain == DOMAIN]
    assert DOMAIN not in {o.domain for o in out.opset_import}
    step = next(s for s in report.steps if s.name.startswith("LowerFor"))
    return out, step.counts


def assert_same(a: onnx.ModelProto, b: onnx.ModelProto, seed: int = 0) -> None:
    feeds = random_feeds(a, seed)
    for x, y in zip(run(a, feeds), run(b, feeds, "all"), strict=True):
        np.testing.assert_allclose(y, x, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("form", ["split", "dw", "stacked", "inline"])
def test_every_form_is_exact_on_a_conv_chain(kind: str, form: str) -> None:
    model = allcnn_like(kind, seed=len(kind))
    out, counts = lowered(model, form=form)
    assert_same(model, out)
    applies = form in ("inline", "stacked") or kind in LINEAR or (form == "dw" and kind == "swish")
    assert counts.get(f"{kind}:{form if applies else 'inline'}") == 3, counts


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "selu"])
def test_default_cpu_lowering_removes_every_concat_and_neg(kind: str) -> None:
    model = allcnn_like(kind, bn=True)
    out, counts = lowered(model)
    assert_same(model, out)
    ops = {n.op_type for n in out.graph.node}
    assert not ops & {"Concat", "Neg", "BatchNormalization"}, ops
    assert counts.get(f"{kind}:inline", 0) == 0


def test_default_cpu_lowering_inlines_selu() -> None:
    # measured: nothing beat inline for SELU (no NCHWc Selu kernel; stacked ran ~2x slower)
    model = allcnn_like("selu", bn=True)
    out, counts = lowered(model)
    assert_same(model, out)
    assert counts == {"selu:inline": 3}


@pytest.mark.parametrize("kind", LINEAR)
@pytest.mark.parametrize("matmul", [False, True])
def test_split_rewrites_gemm_and_matmul_consumers(kind: str, matmul: bool) -> None:
    model = mlp_like(kind, matmul=matmul)
    out, counts = lowered(model, form="split")
    assert_same(model, out)
    assert counts.get(f"{kind}:split") == 1, counts


@pytest.mark.parametrize("kind", LINEAR)
def test_forms_fall_back_when_consumers_are_not_linear(kind: str) -> None:
    model = pooled_like(kind)
    out, counts = lowered(model, form="split")
    assert_same(model, out)
    assert counts["skipped split: the output is a graph output"] == 1
    assert counts[f"{kind}:inline"] == 1
    out, counts = lowered(model, form="dw")
    assert_same(model, out)
    assert counts.get("relu:dw" if kind == "relu" else f"{kind}:inline") == 1, counts


def test_stacked_needs_a_private_conv_producer() -> None:
    # the same Conv output feeds two linked nodes: stacking its weights would change both
    model = linked_chain(["fn:relu"], channels=3)
    graph = model.graph
    call = next(n for n in graph.node if n.domain == DOMAIN)
    twin = onnx.helper.make_node("LinkedSelu", list(call.input), ["twin"], domain=DOMAIN, axis=1)
    graph.node.append(twin)
    graph.output.append(
        onnx.helper.make_tensor_value_info("twin", onnx.TensorProto.FLOAT, [2, 6, 4, 4])
    )
    attach_functions(model)
    out, counts = lowered(model, form="stacked", convert=False)
    assert_same(model, out)
    assert counts["relu:inline"] == counts["selu:inline"] == 1
    assert any(k.startswith("skipped stacked: the producer's output") for k in counts)


@pytest.mark.parametrize("kind", ["relu", "prelu"])
def test_prelu_with_scalar_slopes_and_chains_of_mixed_spellings(kind: str) -> None:
    model = linked_chain([f"fn:{kind}", "plain:Relu", f"fn:{kind}"], channels=5)
    for form in ("split", "dw", "stacked"):
        out, _ = lowered(model, form=form)
        assert_same(model, out, seed=3)


@pytest.mark.parametrize("kind", LINEAR)
@pytest.mark.parametrize(
    "variant",
    [{}, {"reshape": True}, {"reshape": True, "rows": (-1, 72)}, {"trans_b": 0}, {"matmul": True}],
    ids=["flatten-gemm", "reshape-gemm", "reshape-rows-gemm", "gemm-transB0", "flatten-matmul"],
)
@pytest.mark.parametrize("form", ["split", "dw", "stacked"])
def test_split_reaches_through_a_flatten_to_the_dense_layer(kind, variant, form) -> None:
    model = flatten_dense(kind, **variant)
    out, counts = lowered(model, form=form, convert=False)
    assert_same(model, out)
    assert counts.get(f"{kind}:{form}") == 1, counts
    assert not {"Concat", "Neg"} & {n.op_type for n in out.graph.node}
