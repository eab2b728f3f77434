"""export_model on hand-built models: one function call per linked module, checker,
shape inference, dynamic batch, metadata, inlining, opset choice, bad options."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from linkedonnx import DOMAIN, __version__
from linkedonnx.errors import BadInputError
from linkedonnx.export import (
    MIN_EXPORT_OPSET,
    export_model,
    inline_linked_functions,
    run_torch,
)
from linkedonnx.nn import Linked, LinkedPReLU, LinkedReLU, LinkedSELU, LinkedSwish
from linkedonnx.runtime.compare import compare
from linkedonnx.runtime.session import make_session

SHAPE = (1, 3, 12, 12)


def _every_kind() -> nn.Module:
    """A small net using each linked activation once (two PReLUs: conv and dense axes)."""
    torch.manual_seed(1)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3),
        LinkedReLU(),
        nn.Conv2d(8, 4, 3),
        nn.BatchNorm2d(4),
        LinkedPReLU(4, init=0.1),
        nn.Conv2d(8, 4, 1),
        LinkedReLU(policy="minmax"),
        nn.Conv2d(8, 4, 1),
        LinkedSELU(),
        nn.Dropout(0.5),
        nn.Conv2d(8, 4, 1),
        LinkedSwish(),
        nn.Conv2d(8, 4, 1),
        Linked(torch.tanh),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 6),
        LinkedPReLU(6, axis=-1, init=0.3),
        nn.Linear(12, 5),
    )
    with torch.no_grad():  # distinct slopes and BN statistics, so mistakes show
        model[4].slope_pos.copy_(torch.tensor([0.1, 0.2, 0.3, 0.4]))
        model[4].slope_neg.copy_(torch.tensor([0.5, 0.6, 0.7, 0.8]))
        model[3].running_mean.copy_(torch.tensor([0.1, -0.2, 0.3, 0.0]))
        model[3].running_var.copy_(torch.tensor([0.5, 2.0, 1.5, 1.0]))
    return model.train()  # export must switch to eval itself


@pytest.fixture(scope="module")
def exported() -> tuple[nn.Module, onnx.ModelProto]:
    model = _every_kind()
    return model, export_model(model, SHAPE, source="test:every-kind").model


def _ort(model: onnx.ModelProto, x: np.ndarray, optimization: str = "all") -> np.ndarray:
    session = make_session(model, "cpu", optimization=optimization, threads=1)
    return session.run(None, {"input": x})[0]


def test_one_function_call_per_linked_module_and_one_proto_per_kind(exported) -> None:
    _, model = exported
    calls = [(n.op_type, n) for n in model.graph.node if n.domain == DOMAIN]
    assert sorted(op for op, _ in calls) == sorted(
        [
            "LinkedRelu",
            "LinkedPRelu",
            "LinkedPRelu",
            "LinkedReluMinMax",
            "LinkedSelu",
            "LinkedSwish",
        ]
    )
    protos = sorted((f.domain, f.name) for f in model.functions)
    assert protos == sorted({(DOMAIN, op) for op, _ in calls})
    axes = {op: onnx.helper.get_attribute_value(n.attribute[0]) for op, n in calls}
    assert axes["LinkedRelu"] == 1
    dense_prelu = [n for op, n in calls if op == "LinkedPRelu"][1]
    assert onnx.helper.get_attribute_value(dense_prelu.attribute[0]) == -1
    assert len(dense_prelu.input) == 3
    imports = {o.domain: o.version for o in model.opset_import}
    assert imports[""] == MIN_EXPORT_OPSET and imports[DOMAIN] == 1
    # the generic Linked(tanh) is exported flat
    assert any(n.op_type == "Tanh" for n in model.graph.node)


def test_checker_full_check_and_shape_inference_doubles_channels(exported) -> None:
    _, model = exported
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    shapes = {
        v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in [*inferred.graph.value_info, *inferred.graph.output, *inferred.graph.input]
    }
    for node in model.graph.node:
        if node.domain != DOMAIN:
            continue
        before, after = shapes[node.input[0]], shapes[node.output[0]]
        axis = onnx.helper.get_attribute_value(node.attribute[0]) % len(before)
        assert after[axis] == 2 * before[axis]
        assert after[0] == before[0] == "batch"


def test_batch_is_dynamic_and_outputs_match_pytorch(exported) -> None:
    torch_model, model = exported
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 3, 12, 12]
    assert model.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    for batch in (1, 7):
        x = np.random.default_rng(batch).standard_normal((batch, *SHAPE[1:])).astype(np.float32)
        got = _ort(model, x)
        want = run_torch(torch_model, [x])[0]
        result = compare("output", got, want)
        assert result.passed, result
    assert torch_model.training  # the caller's model is left in its own mode


def test_metadata_records_version_and_source(exported) -> None:
    _, model = exported
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["linkedonnx.version"] == __version__
    assert meta["linkedonnx.source"] == "test:every-kind"
    assert meta["linkedonnx.form"] == "functions"


def test_inlined_form_has_standard_ops_only_and_equal_outputs(exported) -> None:
    _, model = exported
    inlined = inline_linked_functions(model)
    onnx.checker.check_model(inlined, full_check=True)
    assert not inlined.functions
    assert all(n.domain in ("", "ai.onnx") for n in inlined.graph.node)
    assert DOMAIN not in {o.domain for o in inlined.opset_import}
    x = np.random.default_rng(3).standard_normal((4, *SHAPE[1:])).astype(np.float32)
    for level in ("disable", "all"):
        np.testing.assert_array_equal(_ort(inlined, x, level), _ort(model, x, level))


def test_inline_option_and_newer_opset(tmp_path) -> None:
    model = nn.Sequential(nn.Conv2d(3, 2, 1), LinkedSELU(), nn.Conv2d(4, 2, 1)).eval()
    result = export_model(model, SHAPE, tmp_path / "m.onnx", opset=21, inline=True)
    saved = onnx.load(tmp_path / "m.onnx")
    assert result.inline and result.calls == {"LinkedSelu": 1}
    assert {o.domain: o.version for o in saved.opset_import} == {"": 21}
    assert [n.op_type for n in saved.graph.node].count("Selu") == 2
    meta = {p.key: p.value for p in saved.metadata_props}
    assert meta["linkedonnx.form"] == "inlined"
    functions = export_model(model, SHAPE, opset=21).model
    assert {f.opset_import[0].version for f in functions.functions} == {21}
    x = np.random.default_rng(0).standard_normal((2, *SHAPE[1:])).astype(np.float32)
    np.testing.assert_array_equal(_ort(saved, x), _ort(functions, x))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"opset": 17}, "opset 17 is not supported"),
        ({"opset": 99}, "opset 99 is not supported"),
        ({"batch": 0}, "batch must be at least 1"),
    ],
)
def test_bad_options_raise_before_exporting(kwargs, message, tmp_path) -> None:
    with pytest.raises(BadInputError, match=message):
        export_model(nn.Conv2d(3, 2, 1), SHAPE, tmp_path / "x.onnx", **kwargs)
    assert not (tmp_path / "x.onnx").exists()
