"""Bias correction: a QDQ model whose weights were rounded up (a quantization error that
does not average out) gets biases that bring each channel's mean output back to the
float model's, measured with ONNX Runtime before and after."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from linkedonnx.errors import BadInputError
from linkedonnx.quantize import METADATA_KEY, quantize
from linkedonnx.quantize.bias_correction import bias_sites, channel_means, correct_biases
from linkedonnx.runtime.session import make_session
from tests.passes.lowering_graphs import allcnn_like
from tests.quantize.test_structure import VNNI, batches

RNG = np.random.default_rng(0)
W1 = RNG.normal(0, 0.3, (6, 3, 3, 3)).astype(np.float32)
B1 = RNG.normal(0, 0.1, 6).astype(np.float32)
W2 = RNG.normal(0, 0.3, (24, 4)).astype(np.float32)  # Gemm over the flattened conv output
B2 = RNG.normal(0, 0.1, 4).astype(np.float32)
WEIGHT_SCALE = 0.05  # coarse: rounding up moves every weight by up to a whole step


def _model(nodes: list, inits: list) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])


def float_model() -> onnx.ModelProto:
    """Conv(3x3, valid) -> Relu -> Flatten -> Gemm."""
    inits = [numpy_helper.from_array(a, n) for a, n in ((W1, "w1"), (B1, "b1"), (W2, "w2"))]
    inits.append(numpy_helper.from_array(B2, "b2"))
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c"]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Flatten", ["r"], ["f"]),
        helper.make_node("Gemm", ["f", "w2", "b2"], ["y"]),
    ]
    return _model(nodes, inits)


def biased_qdq_model() -> onnx.ModelProto:
    """The float model with int8 weights rounded up (ceil) and int32 biases behind
    DequantizeLinear, as ONNX Runtime's QDQ quantizer lays them out."""
    inits, nodes = [], []
    for w, b, name in ((W1, B1, "1"), (W2, B2, "2")):
        inits += [
            numpy_helper.from_array(np.ceil(w / WEIGHT_SCALE).astype(np.int8), f"w{name}_q"),
            numpy_helper.from_array(np.array(WEIGHT_SCALE, np.float32), f"w{name}_s"),
            numpy_helper.from_array(np.round(b / 1e-4).astype(np.int32), f"b{name}_q"),
            numpy_helper.from_array(np.array(1e-4, np.float32), f"b{name}_s"),
        ]
        nodes += [
            helper.make_node("DequantizeLinear", [f"w{name}_q", f"w{name}_s"], [f"w{name}"]),
            helper.make_node("DequantizeLinear", [f"b{name}_q", f"b{name}_s"], [f"b{name}"]),
        ]
    nodes += [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c"]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Flatten", ["r"], ["f"]),
        helper.make_node("Gemm", ["f", "w2", "b2"], ["y"]),
    ]
    return _model(nodes, inits)


def data(count: int, seed: int) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [{"x": rng.uniform(0, 1, (16, 3, 4, 4)).astype(np.float32)} for _ in range(count)]


def mean_errors(model: onnx.ModelProto, reference: onnx.ModelProto, feeds: list) -> np.ndarray:
    """|per-channel mean of (model - reference)| of the conv output (channel axis 1) and
    the Gemm output (axis 1), joined."""
    errors = []
    for name, axis in (("c", 1), ("y", 1)):
        got = channel_means(model, [name], [axis], feeds)[0]
        want = channel_means(reference, [name], [axis], feeds)[0]
        errors.append(np.abs(got - want))
    return np.concatenate(errors)


def test_sites_are_the_int32_biases_behind_dequantize_linear() -> None:
    sites = bias_sites(biased_qdq_model(), float_model())
    assert [(s.output, s.reference, s.axis, s.bias, s.scale) for s in sites] == [
        ("c", "c", 1, "b1_q", "b1_s"),
        ("y", "y", -1, "b2_q", "b2_s"),
    ]
    assert bias_sites(float_model(), float_model()) == []  # float biases: nothing to move


def test_corrected_biases_shrink_every_channels_mean_error_on_unseen_data() -> None:
    reference, biased = float_model(), biased_qdq_model()
    corrected, report = correct_biases(reference, biased, data(8, seed=1))
    assert set(report.corrected) == {"c", "y"} and not report.skipped
    held_out = data(8, seed=2)
    before = mean_errors(biased, reference, held_out)
    after = mean_errors(corrected, reference, held_out)
    assert before.min() > 0.05  # the rounding-up error is there, in every channel
    assert np.all(after < 0.25 * before), (before, after)
    inits = {i.name: numpy_helper.to_array(i) for i in corrected.graph.initializer}
    assert inits["b1_q"].dtype == np.int32 and inits["w1_q"].dtype == np.int8  # still QDQ
    x = held_out[0]
    full = make_session(corrected, "cpu").run(None, x)[0]
    want = make_session(reference, "cpu").run(None, x)[0]
    plain = make_session(biased, "cpu").run(None, x)[0]
    assert np.abs(full - want).mean() < np.abs(plain - want).mean()


def test_no_batch_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="at least one calibration batch"):
        correct_biases(float_model(), biased_qdq_model(), [])


def test_quantize_corrects_by_default_records_it_and_can_be_turned_off() -> None:
    model = allcnn_like("relu")
    q, report = quantize(model, batches(), isa=VNNI)
    assert report.bias_correction and len(report.bias_corrected) == 4  # 3 convs + the 1x1
    recorded = json.loads({p.key: p.value for p in q.metadata_props}[METADATA_KEY])
    assert recorded["bias_correction"] == 4
    plain, off = quantize(model, batches(), isa=VNNI, bias_correction=False)
    assert not off.bias_correction and not off.bias_corrected
    recorded = json.loads({p.key: p.value for p in plain.metadata_props}[METADATA_KEY])
    assert recorded["bias_correction"] is False
    moved = [
        name
        for name, arr in ((i.name, numpy_helper.to_array(i)) for i in q.graph.initializer)
        if arr.dtype == np.int32
        and not np.array_equal(
            arr, numpy_helper.to_array(next(j for j in plain.graph.initializer if j.name == name))
        )
    ]
    assert moved  # some int32 bias really moved


def test_a_relu_that_ort_dropped_is_matched_on_its_float_input() -> None:
    """ONNX Runtime's QDQ quantizer may drop Conv -> Relu's Relu (its u8 quantizer clamps)
    and name the Conv's output after the Relu's: the float tensor to match is then the
    Relu's input, not its output."""
    dropped = biased_qdq_model()
    nodes = [n for n in dropped.graph.node if n.op_type != "Relu"]
    conv = next(n for n in nodes if n.op_type == "Conv")
    conv.output[0] = "r"
    del dropped.graph.node[:]
    dropped.graph.node.extend(nodes)
    site = bias_sites(dropped, float_model())[0]
    assert (site.output, site.reference) == ("r", "c")
