"""`linkedonnx validate --per-layer [--json] [--plot]`: the layer table and the JSON hold
the same rows, the plot is a PNG, the first drift is named; nothing compared and an
ignored initializer input exit 1."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from linkedonnx.export import export_source
from tests.cli.invoke import run_cli


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(function-form export, a copy whose last linked layer's z is shifted)."""
    folder = tmp_path_factory.mktemp("cli-per-layer")
    path = folder / "m.onnx"
    export_source("zoo:width/lk-relu", path, image_size=8)
    model = onnx.load(path)
    linked = [n for n in model.graph.node if n.domain == "linkedonnx"]
    producer = next(n for n in model.graph.node if linked[-1].input[0] in n.output)
    bias = next(i for i in model.graph.initializer if i.name == producer.input[2])
    bias.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(bias) + np.float32(0.5), bias.name))
    drifted = folder / "drifted.onnx"
    onnx.save(model, drifted)
    return path, drifted


def test_per_layer_table_json_and_plot_agree(pair, tmp_path, capsys) -> None:
    model, drifted = pair
    report, plot = tmp_path / "r.json", tmp_path / "layers.png"
    code, out, err = run_cli(
        capsys,
        "validate",
        str(drifted),
        "--reference",
        str(model),
        "--per-layer",
        "--json",
        str(report),
        "--plot",
        str(plot),
    )
    assert code == 1, err
    data = json.loads(report.read_text())
    layers = data["layers"]
    first = layers["first_drift"]
    assert first is not None and first.endswith(" z")
    assert f"first layer over tolerance: {first}" in out
    for row in layers["rows"]:  # the table shows every JSON row
        assert row["name"] in out
        assert {"max_abs", "mean_abs", "max_rel", "mean_rel", "worst_index"} <= set(row)
    assert [r["passed"] for r in layers["rows"]].index(False) == [
        r["name"] for r in layers["rows"]
    ].index(first)
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_plot_alone_implies_per_layer_and_a_pass_says_so(pair, tmp_path, capsys) -> None:
    model, _ = pair
    plot = tmp_path / "ok.png"
    code, out, err = run_cli(
        capsys, "validate", str(model), "--reference", "zoo:width/lk-relu", "--plot", str(plot)
    )
    assert code == 0, err
    assert "compared layer value(s) within tolerance" in out and plot.exists()


def test_plot_into_a_missing_folder_is_bad_input(pair, tmp_path, capsys) -> None:
    model, _ = pair
    code, _, err = run_cli(
        capsys, "validate", str(model), "--plot", str(tmp_path / "nope" / "p.png")
    )
    assert code == 2 and "does not exist" in err and len(err.strip().splitlines()) == 1


def _nan_model(path) -> str:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])
    nan = numpy_helper.from_array(np.full(3, np.nan, np.float32), "nan")
    graph = helper.make_graph([helper.make_node("Add", ["x", "nan"], ["y"])], "g", [x], [y], [nan])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    return str(path)


def test_all_nan_outputs_and_an_empty_batch_exit_1(tmp_path, capsys) -> None:
    nan = _nan_model(tmp_path / "nan.onnx")
    code, out, _ = run_cli(capsys, "validate", nan)
    assert code == 1 and "nothing was compared" in out
    np.savez(tmp_path / "empty.npz", x=np.zeros((0, 3), np.float32))
    code, out, _ = run_cli(
        capsys, "validate", nan, "--reference", nan, "--inputs", str(tmp_path / "empty.npz")
    )
    assert code == 1 and "nothing was compared" in out


def test_an_ignored_initializer_input_exits_1_naming_it(tmp_path, capsys) -> None:
    """y = x * w with w an initializer that is also a graph input; the stale copy reads a
    baked constant instead."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])
    w_in = helper.make_tensor_value_info("w", TensorProto.FLOAT, [3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])
    w = np.array([1.0, 2.0, 3.0], np.float32)
    paths = {}
    for name, reads in (("honest", "w"), ("stale", "w_baked")):
        inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(w, "w_baked")]
        graph = helper.make_graph(
            [helper.make_node("Mul", ["x", reads], ["y"])], "g", [x, w_in], [y], inits
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        paths[name] = tmp_path / f"{name}.onnx"
        onnx.save(model, paths[name])
    code, out, _ = run_cli(capsys, "validate", str(paths["honest"]))
    assert code == 0 and "1 initializer(s) that are graph inputs" in out
    code, out, _ = run_cli(
        capsys, "validate", str(paths["stale"]), "--reference", str(paths["honest"])
    )
    assert code == 1 and "ignores input(s) it declares: 'w'" in out
    assert "with every initializer input perturbed:" in out  # the perturbed round's table
