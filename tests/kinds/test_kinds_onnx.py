"""Every registered linked kind, on the ONNX side (no torch): its function body's flat
spelling is recognized back bit for bit at every opset it has a body for, every lowering
form is exact, the INT8 quantizer gives its halves one range, and dead units find it.
Parametrized over the registry, so a new kind is tested here without edits."""

from __future__ import annotations

import numpy as np
import onnx
import onnx_ir as ir
import pytest

from linkedonnx.functions import count_linked_nodes, function_proto
from linkedonnx.functions.inline import inline_linked_functions
from linkedonnx.kinds import BODY_OPSET, KINDS, UNSIGNED, LinkedKind
from linkedonnx.passes.base import run_pipeline
from linkedonnx.passes.convert import convert_passes
from linkedonnx.quantize.static import quantize
from linkedonnx.runtime.dead_units import find_activations
from tests.passes.graphs import GraphBuilder, random_feeds, run
from tests.passes.lowering_graphs import allcnn_like
from tests.passes.test_lower_forms import assert_same, lowered
from tests.quantize.test_structure import VNNI, batches


def body_opsets(kind: LinkedKind) -> list[int]:
    """One default-domain opset per body of ``kind``: just below each older body's end,
    and the newest (at least the bodies' own opset)."""
    newest = max([BODY_OPSET, *(since for since, _ in kind.older_bodies)])
    return sorted({since - 1 for since, _ in kind.older_bodies} | {newest})


CASES = [(name, opset) for name, k in KINDS.items() for opset in body_opsets(k)]


def linked_model(name: str, opset: int) -> onnx.ModelProto:
    """Conv -> Linked<kind> -> Conv at ``opset`` (with the function attached)."""
    b = GraphBuilder(seed=len(name), opset=opset)
    x = b.input((2, 3, 5, 5), "x")
    w = b.const(b.weight((4, 3, 3, 3)))
    z = b.node("Conv", [x, w], (2, 4, 3, 3))
    y = b.linked(name, z, 1)
    w2 = b.const(b.weight((5, 8, 1, 1)))
    return b.model([b.node("Conv", [y, w2], (2, 5, 3, 3))])


@pytest.mark.parametrize(("name", "opset"), CASES)
def test_the_flat_body_is_recognized_back_bit_for_bit(name: str, opset: int) -> None:
    model = linked_model(name, opset)
    flat = inline_linked_functions(model)
    assert not count_linked_nodes(flat)
    converted, _ = run_pipeline(ir.from_proto(flat), convert_passes(), "convert")
    back = ir.to_proto(converted)
    assert count_linked_nodes(back) == {KINDS[name].op_type: 1}
    body = next(f for f in back.functions if f.name == KINDS[name].op_type)
    assert [n.op_type for n in body.node] == [n.op_type for n in function_proto(name, opset).node]
    feeds = random_feeds(model, seed=3)
    feeds["x"][0, 0, :2, :2] = [[0.0, -0.0], [1e-30, -1e30]]  # zero, tiny, huge inputs
    for a, b in zip(run(flat, feeds), run(back, feeds), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", list(KINDS))
@pytest.mark.parametrize("form", ["split", "dw", "stacked", "inline"])
def test_every_form_lowers_it_exactly(name: str, form: str) -> None:
    model = allcnn_like(name, seed=len(name))
    out, counts = lowered(model, form=form)
    assert_same(model, out)
    assert sum(v for k, v in counts.items() if k.startswith(f"{name}:")) == 3, counts


@pytest.mark.parametrize("name", list(KINDS))
def test_int8_gives_the_halves_one_range_by_the_kinds_rule(name: str) -> None:
    model = allcnn_like(name, seed=1)
    quantized, report = quantize(model, batches(), form="dw", isa=VNNI)
    assert report.linked and report.shared_ranges == 3, report
    onnx.checker.check_model(quantized)
    relu_pairs = sum(v for k, v in report.layout.items() if k.startswith("pair Relu"))
    if KINDS[name].int8_range == UNSIGNED:  # Relu halves: one unsigned range
        assert relu_pairs == 3, report.layout
    if KINDS[name].activation is not None:  # its own activation's halves, not Relu
        pairs = sum(v for k, v in report.layout.items() if k.startswith("pair "))
        assert relu_pairs == 0 and pairs == 3, report.layout


@pytest.mark.parametrize("name", list(KINDS))
def test_dead_units_find_the_linked_layer(name: str) -> None:
    sites = find_activations(allcnn_like(name))
    assert [s.kind for s in sites] == [f"lk-{KINDS[name].zoo_name}"] * 3
