"""The INT8 file written for OpenVINO (issue 25.5): the stacked form where the producing
conv is light, the inline form elsewhere, every convolution after the first reading u8
with zero point 0, the inline sites' linked halves quantized apart with one scale from
the conv's float output, and its outputs on OpenVINO close to the float model's and to
ONNX Runtime's on the same file."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from linkedonnx.quantize import quantize
from linkedonnx.quantize.openvino_form import (
    MIXED,
    STACK_REDUCTION,
    asymmetric_conv_inputs,
    default_form,
    keep_pair_inputs_float,
    slice_before_strided_pointwise,
    stacked_sites,
)
from linkedonnx.runtime.session import make_session
from tests.passes.lowering_graphs import allcnn_like
from tests.quantize.test_structure import VNNI, Graph, batches, check_close


def signed_batches(count: int = 6) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(3)
    return [{"x": rng.standard_normal((2, 3, 8, 8)).astype(np.float32)} for _ in range(count)]


def test_openvino_gets_the_mixed_form_and_cpu_keeps_its_table() -> None:
    assert default_form("openvino") == MIXED
    assert default_form("cpu") is None and default_form("cuda") is None
    model = allcnn_like("relu")
    _, cpu = quantize(model, batches(), isa=VNNI)
    _, ov = quantize(model, batches(), isa=VNNI, provider="openvino")
    assert cpu.form == "split" and ov.form == "inline+stacked"
    assert ov.lowered == {"relu:stacked": 1, "relu:inline": 2}
    assert any("zero point 0" in note for note in ov.notes)
    _, forced = quantize(model, batches(), isa=VNNI, provider="openvino", form="split")
    assert forced.form == "split"  # a given form wins


def test_the_split_form_feeds_convolutions_a_zero_point_and_the_openvino_form_does_not() -> None:
    """The reason for the OpenVINO form: split's [relu(z), z] holds a signed z, so each
    conv after the first reads u8 with a zero point near 128; inline's [relu(z),
    relu(-z)] is non-negative, zero point 0."""
    model = allcnn_like("relu")
    split, _ = quantize(model, signed_batches(), isa=VNNI, form="split")
    assert len(asymmetric_conv_inputs(split)) == 3  # the two linked layers' and the head's
    ov, report = quantize(model, signed_batches(), isa=VNNI, provider="openvino", form="inline")
    assert asymmetric_conv_inputs(ov) == []
    g = Graph(ov)
    concats = g.ops("Concat")
    assert len(concats) == 3 and report.shared_ranges == 3
    for concat in concats:
        scale, zero, dtype = g.integer_concat(concat)  # one scale, read by a DQ
        assert zero == 0 and dtype == np.uint8 and scale > 0
        halves = [g.producer[i] for i in concat.input]
        assert [h.op_type for h in halves] == ["QuantizeLinear", "QuantizeLinear"]
        relus = [g.producer[h.input[0]] for h in halves]
        assert [r.op_type for r in relus] == ["Relu", "Relu"]
        neg = g.producer[relus[1].input[0]]
        assert neg.op_type == "Neg"
        # z itself is not quantized: both halves read the Conv's float output
        assert g.producer[relus[0].input[0]].op_type == "Conv"
        assert neg.input[0] == relus[0].input[0]
    assert report.layout["conv output kept float for OpenVINO"] == 3
    check_close(model, ov)


def test_only_pairs_read_by_linked_halves_are_dropped() -> None:
    model = allcnn_like("relu")
    split, _ = quantize(model, signed_batches(), isa=VNNI, form="split")
    assert keep_pair_inputs_float(split)[1] == 0  # its z is read by an integer Clip/Concat
    inline, _ = quantize(model, signed_batches(), isa=VNNI, form="inline")
    placed, dropped = keep_pair_inputs_float(inline)
    assert dropped == 3
    count = Counter(n.op_type for n in inline.graph.node)
    after = Counter(n.op_type for n in placed.graph.node)
    assert count - after == Counter({"QuantizeLinear": 3, "DequantizeLinear": 3})
    names = {name for n in placed.graph.node for name in n.input}
    assert all(i.name in names for i in placed.graph.initializer)  # no stale scales
    check_close(model, placed)


def test_the_openvino_form_on_openvino_matches_the_float_model() -> None:
    pytest.importorskip("openvino", reason="the openvino extra is not installed")
    from linkedonnx.runners.openvino_runner import OpenVinoRunner

    model = allcnn_like("relu")
    ov, _ = quantize(model, signed_batches(), isa=VNNI, provider="openvino")
    ref_session = make_session(model, "cpu", threads=1)
    ort_int8 = make_session(ov, "cpu", threads=1)
    runner = OpenVinoRunner(ov, threads=1)
    for b in signed_batches(3):
        ref = ref_session.run(None, b)[0]
        got = runner.run(b)[0]
        assert np.abs(got - ref).max() <= 0.1 * np.abs(ref).max()
        # the same INT8 file on both runtimes: the same integer arithmetic, up to a
        # rounding step where they requantize differently
        assert np.abs(got - ort_int8.run(None, b)[0]).mean() <= 0.02 * np.abs(ref).max()


def strided_qdq(third_kernel: int | None = None) -> onnx.ModelProto:
    """x -> Q -> DQ -> two 1x1 stride-2 Convs (and optionally a third conv) -> Add."""
    rng = np.random.default_rng(0)
    h = onnx.helper
    inits = [
        numpy_helper.from_array(np.array(0.05, np.float32), "s"),
        numpy_helper.from_array(np.array(3, np.uint8), "zp"),
        numpy_helper.from_array(rng.standard_normal((6, 4, 1, 1)).astype(np.float32), "wa"),
        numpy_helper.from_array(rng.standard_normal((6, 4, 1, 1)).astype(np.float32), "wb"),
    ]
    nodes = [
        h.make_node("Relu", ["x"], ["r"]),
        h.make_node("QuantizeLinear", ["r", "s", "zp"], ["q"]),
        h.make_node("DequantizeLinear", ["q", "s", "zp"], ["d"]),
        h.make_node("Conv", ["d", "wa"], ["a"], kernel_shape=[1, 1], strides=[2, 2]),
        h.make_node("Conv", ["d", "wb"], ["b"], kernel_shape=[1, 1], strides=[2, 2]),
        h.make_node("Add", ["a", "b"], ["y"]),
    ]
    if third_kernel:
        k = third_kernel
        w = rng.standard_normal((6, 4, k, k)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, "wc"))
        pads = [k // 2] * 4
        nodes.append(
            h.make_node("Conv", ["d", "wc"], ["c"], kernel_shape=[k, k], strides=[2, 2], pads=pads)
        )
        nodes[-2] = h.make_node("Add", ["a", "b"], ["ab"])
        nodes.append(h.make_node("Add", ["ab", "c"], ["y"]))
    graph = h.make_graph(
        nodes,
        "strided",
        [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 4, 9, 9])],
        [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, 6, 5, 5])],
        inits,
    )
    return h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])


def test_a_stride_on_1x1_convolutions_becomes_an_8_bit_slice() -> None:
    model = strided_qdq()
    placed, added = slice_before_strided_pointwise(model)
    assert added == 1
    onnx.checker.check_model(placed)
    g = Graph(placed)
    (sliced,) = g.ops("Slice")
    assert g.producer[sliced.input[0]].op_type == "QuantizeLinear"  # on the 8-bit tensor
    assert list(g.consts[sliced.input[4]]) == [2, 2]
    for conv in g.ops("Conv"):
        assert g.producer[conv.input[0]].input[0] == sliced.output[0]
        strides = next(a for a in conv.attribute if a.name == "strides")
        assert list(strides.ints) == [1, 1]
    assert len(g.ops("DequantizeLinear")) == 1
    x = {"x": np.random.default_rng(1).standard_normal((2, 4, 9, 9)).astype(np.float32)}
    before = make_session(model, "cpu", threads=1).run(None, x)[0]
    after = make_session(placed, "cpu", threads=1).run(None, x)[0]
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-5)


def test_no_slice_where_another_reader_needs_the_full_tensor() -> None:
    placed, added = slice_before_strided_pointwise(strided_qdq(third_kernel=3))
    assert added == 0 and not Graph(placed).ops("Slice")


def test_sites_are_stacked_where_the_producer_reduction_is_small() -> None:
    """allcnn_like's first conv reduces 3 x 3x3 = 27 inputs per output, the second reads
    the first site's 2 x 8 channels (144), the third 2 x 16 (288): the limit decides,
    site by site."""
    import onnx_ir as ir

    from linkedonnx.passes.optimize import prepare

    prepared, _ = prepare(allcnn_like("relu", widths=(8, 16, 16)), True, False)
    sites = stacked_sites(prepared)
    assert STACK_REDUCTION >= 27 and len(sites) == 1 and set(sites.values()) == {"stacked"}
    assert len(stacked_sites(prepared, limit=26)) == 0
    assert len(stacked_sites(prepared, limit=143)) == 1
    assert len(stacked_sites(prepared, limit=144)) == 2
    assert len(stacked_sites(prepared, limit=288)) == 3
    assert isinstance(prepared, ir.Model)


def test_the_mixed_form_stacks_the_light_site_and_keeps_the_others_inline() -> None:
    """The stacked site: one Conv with [W; -W] whose output is quantized directly (u8,
    zero point 0, ReLU folded into the quantization) -- no Neg, no Concat; the other
    sites keep the inline placement. Numerically as close to the float model as the
    inline form."""
    model = allcnn_like("relu")
    ov, report = quantize(model, signed_batches(), isa=VNNI, provider="openvino")
    inline, _ = quantize(model, signed_batches(), isa=VNNI, provider="openvino", form="inline")
    assert asymmetric_conv_inputs(ov) == []
    g = Graph(ov)
    assert len(g.ops("Concat")) == 2 and len(g.ops("Neg")) == 2
    assert report.layout["conv output kept float for OpenVINO"] == 2
    first = g.ops("Conv")[0]
    weight = g.consts[g.producer[first.input[1]].input[0]]
    assert weight.shape[0] == 16  # 8 channels stacked with their negation
    scale = g.consts[g.producer[first.input[1]].input[1]]
    w = weight.astype(np.float32) * scale.reshape(-1, 1, 1, 1)
    np.testing.assert_allclose(w[8:], -w[:8], atol=1.01 * float(scale.max()))
    (reader,) = g.consumers[first.output[0]]
    if reader.op_type == "Relu":  # ORT's quantizer may keep it; OpenVINO fuses either way
        (reader,) = g.consumers[reader.output[0]]
    _, zero, dtype = g.params(reader)
    assert reader.op_type == "QuantizeLinear" and zero == 0 and dtype == np.uint8
    x = signed_batches(3)
    ref = make_session(model, "cpu", threads=1)
    mixed_s, inline_s = make_session(ov, "cpu", threads=1), make_session(inline, "cpu", threads=1)
    for b in x:
        r = ref.run(None, b)[0]
        err_mixed = np.abs(mixed_s.run(None, b)[0] - r).mean()
        err_inline = np.abs(inline_s.run(None, b)[0] - r).mean()
        assert err_mixed <= 1.5 * err_inline + 1e-6
    check_close(model, ov)
