"""Units of the quantize package: CPU flags, the integer Relu rewrite, calibration
batches, freezing weights out of the inputs; and that it never imports torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import onnx_ir as ir
import pytest
from onnx import TensorProto, helper, numpy_helper

from linkedonnx.errors import BadInputError
from linkedonnx.quantize.calibration import BatchReader, float_inputs
from linkedonnx.quantize.freeze import freeze_initializer_inputs
from linkedonnx.quantize.integer_relu import IntegerReluPass
from linkedonnx.quantize.isa import cpu_flags, detect
from linkedonnx.runtime.inputs import signature
from linkedonnx.runtime.session import make_session

X86 = "processor\t: 0\nflags\t\t: fpu sse4_1 avx2 fma avx512f avx512_vnni\n"
ARM = "processor\t: 0\nFeatures\t: fp asimd asimddp i8mm\n"


def test_cpu_flags_and_what_they_decide() -> None:
    assert {"avx2", "avx512_vnni"} <= cpu_flags(X86)
    assert "i8mm" in cpu_flags(ARM) and cpu_flags("nothing here") == set()
    vnni = detect(cpu_flags(X86), "x86_64")
    assert vnni.vnni and not vnni.reduce_range
    assert vnni.flags == ("sse4_1", "avx2", "avx512f", "avx512_vnni")
    avx2 = detect({"avx2", "fma"}, "x86_64")
    assert avx2.reduce_range and "reduce_range" in avx2.describe()
    assert not detect(cpu_flags(ARM), "aarch64").reduce_range


def qdq_relu(zero_after: int) -> onnx.ModelProto:
    """x -> Q -> DQ -> Relu -> Q -> DQ -> y (u8; scale 0.1, zero points 100 and ``zero_after``)."""
    init = [
        numpy_helper.from_array(np.array(0.1, np.float32), "s"),
        numpy_helper.from_array(np.array(100, np.uint8), "z0"),
        numpy_helper.from_array(np.array(zero_after, np.uint8), "z1"),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z0"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "s", "z0"], ["xd"]),
        helper.make_node("Relu", ["xd"], ["r"], name="relu"),
        helper.make_node("QuantizeLinear", ["r", "s", "z1"], ["rq"]),
        helper.make_node("DequantizeLinear", ["rq", "s", "z1"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 5])],
        init,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])


def test_integer_relu_is_exact_and_only_where_parameters_agree() -> None:
    model = qdq_relu(100)
    x = {"x": np.random.default_rng(0).uniform(-12, 12, (4, 5)).astype(np.float32)}
    before = make_session(model, "cpu").run(None, x)[0]
    step = IntegerReluPass()
    out = ir.to_proto(step(ir.from_proto(model)).model)
    assert step.counts["integer relu"] == 1
    assert [n.op_type for n in out.graph.node] == ["QuantizeLinear", "Clip", "DequantizeLinear"]
    assert np.array_equal(make_session(out, "cpu").run(None, x)[0], before)
    other = IntegerReluPass()
    result = other(ir.from_proto(qdq_relu(0)))
    assert not result.modified and not other.counts


def qdq_concat(zero_out: int) -> onnx.ModelProto:
    """Two inputs quantized (scale 0.1, zero point 0), concatenated in float, quantized
    again with zero point ``zero_out`` and dequantized."""
    init = [
        numpy_helper.from_array(np.array(0.1, np.float32), "s"),
        numpy_helper.from_array(np.array(0, np.uint8), "z0"),
        numpy_helper.from_array(np.array(zero_out, np.uint8), "z1"),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["a", "s", "z0"], ["aq"]),
        helper.make_node("QuantizeLinear", ["b", "s", "z0"], ["bq"]),
        helper.make_node("DequantizeLinear", ["aq", "s", "z0"], ["ad"]),
        helper.make_node("DequantizeLinear", ["bq", "s", "z0"], ["bd"]),
        helper.make_node("Concat", ["ad", "bd"], ["c"], axis=1, name="cat"),
        helper.make_node("QuantizeLinear", ["c", "s", "z1"], ["cq"]),
        helper.make_node("DequantizeLinear", ["cq", "s", "z1"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3]) for n in "ab"],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 6])],
        init,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])


def test_integer_concat_is_exact_and_only_where_parameters_agree() -> None:
    from linkedonnx.quantize.integer_concat import IntegerConcatPass

    model = qdq_concat(0)
    rng = np.random.default_rng(1)
    x = {n: rng.uniform(-2, 30, (2, 3)).astype(np.float32) for n in "ab"}
    before = make_session(model, "cpu").run(None, x)[0]
    step = IntegerConcatPass()
    out = ir.to_proto(step(ir.from_proto(model)).model)
    assert step.counts["integer concat"] == 1
    ops = [n.op_type for n in out.graph.node]
    assert ops.count("Concat") == 1 and ops.count("DequantizeLinear") == 1
    assert np.array_equal(make_session(out, "cpu").run(None, x)[0], before)
    assert not IntegerConcatPass()(ir.from_proto(qdq_concat(3))).modified


def test_concat_z_is_one_conv_over_relu_and_z_exact_in_float() -> None:
    from linkedonnx.quantize.static import concat_z, lower_for_int8
    from tests.passes.lowering_graphs import allcnn_like

    lowered, counts = lower_for_int8(allcnn_like("relu"), "split")
    assert counts == {"relu:split": 3}
    joined = concat_z(lowered)
    ops = [n.op_type for n in joined.graph.node]
    assert "Add" not in ops and ops.count("Concat") == 3 and ops.count("Conv") == 4
    x = {"x": np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)}
    before = make_session(lowered, "cpu").run(None, x)[0]
    after = make_session(joined, "cpu").run(None, x)[0]
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-5)
    assert len(joined.graph.initializer) < len(lowered.graph.initializer)


def test_batch_reader_checks_batches_and_counts_samples() -> None:
    model = qdq_relu(100)
    inputs = signature(model)
    seen = []
    good = [{"x": np.zeros((4, 5), np.float32)}] * 3
    reader = BatchReader(good, inputs, lambda done, total: seen.append((done, total)))
    while reader.get_next() is not None:
        pass
    assert reader.samples == 12 and seen[-1] == (12, 12)
    for bad in ({"y": np.zeros((4, 5), np.float32)}, {"x": np.zeros((4, 5), np.float64)},
                {"x": np.zeros((4, 6), np.float32)}, {"x": np.zeros((0, 5), np.float32)}):  # fmt: skip
        with pytest.raises(BadInputError):
            BatchReader([bad], inputs).get_next()


def test_a_model_without_float_input_cannot_be_calibrated() -> None:
    graph = helper.make_graph(
        [helper.make_node("Cast", ["i"], ["o"], to=TensorProto.FLOAT)],
        "g",
        [helper.make_tensor_value_info("i", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("o", TensorProto.FLOAT, [2])],
    )
    with pytest.raises(BadInputError, match="no float32 input"):
        float_inputs(helper.make_model(graph))


def test_freeze_moves_weights_out_of_the_inputs() -> None:
    model = qdq_relu(100)
    model.graph.input.append(helper.make_tensor_value_info("s", TensorProto.FLOAT, []))
    frozen, moved = freeze_initializer_inputs(model)
    assert moved == ["s"] and [i.name for i in frozen.graph.input] == ["x"]
    assert len(model.graph.input) == 2  # the original is left alone
    assert freeze_initializer_inputs(frozen) == (frozen, [])


def test_the_quantize_modules_and_command_never_import_torch() -> None:
    code = (
        "import sys\n"
        "import linkedonnx.quantize, linkedonnx.quantize.file\n"
        "import linkedonnx.quantize.integer_relu, linkedonnx.quantize.linked_groups\n"
        "import linkedonnx_cli.commands.quantize\n"
        "import numpy as np\n"
        "from tests.passes.lowering_graphs import allcnn_like\n"
        "x = [{'x': np.ones((2, 3, 8, 8), np.float32)}]\n"
        "linkedonnx.quantize.quantize(allcnn_like('relu'), x)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
