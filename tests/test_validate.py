"""validate(): runners, references, pass/fail verdicts and every bad input as a
one-line BadInputError."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from linkedonnx.errors import BadInputError, LinkedOnnxError, MissingDependencyError
from linkedonnx.export import export_source
from linkedonnx.runtime import session as session_module
from linkedonnx.validate import validate

NAME = "zoo:width/lk-relu"


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> onnx.ModelProto:
    folder = tmp_path_factory.mktemp("validate")
    path = folder / "m.onnx"
    export_source(NAME, path, image_size=8)
    return path


def _perturbed(path, out, delta: float):
    """A copy of the model whose first weight is shifted by ``delta``."""
    model = onnx.load(path)
    init = model.graph.initializer[0]
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) + delta, init.name))
    onnx.save(model, out)
    return out


def test_default_reference_is_the_onnx_reference_evaluator(exported) -> None:
    assert [f.name for f in onnx.load(exported).functions] == ["LinkedRelu"]  # runs the body
    report = validate(exported, batch=3, seed=4)
    assert report.passed, report.summary()
    assert "reference evaluator" in report.reference
    assert report.batch == 3 and report.seed == 4
    assert report.inputs == ["input float32[3, 3, 8, 8]"]
    (out,) = report.outputs
    assert out.shape == (3, 10) and out.atol == out.rtol == 1e-5
    data = json.loads(report.to_json())
    assert data["passed"] is True and data["outputs"][0]["name"] == "output"


def test_zoo_reference_uses_the_same_seed_and_the_recorded_geometry(exported) -> None:
    report = validate(exported, NAME, batch=7)
    assert report.passed, report.summary()
    assert report.reference.startswith("zoo:width/lk-relu seed=0")
    other_seed = validate(exported, NAME, seed=1)
    assert not other_seed.passed
    assert any("exported from zoo:width/lk-relu seed=0" in n for n in other_seed.notes)


def test_onnx_reference_and_a_failing_model(exported, tmp_path) -> None:
    assert validate(exported, str(exported)).passed
    broken = _perturbed(exported, tmp_path / "broken.onnx", 1e-2)
    report = validate(broken, str(exported), batch=2)
    assert not report.passed
    (out,) = report.outputs
    assert out.mismatched > 0 and out.max_abs > 1e-5
    assert len(out.worst_index) == 2 and "beyond atol" in out.reason
    assert report.summary().startswith("FAIL")
    # a loose enough tolerance passes the same pair
    assert validate(broken, str(exported), batch=2, atol=10.0).passed


def test_custom_inputs_from_npz(exported, tmp_path) -> None:
    path = tmp_path / "in.npz"
    np.savez(path, input=np.full((5, 3, 8, 8), 0.5, np.float32))
    report = validate(exported, inputs=path)
    assert report.passed and report.batch == 5 and report.seed is None


def _bad_cases(tmp_path, exported) -> dict[str, tuple[dict, str]]:
    good = exported.read_bytes()
    (tmp_path / "empty.onnx").write_bytes(b"")
    (tmp_path / "random.onnx").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "cut.onnx").write_bytes(good[: len(good) // 2])
    np.savez(tmp_path / "rank.npz", input=np.zeros((3, 8, 8), np.float32))
    np.savez(tmp_path / "dtype.npz", input=np.zeros((1, 3, 8, 8), np.float64))
    return {
        "missing": ({"model_path": tmp_path / "nope.onnx"}, "does not exist"),
        "directory": ({"model_path": tmp_path}, "is a directory"),
        "empty": ({"model_path": tmp_path / "empty.onnx"}, "is empty"),
        "random bytes": ({"model_path": tmp_path / "random.onnx"}, "not"),
        "truncated": ({"model_path": tmp_path / "cut.onnx"}, "not"),
        "input rank": ({"inputs": tmp_path / "rank.npz"}, "rank 3"),
        "input dtype": ({"inputs": tmp_path / "dtype.npz"}, "dtype float64"),
        "unknown reference": ({"reference": "no-such-thing"}, "unknown reference"),
        "unknown zoo name": ({"reference": "zoo:nosuch/model"}, "nosuch"),
        "bad reference onnx": ({"reference": str(tmp_path / "cut.onnx")}, "not"),
        "batch": ({"batch": 0}, "batch must be at least 1"),
        "atol": ({"atol": -1.0}, "atol must be"),
    }


def test_bad_inputs_are_one_line_errors(exported, tmp_path) -> None:
    for case, (kwargs, message) in _bad_cases(tmp_path, exported).items():
        args = {"model_path": exported, **kwargs}
        with pytest.raises(BadInputError) as info:
            validate(**args)
        text = str(info.value)
        assert message in text, (case, text)
        assert "\n" not in text, case


def test_cuda_provider_without_the_cuda_ep_says_so(exported, monkeypatch) -> None:
    monkeypatch.setattr(session_module, "available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(MissingDependencyError, match="onnxruntime-gpu"):
        validate(exported, provider="cuda")
    assert session_module.resolve_providers(
        "cuda", available=["CUDAExecutionProvider", "CPUExecutionProvider"]
    ) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    with pytest.raises(BadInputError, match="unknown provider"):
        validate(exported, provider="tpu")


def test_reference_evaluator_errors_are_one_line(tmp_path) -> None:
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    node = helper.make_node("FastGelu", ["x"], ["y"], domain="com.microsoft")
    model = helper.make_model(
        helper.make_graph([node], "g", [x], [y]),
        opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)],
    )
    path = tmp_path / "contrib.onnx"
    onnx.save(model, path)
    with pytest.raises(LinkedOnnxError, match="reference evaluator cannot run"):
        validate(path)


def test_onnx_side_does_not_import_torch() -> None:
    code = (
        "import sys, linkedonnx.validate, linkedonnx.runtime.compare, "
        "linkedonnx.runtime.inputs, linkedonnx.runtime.reference; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _tiny(path, dims, out_dims, nodes, initializers=()):
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, out_dims)
    graph = helper.make_graph(nodes, "g", [x], [y], initializer=list(initializers))
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    return path


def test_fixed_batch_models_ignore_the_batch_option(tmp_path) -> None:
    from onnx import helper

    path = _tiny(tmp_path / "fixed.onnx", [1, 4], [1, 4], [helper.make_node("Relu", ["x"], ["y"])])
    report = validate(path, batch=7)
    assert report.passed and report.batch is None
    assert report.inputs == ["x float32[1, 4]"]


def test_a_runtime_failure_is_one_line(tmp_path) -> None:
    from onnx import helper

    shape = numpy_helper.from_array(np.array([3], dtype=np.int64), "shape")
    node = helper.make_node("Reshape", ["x", "shape"], ["y"])
    path = _tiny(tmp_path / "reshape.onnx", ["batch", 4], [3], [node], [shape])
    with pytest.raises(LinkedOnnxError, match="ONNX Runtime failed to run the model") as info:
        validate(path, batch=2)
    assert "\n" not in str(info.value)


def test_an_onnx_runtime_failure_keeps_its_details_on_the_one_line(tmp_path) -> None:
    """Issue 28.4: ORT's "Got invalid dimensions for input: x for the following
    indices" was cut before the indices (they come on the next lines)."""
    import numpy as np

    from linkedonnx.errors import LinkedOnnxError, guarded
    from linkedonnx.runtime.session import make_session
    from tests.cli.tiny_models import relu_model

    relu_model(tmp_path / "m.onnx")
    session = make_session(tmp_path / "m.onnx")
    name = session.get_inputs()[0].name
    wrong = np.zeros((1, 3), np.float32)
    with pytest.raises(LinkedOnnxError) as exc:
        guarded("ONNX Runtime", lambda: session.run(None, {name: wrong}))
    message = str(exc.value)
    assert "\n" not in message and "for the following indices" in message
    assert "index: 1 Got: 3 Expected: 4" in message
