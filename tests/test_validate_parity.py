"""validate's trust rules: nothing compared is a failure, every declared input is driven
(initializers that are graph inputs included, perturbed once), any subset of inputs
from an .npz, float16 models validated at their compute precision."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from linkedonnx.errors import BadInputError
from linkedonnx.validate import validate


def _save(path, nodes, inputs, outputs, initializers=(), opset=13) -> str:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(model, path)
    return str(path)


X = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])
Y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])


def test_all_nan_outputs_compare_nothing_and_fail(tmp_path) -> None:
    nan = numpy_helper.from_array(np.full(4, np.nan, np.float32), "nan")
    path = _save(
        tmp_path / "nan.onnx", [helper.make_node("Mul", ["x", "nan"], ["y"])], [X], [Y], [nan]
    )
    report = validate(path, batch=2)
    assert not report.passed and report.nothing_compared
    assert "nothing was compared" in report.summary()


def test_an_empty_batch_compares_nothing_and_fails(tmp_path) -> None:
    path = _save(tmp_path / "relu.onnx", [helper.make_node("Relu", ["x"], ["y"])], [X], [Y])
    np.savez(tmp_path / "empty.npz", x=np.zeros((0, 4), np.float32))
    report = validate(path, str(path), inputs=tmp_path / "empty.npz")
    assert report.batch == 0 and not report.passed and report.nothing_compared
    assert "has no elements" in report.outputs[0].reason


def test_nan_matched_by_the_reference_passes_beside_finite_values(tmp_path) -> None:
    path = _save(tmp_path / "log.onnx", [helper.make_node("Log", ["x"], ["y"])], [X], [Y])
    report = validate(path, batch=3)  # Log of negative normals is NaN on both sides
    assert report.passed, report.summary()
    assert 0 < report.outputs[0].compared < 12


def _weights_as_inputs(path, honest: bool) -> str:
    """y = relu(x * w + b), with w and b initializers that are also graph inputs (an
    older exporter's keep_initializers_as_inputs); the dishonest copy reads baked
    constants and leaves w dangling."""
    w = np.array([1.0, -2.0, 0.5, 3.0], np.float32)
    b = np.array([0.1, 0.2, -0.3, 0.0], np.float32)
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
    decl = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [4]) for n in ("w", "b")]
    if honest:
        first = helper.make_node("Mul", ["x", "w"], ["m"])
    else:
        inits.append(numpy_helper.from_array(w, "w_baked"))
        first = helper.make_node("Mul", ["x", "w_baked"], ["m"])
    nodes = [
        first,
        helper.make_node("Add", ["m", "b"], ["a"]),
        helper.make_node("Relu", ["a"], ["y"]),
    ]
    return _save(path, nodes, [X, *decl], [Y], inits)


def test_a_model_that_ignores_an_input_it_declares_fails_naming_it(tmp_path) -> None:
    honest = _weights_as_inputs(tmp_path / "honest.onnx", honest=True)
    baked = _weights_as_inputs(tmp_path / "baked.onnx", honest=False)
    good = validate(honest, batch=2)
    assert good.passed, good.summary()
    assert good.inputs == ["x float32[2, 4]", "2 initializer(s) that are graph inputs"]
    # against its own evaluator run the baked model agrees on the defaults...
    bad = validate(baked, batch=2)
    assert all(o.passed for o in bad.outputs)
    # ...but its outputs do not follow w
    assert not bad.passed and bad.ignored_inputs == ["w"]
    assert "ignores input(s) it declares: 'w'" in bad.summary()
    # against the honest model (which takes w), the perturbed round differs as well
    versus = validate(baked, honest, batch=2)
    assert versus.ignored_inputs == ["w"] and not all(o.passed for o in versus.perturbed)
    assert validate(honest, honest, batch=2).passed
    assert validate(baked, honest, batch=2, perturb=False).passed  # the old, blind check


def test_inputs_npz_may_hold_any_subset_and_no_unknown_name(tmp_path) -> None:
    honest = _weights_as_inputs(tmp_path / "honest.onnx", honest=True)
    np.savez(tmp_path / "w.npz", w=np.full(4, 2.0, np.float32))
    report = validate(honest, honest, inputs=tmp_path / "w.npz", batch=3)
    assert report.passed and report.batch == 3 and report.seed == 0  # x was generated
    np.savez(tmp_path / "x.npz", x=np.ones((5, 4), np.float32))
    only_x = validate(honest, honest, inputs=tmp_path / "x.npz")
    assert only_x.batch == 5 and only_x.seed is None
    np.savez(tmp_path / "bad.npz", x=np.ones((5, 4), np.float32), nope=np.ones(1))
    with pytest.raises(BadInputError, match="'nope' not among the model's inputs"):
        validate(honest, inputs=tmp_path / "bad.npz")


@pytest.fixture(scope="module")
def function_form(tmp_path_factory):
    from linkedonnx.export import export_source

    path = tmp_path_factory.mktemp("fp16") / "m.onnx"
    export_source("zoo:allcnn/lk-relu", path, image_size=8)
    return path


@pytest.mark.parametrize("fp16_io", [False, True])
def test_a_float16_model_validates_against_its_float32_source(
    function_form, tmp_path, fp16_io
) -> None:
    from linkedonnx.passes.optimize import optimize_file

    half = tmp_path / "h.onnx"
    optimize_file(function_form, half, fp16=True, keep_io_float32=not fp16_io)
    input_type = onnx.load(half).graph.input[0].type.tensor_type.elem_type
    assert input_type == (TensorProto.FLOAT16 if fp16_io else TensorProto.FLOAT)
    report = validate(half, str(function_form), batch=4)
    assert report.passed, report.summary()
    assert {(o.atol, o.rtol) for o in report.outputs} == {(1e-3, 1e-3)}
    checkpoint_like = validate(half, "zoo:allcnn/lk-relu", batch=2)
    assert checkpoint_like.passed, checkpoint_like.summary()


@pytest.mark.parametrize(
    "module",
    [
        "linkedonnx.validate",
        "linkedonnx.runtime.compare",
        "linkedonnx.runtime.inputs",
        "linkedonnx.runtime.points",
        "linkedonnx.runtime.layers",
        "linkedonnx.runtime.bench",
        "linkedonnx.runtime.profile",
        "linkedonnx.passes.tuning",
    ],
)
def test_the_onnx_side_of_parity_imports_no_torch_side_module(module) -> None:
    import subprocess
    import sys

    code = (
        f"import sys, {module}; "
        "print(sorted(m for m in sys.modules if m == 'torch' or m.split('.')[:2] in "
        "(['linkedonnx', 'sources'], ['linkedonnx', 'zoo'], ['linkedonnx', 'export'], "
        "['linkedonnx', 'reference_torch'])))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_tuning_parity_is_runtime_compare_with_its_own_tolerance() -> None:
    from linkedonnx.passes.tuning import parity

    ref = [np.array([1.0, 2.0], np.float32)]
    near = [np.array([1.0, 2.0 + 5e-5], np.float32)]
    assert parity(ref, near) == (True, pytest.approx(5e-5, rel=1e-2))  # tuning: 1e-4
    assert parity(ref, near, atol=1e-6, rtol=1e-6)[0] is False
    assert parity(ref, [np.zeros(3, np.float32)]) == (False, float("inf"))
    assert parity([np.full(2, np.nan)], [np.full(2, np.nan)])[0] is False  # nothing compared


def test_validate_reaches_the_torch_side_only_through_reference_torch() -> None:
    """No import in validate.py (top level or inside a function) names torch, the zoo,
    sources or the exporter: the torch side hands arrays over through reference_torch."""
    import ast
    from pathlib import Path

    import linkedonnx.validate as module

    tree = ast.parse(Path(module.__file__).read_text())
    names = {
        alias.name if isinstance(node, ast.Import) else node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    banned = ("torch", "linkedonnx.sources", "linkedonnx.zoo", "linkedonnx.export")
    assert not [n for n in names if n and n.startswith(banned)], names
    assert "linkedonnx.reference_torch" in names


@pytest.mark.parametrize("form", ["split", "stacked"])
def test_validate_tells_an_optimized_model_that_follows_its_weight_inputs_from_one_that_baked_them(
    tmp_path, form
) -> None:
    """Issue 10: a Conv -> BN -> CReLU -> Conv model whose weights are graph inputs.
    optimize leaves such weights readable and validates; the model older optimizers
    wrote (weights folded and baked, the original inputs left dangling) fails, naming
    the inputs it ignores, even though it agrees on the default weights."""
    from linkedonnx.passes.optimize import optimize
    from tests.passes.lowering_graphs import conv_linked_conv, weights_as_inputs

    original = weights_as_inputs(conv_linked_conv("relu", bn=True))
    source = tmp_path / "m.onnx"
    onnx.save(original, source)
    honest, _ = optimize(original, form=form)
    onnx.save(honest, tmp_path / "honest.onnx")
    report = validate(tmp_path / "honest.onnx", str(source))
    assert report.passed, report.summary()
    assert report.perturbed and all(o.passed for o in report.perturbed)
    baked, _ = optimize(original, form=form, freeze_inputs=True)
    declared = [i for i in original.graph.input if i.name != "x"]
    baked.graph.input.extend(declared)  # dangling: as the old optimize left them
    used = {name for n in baked.graph.node for name in n.input}
    baked.graph.initializer.extend(
        i
        for i in original.graph.initializer
        if i.name not in used and i.name in {d.name for d in declared}
    )
    onnx.save(baked, tmp_path / "baked.onnx")
    stale = validate(tmp_path / "baked.onnx", str(source))
    assert all(o.passed for o in stale.outputs)  # the default weights agree
    assert not stale.passed and stale.ignored_inputs
    assert set(stale.ignored_inputs) <= {d.name for d in declared}
    assert not all(o.passed for o in stale.perturbed)
