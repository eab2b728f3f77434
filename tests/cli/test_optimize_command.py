"""`linkedonnx optimize`: table, JSON, targets, fp16; bad input -> one line, exit 2,
nothing written, input untouched."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from linkedonnx.functions import count_linked_nodes
from tests.cli.invoke import exit_code
from tests.passes.graphs import random_feeds, run
from tests.passes.lowering_graphs import allcnn_like


@pytest.fixture()
def linked(tmp_path: Path) -> Path:
    path = tmp_path / "linked.onnx"
    onnx.save(allcnn_like("relu", bn=True), path)
    return path


def test_optimize_writes_plain_model_table_and_json(
    linked: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out, report = tmp_path / "out.onnx", tmp_path / "report.json"
    options = ("-o", str(out), "--json", str(report), "--no-tune")
    assert exit_code("optimize", str(linked), *options) == 0
    printed = capsys.readouterr().out
    assert "LowerForCpu" in printed and "relu:split" in printed and "FoldBatchNorm" in printed
    model = onnx.load(out)
    onnx.checker.check_model(model, full_check=True)
    assert not count_linked_nodes(model)
    data = json.loads(report.read_text())
    assert data["target"] == "cpu" and data["ops_before"]["LinkedRelu"] == 3
    assert "LinkedRelu" not in data["ops_after"]
    steps = {s["pass"]: s for s in data["steps"]}
    assert steps["LowerForCpu"]["counts"]["relu:split"] == 3
    assert steps["FoldBatchNorm"]["counts"]["folded"] == 3
    src = onnx.load(linked)
    feeds = random_feeds(src)
    np.testing.assert_allclose(run(model, feeds)[0], run(src, feeds)[0], atol=1e-5, rtol=1e-5)


def test_the_default_is_measured_once_then_cached(
    linked: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out, report = tmp_path / "out.onnx", tmp_path / "report.json"
    for how in ("measured", "cache hit"):
        assert exit_code("optimize", str(linked), "-o", str(out), "--json", str(report)) == 0
        assert f"{how} at batch 6" in capsys.readouterr().out
        steps = {s["pass"]: s for s in json.loads(report.read_text())["steps"]}
        assert f"{how} at batch 6" in steps["ChooseForms"]["counts"]
        meta = {p.key: p.value for p in onnx.load(out).metadata_props}
        assert json.loads(meta["linkedonnx.form_choice"])["choice"] == how


def test_optimize_cuda_fp16(linked: Path, tmp_path: Path) -> None:
    out = tmp_path / "half.onnx"
    assert exit_code("optimize", str(linked), "-o", str(out), "--target", "cuda", "--fp16") == 0
    model = onnx.load(out)
    assert model.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT
    assert TensorProto.FLOAT16 in {t.data_type for t in model.graph.initializer}


def _old_opset(path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)])
    model.ir_version = 7
    onnx.save(model, path)


def _fails_full_check(path: Path) -> None:
    """Accepted by the plain ONNX checker, not by its full check (y declared int64)."""
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    onnx.save(model, path)


def test_an_old_opset_is_upgraded(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src, out, js = tmp_path / "in.onnx", tmp_path / "out.onnx", tmp_path / "out.json"
    _old_opset(src)
    assert exit_code("optimize", str(src), "-o", str(out), "--json", str(js)) == 0
    assert "upgraded opset 9 -> 17" in capsys.readouterr().out
    written = onnx.load(out)
    assert written.opset_import[0].version == 17 and written.ir_version >= 8
    assert json.loads(js.read_text())["steps"][0]["pass"] == "Read"


def _ort_cannot_load(path: Path) -> None:
    """Valid ONNX that ONNX Runtime refuses: an op of an unknown custom domain."""
    graph = helper.make_graph(
        [helper.make_node("Mystery", ["x"], ["y"], domain="acme")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("acme", 1)]
    )
    model.ir_version = 10
    onnx.save(model, path)


def _external_missing(path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [64])],
        [numpy_helper.from_array(np.ones(64, np.float32), "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    onnx.save(model, path, save_as_external_data=True, location="w.bin", size_threshold=0)
    (path.parent / "w.bin").unlink()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b"\x00garbage\xff" * 10), "not"),
        (lambda p: p.write_bytes(b""), "empty"),
        (_fails_full_check, "fails the ONNX checker"),
        (_ort_cannot_load, "ONNX Runtime cannot load"),
        (_external_missing, "external"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture, make, message: str
) -> None:
    src, out = tmp_path / "in.onnx", tmp_path / "out.onnx"
    make(src)
    before = src.read_bytes()
    assert exit_code("optimize", str(src), "-o", str(out)) == 2
    err = capsys.readouterr().err
    assert err.startswith("linkedonnx: error:") and message in err and err.count("\n") == 1
    assert not out.exists() and src.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_output_equal_to_input_is_refused(linked: Path, capsys: pytest.CaptureFixture) -> None:
    before = linked.read_bytes()
    assert exit_code("optimize", str(linked), "-o", str(linked)) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert linked.read_bytes() == before


@pytest.mark.parametrize(
    ("option", "message"),
    [(["--target", "tpu"], "unknown target"), (["--form", "x"], "unknown form")],
)
def test_bad_options(
    linked: Path, tmp_path: Path, capsys: pytest.CaptureFixture, option, message
) -> None:
    out = tmp_path / "o.onnx"
    assert exit_code("optimize", str(linked), "-o", str(out), *option) == 2
    assert message in capsys.readouterr().err and not out.exists()
