"""The read step of convert, optimize and quantize (linkedonnx.onnx_read): old opsets
upgraded and checked with ONNX Runtime, IR 3 initializers read as constants, the file
written unchanged where the upgrade stops, what the passes do not understand passed
through untouched, and validate running the file as given."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from linkedonnx.errors import BadInputError
from linkedonnx.functions import count_linked_nodes
from linkedonnx.onnx_io import overridable_initializers
from linkedonnx.onnx_read import read_model
from linkedonnx.passes.convert import convert_file
from linkedonnx.passes.optimize import optimize_file
from linkedonnx.runtime.inputs import signature
from linkedonnx.validate import validate
from tests.cli.invoke import run_cli

FLOAT = TensorProto.FLOAT


def _ir3_crelu_model() -> onnx.ModelProto:
    """The classic-CNN shape at opset 9, IR 3 (every initializer also a graph input):
    Conv -> BatchNormalization -> Concat(Relu(z), Relu(Neg(z))) -> Conv."""
    rng = np.random.default_rng(0)
    weights = {
        "w1": rng.standard_normal((4, 3, 3, 3)) * 0.3,
        "b1": rng.standard_normal(4) * 0.1,
        "scale": rng.uniform(0.5, 1.5, 4),
        "shift": rng.standard_normal(4) * 0.1,
        "mean": rng.standard_normal(4) * 0.1,
        "var": rng.uniform(0.5, 1.5, 4),
        "w2": rng.standard_normal((5, 8, 1, 1)) * 0.3,
    }
    inits = [numpy_helper.from_array(v.astype(np.float32), k) for k, v in weights.items()]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "scale", "shift", "mean", "var"], ["z"]),
        helper.make_node("Relu", ["z"], ["pos"]),
        helper.make_node("Neg", ["z"], ["negz"]),
        helper.make_node("Relu", ["negz"], ["neg"]),
        helper.make_node("Concat", ["pos", "neg"], ["cat"], axis=1),
        helper.make_node("Conv", ["cat", "w2"], ["y"]),
    ]
    inputs = [helper.make_tensor_value_info("x", FLOAT, [1, 3, 6, 6])] + [
        helper.make_tensor_value_info(t.name, FLOAT, list(t.dims)) for t in inits
    ]
    graph = helper.make_graph(
        nodes, "classic", inputs, [helper.make_tensor_value_info("y", FLOAT, [1, 5, 6, 6])], inits
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)])
    model.ir_version = 3
    onnx.checker.check_model(model, full_check=True)
    return model


def _run(model: onnx.ModelProto | Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    data = model if isinstance(model, Path) else model.SerializeToString()
    path_or_bytes = str(data) if isinstance(data, Path) else data
    return ort.InferenceSession(path_or_bytes, providers=["CPUExecutionProvider"]).run(None, feeds)


@pytest.fixture
def ir3_file(tmp_path: Path) -> Path:
    path = tmp_path / "classic.onnx"
    onnx.save(_ir3_crelu_model(), path)
    return path


def _feeds() -> dict[str, np.ndarray]:
    return {"x": np.random.default_rng(1).standard_normal((1, 3, 6, 6)).astype(np.float32)}


def test_opset9_ir3_converts_to_one_linked_function_and_optimizes_with_bn_folded(
    ir3_file: Path, tmp_path: Path
) -> None:
    expected = _run(ir3_file, _feeds())
    linked, fast = tmp_path / "linked.onnx", tmp_path / "fast.onnx"
    report_json = tmp_path / "convert.json"
    converted, report = convert_file(ir3_file, linked, report_json)
    assert count_linked_nodes(converted) == {"LinkedRelu": 1}
    read = report.steps[0]
    assert read.name == "Read"
    assert read.counts["upgraded opset 9 -> 17"] == 1
    assert read.counts["IR 3 initializer read as constant w1"] == 1
    data = json.loads(report_json.read_text())
    assert data["steps"][0]["counts"]["upgraded opset 9 -> 17"] == 1
    written = onnx.load(linked)
    assert written.ir_version >= 8  # what opset 17 needs
    assert [v.name for v in written.graph.input] == ["x"]  # no initializer left as input
    onnx.checker.check_model(written, full_check=True)
    np.testing.assert_allclose(_run(linked, _feeds())[0], expected[0], rtol=1e-5, atol=1e-5)

    optimized, _ = optimize_file(ir3_file, fast)
    ops = {n.op_type for n in optimized.graph.node}
    assert "BatchNormalization" not in ops
    assert ops <= {"Conv", "Relu", "Neg", "Concat", "Min", "Add"}
    np.testing.assert_allclose(_run(fast, _feeds())[0], expected[0], rtol=1e-5, atol=1e-5)


def test_ir3_initializers_are_constants_not_inputs(ir3_file: Path) -> None:
    given = onnx.load(ir3_file)
    assert overridable_initializers(given) == []
    assert [s.name for s in signature(given)] == ["x"]  # as ONNX Runtime reads it
    session = ort.InferenceSession(str(ir3_file), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["x"]
    as_ir4 = onnx.ModelProto()
    as_ir4.CopyFrom(given)
    as_ir4.ir_version = 4
    assert overridable_initializers(as_ir4) == ["w1", "b1", "scale", "shift", "mean", "var", "w2"]


def test_validate_runs_the_ir3_file_as_given(ir3_file: Path) -> None:
    report = validate(ir3_file, reference=str(ir3_file))
    assert report.passed
    assert report.ignored_inputs == [] and report.perturbed == []
    assert report.inputs == ["x float32[1, 3, 6, 6]"]


def test_a_failing_upgrade_writes_the_file_unchanged_and_says_why(
    ir3_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(model: onnx.ModelProto, target: int) -> onnx.ModelProto:
        raise RuntimeError("No adapter for op BatchNormalization from version 9")

    monkeypatch.setattr(onnx.version_converter, "convert_version", refuse)
    out = tmp_path / "out.onnx"
    _, report = optimize_file(ir3_file, out)
    (line,) = [k for k in report.steps[0].counts if "skipped" in k]
    assert "BatchNormalization" in line and "cannot upgrade opset 9 -> 17" in line
    assert len(report.steps) == 1
    assert onnx.load(out) == onnx.load(ir3_file)


def test_an_upgrade_that_changes_the_outputs_stops_the_passes(
    ir3_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = onnx.version_converter.convert_version

    def wrong(model: onnx.ModelProto, target: int) -> onnx.ModelProto:
        upgraded = real(model, target)
        for node in upgraded.graph.node:
            if node.op_type == "Neg":
                node.op_type = "Abs"
        return upgraded

    monkeypatch.setattr(onnx.version_converter, "convert_version", wrong)
    read = read_model(ir3_file)
    assert read.stopped == "upgrading opset 9 -> 17 changes output 'y'"
    assert read.model is read.given
    converted, report = convert_file(ir3_file, tmp_path / "out.onnx")
    assert count_linked_nodes(converted) == {}
    assert any("changes output 'y'" in k for k in report.steps[0].counts)


def test_the_model_test_inputs_beside_it_check_the_upgrade(
    ir3_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = onnx.version_converter.convert_version

    def wrong_for_negative_x(model: onnx.ModelProto, target: int) -> onnx.ModelProto:
        upgraded = real(model, target)
        conv = next(n for n in upgraded.graph.node if n.op_type == "Conv")
        conv.input[0] = "x_relu"  # differs from the original only where x < 0
        upgraded.graph.node.insert(0, helper.make_node("Relu", ["x"], ["x_relu"]))
        return upgraded

    monkeypatch.setattr(onnx.version_converter, "convert_version", wrong_for_negative_x)
    folder = ir3_file.parent / "test_data_set_0"
    folder.mkdir()
    positive = np.abs(_feeds()["x"])
    (folder / "input_0.pb").write_bytes(numpy_helper.from_array(positive).SerializeToString())
    assert read_model(ir3_file).stopped is None  # the given inputs cannot tell
    (folder / "input_0.pb").unlink()
    assert read_model(ir3_file).stopped is not None  # seeded normal inputs can


def test_a_model_the_full_checker_rejects_is_bad_input(tmp_path: Path) -> None:
    model = _ir3_crelu_model()
    model.graph.output[0].type.tensor_type.elem_type = TensorProto.INT64
    onnx.checker.check_model(model)  # the plain check passes
    path = tmp_path / "bad.onnx"
    onnx.save(model, path)
    with pytest.raises(BadInputError, match="fails the ONNX checker"):
        read_model(path)


@pytest.mark.parametrize("command", ["convert", "optimize", "quantize"])
def test_the_commands_exit_2_on_a_model_the_checker_rejects(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = _ir3_crelu_model()
    model.graph.output[0].type.tensor_type.elem_type = TensorProto.INT64
    path = tmp_path / "bad.onnx"
    onnx.save(model, path)
    extra = ["--data", "synthetic", "--no-standardize"] if command == "quantize" else []
    code, out, err = run_cli(capsys, command, str(path), "-o", str(tmp_path / "o.onnx"), *extra)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "fails the ONNX checker" in err
    assert not (tmp_path / "o.onnx").exists()


def _passthrough_model() -> onnx.ModelProto:
    """Opset 17 with what the passes do not understand around a linked CReLU: a
    sequence, an optional, a string input, an If with subgraphs, an ai.onnx.ml op and a
    com.microsoft op."""
    x = helper.make_tensor_value_info("x", FLOAT, [2, 3])
    text = helper.make_tensor_value_info("text", TensorProto.STRING, [2])
    flag = helper.make_tensor_value_info("flag", TensorProto.BOOL, [])
    then_graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["t_out"])],
        "then",
        [],
        [helper.make_tensor_value_info("t_out", FLOAT, [2, 3])],
    )
    else_graph = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["e_neg"]), helper.make_node("Relu", ["e_neg"], ["e_out"])],
        "else",
        [],
        [helper.make_tensor_value_info("e_out", FLOAT, [2, 3])],
    )
    nodes = [
        helper.make_node("Relu", ["x"], ["pos"]),
        helper.make_node("Neg", ["x"], ["nx"]),
        helper.make_node("Relu", ["nx"], ["neg"]),
        helper.make_node("Concat", ["pos", "neg"], ["crelu"], axis=1),
        helper.make_node("SequenceConstruct", ["crelu", "x"], ["seq"]),
        helper.make_node("SequenceLength", ["seq"], ["seq_len"]),
        helper.make_node("Optional", ["x"], ["opt"]),
        helper.make_node("OptionalGetElement", ["opt"], ["opt_x"]),
        helper.make_node("StringNormalizer", ["text"], ["lower"], case_change_action="NONE"),
        helper.make_node(
            "If", ["flag"], ["branch"], then_branch=then_graph, else_branch=else_graph
        ),
        helper.make_node("Normalizer", ["opt_x"], ["ml"], domain="ai.onnx.ml", norm="L1"),
        helper.make_node("FastGelu", ["branch"], ["ms"], domain="com.microsoft"),
    ]
    outputs = [
        helper.make_tensor_value_info("crelu", FLOAT, [2, 6]),
        helper.make_tensor_value_info("seq_len", TensorProto.INT64, []),
        helper.make_tensor_value_info("lower", TensorProto.STRING, [2]),
        helper.make_tensor_value_info("ml", FLOAT, [2, 3]),
        helper.make_tensor_value_info("ms", FLOAT, [2, 3]),
    ]
    graph = helper.make_graph(nodes, "mixed", [x, text, flag], outputs)
    model = helper.make_model(
        graph,
        opset_imports=[
            helper.make_opsetid("", 17),
            helper.make_opsetid("ai.onnx.ml", 3),
            helper.make_opsetid("com.microsoft", 1),
        ],
    )
    model.ir_version = 8
    return model


def _subgraph_nodes(node: onnx.NodeProto) -> list[tuple[str, str, list[str], list[str]]]:
    """(branch, op_type, inputs, outputs) of each node in ``node``'s subgraphs."""
    return [
        (attr.name, n.op_type, list(n.input), list(n.output))
        for attr in node.attribute
        for n in attr.g.node
    ]


def test_what_the_passes_do_not_understand_passes_through(tmp_path: Path) -> None:
    source = tmp_path / "mixed.onnx"
    onnx.save(_passthrough_model(), source)
    feeds = {
        "x": np.random.default_rng(2).standard_normal((2, 3)).astype(np.float32),
        "text": np.array(["a", "b"], dtype=object),
        "flag": np.array(False),
    }
    expected = _run(source, feeds)
    kept = {
        "SequenceConstruct",
        "SequenceLength",
        "Optional",
        "OptionalGetElement",
        "StringNormalizer",
        "If",
        "Normalizer",
        "FastGelu",
    }
    for run, name in ((convert_file, "linked"), (optimize_file, "fast")):
        out = tmp_path / f"{name}.onnx"
        written, report = run(source, out)
        note = "subgraphs not searched for linked patterns (If)"
        assert report.steps[0].counts[note] == 1
        ops = [n.op_type for n in written.graph.node]
        assert kept <= set(ops)
        branch = next(n for n in written.graph.node if n.op_type == "If")
        given_if = next(n for n in _passthrough_model().graph.node if n.op_type == "If")
        assert _subgraph_nodes(branch) == _subgraph_nodes(given_if)  # not searched
        for got, want in zip(_run(out, feeds), expected, strict=True):
            np.testing.assert_array_equal(got, want)
    assert count_linked_nodes(onnx.load(tmp_path / "linked.onnx")) == {"LinkedRelu": 1}
