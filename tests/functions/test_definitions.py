"""Each linked ONNX function computes what its torch module computes, in ORT and in
ONNX's reference evaluator, for both axes and float32/float16."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from linkedonnx import DOMAIN
from linkedonnx.functions import FUNCTIONS, KIND_OF_OP, attach_functions, function_proto, make_call
from linkedonnx.kinds import KINDS
from linkedonnx.nn import LinkedPReLU, LinkedReLU, LinkedSELU, LinkedSwish
from linkedonnx.runtime.session import make_session

SHAPE = (2, 3, 4, 5)


def _module(kind: str, axis: int, channels: int) -> torch.nn.Module:
    if kind == "relu":
        return LinkedReLU(axis)
    if kind == "relu-minmax":
        return LinkedReLU(axis, policy="minmax")
    if kind == "selu":
        return LinkedSELU(axis)
    if kind == "swish":
        return LinkedSwish(axis)
    if not KINDS[kind].has_slopes:  # a kind added after these tests: the registry's module
        return KINDS[kind].torch_linked(axis, None, channels)
    m = LinkedPReLU(channels, axis)
    with torch.no_grad():
        m.slope_pos.copy_(torch.linspace(0.1, 0.5, channels))
        m.slope_neg.copy_(torch.linspace(-0.3, 0.7, channels))
    return m


def _model(
    kind: str, axis: int, elem: int, slopes: list[np.ndarray], opset: int = 18
) -> onnx.ModelProto:
    names = ["X"] + [f"s{i}" for i in range(len(slopes))]
    inits = [
        helper.make_tensor(
            n, elem, s.shape, s.astype(helper.tensor_dtype_to_np_dtype(elem)).ravel()
        )
        for n, s in zip(names[1:], slopes, strict=True)
    ]
    out_shape = list(SHAPE)
    out_shape[axis] *= 2
    graph = helper.make_graph(
        [make_call(kind, names, "Y", axis=axis)],
        "g",
        [helper.make_tensor_value_info("X", elem, list(SHAPE))],
        [helper.make_tensor_value_info("Y", elem, out_shape)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    return attach_functions(model)


@pytest.mark.parametrize("kind", sorted(FUNCTIONS))
@pytest.mark.parametrize("axis", [1, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_function_matches_torch_module(kind: str, axis: int, dtype: type) -> None:
    channels = SHAPE[axis]
    module = _module(kind, axis if axis == 1 else -1, channels).double()
    slopes: list[np.ndarray] = []
    if kind == "prelu":
        bshape = (channels, 1, 1) if axis == 1 else (channels,)
        slopes = [p.detach().numpy().reshape(bshape) for p in (module.slope_pos, module.slope_neg)]
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    model = _model(kind, axis, elem, slopes)
    onnx.checker.check_model(model, full_check=True)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE).astype(dtype)
    x.flat[:3] = [0.0, -0.0, 1e-30]
    expected = module(torch.from_numpy(x.astype(np.float64))).detach().numpy()
    got_ort = make_session(model).run(None, {"X": x})[0]
    got_ref = ReferenceEvaluator(model).run(None, {"X": x})[0]
    tol = 1e-6 if dtype == np.float32 else 2e-3
    np.testing.assert_allclose(got_ort.astype(np.float64), expected, rtol=tol, atol=tol)
    np.testing.assert_allclose(got_ref.astype(np.float64), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_minmax_before_opset_15_gets_a_body_without_castlike(dtype: type) -> None:
    # CastLike arrived in opset 15: an opset-13 model gets a body of older ops, same values.
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    old, new = _model("relu-minmax", 1, elem, [], 13), _model("relu-minmax", 1, elem, [])
    onnx.checker.check_model(old, full_check=True)
    assert "CastLike" not in {n.op_type for n in old.functions[0].node}
    assert old.functions[0].name == new.functions[0].name == "LinkedReluMinMax"
    x = np.random.default_rng(1).standard_normal(SHAPE).astype(dtype)
    x.flat[:4] = [np.inf, -np.inf, np.nan, 0.0]
    got = make_session(old).run(None, {"X": x})[0]
    np.testing.assert_array_equal(got, make_session(new).run(None, {"X": x})[0])


def test_shape_inference_doubles_the_axis() -> None:
    model = _model("relu", 1, TensorProto.FLOAT, [])
    del model.graph.output[:]
    model.graph.output.append(helper.make_tensor_value_info("Y", TensorProto.FLOAT, None))
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    dims = [d.dim_value for d in inferred.graph.output[0].type.tensor_type.shape.dim]
    assert dims == [2, 6, 4, 5]


def test_attach_functions_adds_each_used_function_once() -> None:
    model = _model("relu", 1, TensorProto.FLOAT, [])
    model.graph.node.append(make_call("relu", ["Y"], "Z", axis=1))
    attach_functions(model)
    attach_functions(model)
    assert [(f.domain, f.name) for f in model.functions] == [(DOMAIN, "LinkedRelu")]
    assert sum(o.domain == DOMAIN for o in model.opset_import) == 1


def test_registry_names_are_consistent() -> None:
    for kind in FUNCTIONS:
        proto = function_proto(kind)
        assert proto.domain == DOMAIN
        assert KIND_OF_OP[proto.name] == kind
        assert list(proto.attribute) == ["axis"]
