"""The shared-scale structure of a linked-aware INT8 model, checked on the QDQ graph for
each lowering form, and its outputs against the float model."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from linkedonnx.quantize import METADATA_KEY, quantize
from linkedonnx.quantize.isa import detect
from linkedonnx.runtime.session import make_session
from tests.passes.lowering_graphs import allcnn_like

VNNI = detect({"avx2", "avx512_vnni"}, "x86_64")


def batches(count: int = 6, seed: int = 1) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [{"x": rng.uniform(0, 1, (2, 3, 8, 8)).astype(np.float32)} for _ in range(count)]


def run_quantize(kind: str, form: str | None, **kw):
    model = allcnn_like(kind)
    return model, *quantize(model, batches(), form=form, isa=VNNI, **kw)


class Graph:
    """Producers, consumers and constants of a QDQ model."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self.nodes = list(model.graph.node)
        self.consts = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
        self.producer = {o: n for n in self.nodes for o in n.output}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for n in self.nodes:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)

    def params(self, node: onnx.NodeProto) -> tuple[float, int, np.dtype]:
        """(scale, zero point, 8-bit dtype) of a per-tensor Q or DQ node."""
        scale, zero = self.consts[node.input[1]], self.consts[node.input[2]]
        return float(scale), int(zero), zero.dtype

    def quantizers(self, tensor: str) -> list[onnx.NodeProto]:
        return [n for n in self.consumers.get(tensor, []) if n.op_type == "QuantizeLinear"]

    def q8_params(self, tensor: str) -> tuple[float, int, np.dtype]:
        """Parameters of an 8-bit tensor: those of the QuantizeLinear that made it (through
        an integer Clip or Concat, which keep them)."""
        node = self.producer[tensor]
        while node.op_type in ("Clip", "Concat"):
            node = self.producer[node.input[0]]
        assert node.op_type == "QuantizeLinear", node.op_type
        return self.params(node)

    def integer_concat(self, concat: onnx.NodeProto) -> tuple[float, int, np.dtype]:
        """Check ``concat`` joins 8-bit tensors of one scale and zero point and that every
        reader dequantizes it with them (a copy, nothing requantized); return them."""
        first, *others = (self.q8_params(i) for i in concat.input)
        assert all(other == first for other in others)
        readers = self.consumers[concat.output[0]]
        assert readers and all(
            r.op_type == "DequantizeLinear" and self.params(r) == first for r in readers
        )
        return first

    def ops(self, op: str) -> list[onnx.NodeProto]:
        return [n for n in self.nodes if n.op_type == op]


def outputs(model: onnx.ModelProto) -> np.ndarray:
    session = make_session(model, "cpu", threads=1)
    return np.concatenate([session.run(None, b)[0] for b in batches()])


def check_close(float_model: onnx.ModelProto, int8_model: onnx.ModelProto) -> None:
    ref, got = outputs(float_model), outputs(int8_model)
    assert np.abs(got - ref).max() <= 0.1 * np.abs(ref).max()


def test_inline_relu_halves_and_concat_share_one_unsigned_scale() -> None:
    model, q, report = run_quantize("relu", "inline")
    g = Graph(q)
    concats = g.ops("Concat")
    assert len(concats) == 3 and report.shared_ranges == 3
    for concat in concats:
        _, zero, dtype = g.integer_concat(concat)
        assert zero == 0 and dtype == np.uint8
    check_close(model, q)


def test_dw_relu_halves_share_one_unsigned_scale() -> None:
    model, q, report = run_quantize("relu", "dw")
    g = Graph(q)
    assert report.lowered.get("relu:dw") == 3 and report.shared_ranges == 3
    negations = [
        n for n in g.ops("Conv") if g.consts[g.producer[n.input[1]].input[0]].shape[1:] == (1, 1, 1)
    ]
    assert len(negations) == 3
    for neg in negations:
        (negative,) = g.quantizers(neg.output[0])  # relu(-z): its Relu folded away
        z_quantized = g.producer[neg.input[0]].input[0]
        readers = [
            r
            for d in g.consumers[z_quantized]
            for r in g.consumers.get(d.output[0], [])
            if r.op_type == "Relu"
        ]
        (positive,) = g.quantizers(readers[0].output[0])
        assert g.params(negative) == g.params(positive)
        assert g.params(positive)[1] == 0 and g.params(positive)[2] == np.uint8
    check_close(model, q)


def test_split_z_has_one_quantizer_and_its_relu_runs_on_the_8_bit_tensor() -> None:
    model, q, report = run_quantize("relu", "split")
    g = Graph(q)
    assert report.lowered == {"relu:split": 3}
    clips = g.ops("Clip")
    assert len(clips) == 3 and report.layout.get("integer relu") == 3
    for clip in clips:
        quantizer = g.producer[clip.input[0]]
        assert quantizer.op_type == "QuantizeLinear"
        z = quantizer.input[0]
        assert len(g.quantizers(z)) == 1  # one scale for every consumer of z
        scale, zero, dtype = g.params(quantizer)
        assert int(g.consts[clip.input[1]]) == zero and int(g.consts[clip.input[2]]) == 255
        (concat,) = g.consumers[clip.output[0]]  # relu(z) joins z, both on z's parameters
        assert concat.op_type == "Concat"
        assert list(concat.input) == [clip.output[0], quantizer.output[0]]
        assert g.integer_concat(concat) == (scale, zero, dtype)
    # one conv over [relu(z), z] per site: no Add, no QLinearAdd
    assert not g.ops("Add") and len(g.ops("Conv")) == 4 and len(g.ops("Concat")) == 3
    check_close(model, q)


def test_stacked_has_one_quantizer_per_stacked_producer() -> None:
    model, q, report = run_quantize("relu", "stacked")
    g = Graph(q)
    assert report.lowered == {"relu:stacked": 3}
    assert not g.ops("Concat") and not g.ops("Neg") and not g.ops("Relu")
    convs = g.ops("Conv")
    for conv in convs[:-1]:
        (qnode,) = g.quantizers(conv.output[0])
        assert g.params(qnode)[1] == 0  # relu folded: unsigned, zero point 0
    check_close(model, q)


def test_prelu_halves_share_one_scale_with_a_zero_point() -> None:
    model, q, report = run_quantize("prelu", "inline")
    g = Graph(q)
    assert report.shared_ranges == 3
    zeros = {g.integer_concat(concat)[1] for concat in g.ops("Concat")}
    assert zeros != {0}
    check_close(model, q)


def test_selu_stays_float_between_dq_and_q_and_the_report_says_so() -> None:
    model, q, report = run_quantize("selu", None)
    assert "Selu" in report.float_ops
    assert any(n.startswith("LK-SELU: Selu stay") for n in report.notes)
    check_close(model, q)


def test_swish_halves_share_one_range_and_the_report_says_where_it_runs() -> None:
    model, q, report = run_quantize("swish", "dw")
    assert report.shared_ranges == 3
    (note,) = [n for n in report.notes if n.startswith("LK-Swish")]
    assert ("stay float" in note) == bool({"Sigmoid", "Mul"} & set(report.float_ops))
    check_close(model, q)


def test_a_model_without_linked_activation_is_quantized_the_stock_way() -> None:
    model, q, report = run_quantize("plain", None)
    assert not report.linked and report.shared_ranges == 0 and report.form is None
    assert any("stock" in note for note in report.notes)
    assert Graph(q).ops("QuantizeLinear")
    check_close(model, q)


def test_reduce_range_follows_the_cpu_and_the_metadata_records_its_flags() -> None:
    avx2 = detect({"avx2", "fma"}, "x86_64")
    assert avx2.reduce_range and not avx2.vnni
    assert not VNNI.reduce_range and not detect({"asimd"}, "aarch64").reduce_range
    model = allcnn_like("relu")
    q, report = quantize(model, batches(), isa=avx2)
    assert report.reduce_range and report.isa.flags == ("avx2",)
    weights = [
        numpy_helper.to_array(i)
        for i in q.graph.initializer
        if i.data_type == onnx.TensorProto.INT8
    ]
    assert weights and all(w.min() >= -64 and w.max() <= 64 for w in weights)
    meta = {p.key: p.value for p in q.metadata_props}
    recorded = json.loads(meta[METADATA_KEY])
    assert recorded["cpu_flags"] == ["avx2"] and recorded["reduce_range"] is True
    full, _ = quantize(model, batches(), isa=VNNI)
    full_weights = [
        numpy_helper.to_array(i)
        for i in full.graph.initializer
        if i.data_type == onnx.TensorProto.INT8
    ]
    assert max(int(np.abs(w.astype(np.int32)).max()) for w in full_weights) > 64


def test_tune_times_every_form_and_keeps_one() -> None:
    model = allcnn_like("relu")
    q, report = quantize(model, batches(), tune=True, tune_batch=2, isa=VNNI)
    assert set(report.tuning) == {"auto", "split", "dw", "stacked", "inline"}
    assert report.form == min(report.tuning, key=report.tuning.get)
    check_close(model, q)


@pytest.mark.parametrize("method", ["entropy", "percentile"])
def test_other_calibration_methods_and_per_tensor_weights(method: str) -> None:
    _, q, report = run_quantize("relu", "split", method=method, per_channel=False)
    assert report.method == method and not report.per_channel
    recorded = json.loads({p.key: p.value for p in q.metadata_props}[METADATA_KEY])
    assert recorded["method"] == method and recorded["per_channel"] is False
    g = Graph(q)
    weight_scales = [
        g.consts[n.input[1]] for n in g.ops("DequantizeLinear") if n.input[0] in g.consts
    ]
    assert weight_scales and all(s.size == 1 for s in weight_scales)  # one scale per tensor
    assert np.isfinite(outputs(q)).all()


def test_a_flat_model_is_converted_first_and_quantized_linked_aware() -> None:
    from linkedonnx.quantize.static import lower_for_int8

    flat, _ = lower_for_int8(allcnn_like("relu"), "inline")  # Relu, Neg, Relu, Concat
    assert not [n for n in flat.graph.node if n.domain]
    q, report = quantize(flat, batches(), isa=VNNI)
    assert report.linked and report.lowered == {"relu:split": 3}
    assert report.layout.get("integer concat") == 3
    check_close(flat, q)


def test_the_report_names_the_form_used_and_counts_split_sites_as_shared() -> None:
    """Issue 28.4: the default form is reported as the form the model was lowered to
    (not 'auto'), split sites count as shared ranges, and layout labels hold no comma
    (the printed report joins them with commas)."""
    _, _, default = run_quantize("relu", None)
    used = {key.split(":", 1)[1] for key in default.lowered}
    assert default.form == "+".join(sorted(used)) and default.form != "auto"
    _, _, split = run_quantize("relu", "split")
    assert split.form == "split" and split.shared_ranges == 3
    assert split.layout and not any("," in label for label in split.layout)


def test_a_provider_is_where_tune_times() -> None:
    from linkedonnx.errors import BadInputError

    with pytest.raises(BadInputError, match="unknown provider 'tpu'"):
        quantize(allcnn_like("relu"), batches(), tune=True, provider="tpu")
    with pytest.raises(BadInputError, match="--provider cuda picks where --tune times"):
        quantize(allcnn_like("relu"), batches(), provider="cuda")
