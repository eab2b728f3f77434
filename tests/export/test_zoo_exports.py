"""Every zoo model exports with its linked activations as functions, matches PyTorch in
ONNX Runtime within float32 defaults at batch 1 and 7, and its inlined form (derived
from the function file by inlining, not re-exported) gives exactly the same outputs."""

from __future__ import annotations

import numpy as np
import pytest

from linkedonnx import DOMAIN, zoo
from linkedonnx.export import export_model, inline_linked_functions, run_torch
from linkedonnx.export.shims import function_kind
from linkedonnx.functions import op_type
from linkedonnx.runtime.compare import compare
from linkedonnx.runtime.session import make_session
from linkedonnx.sources import build_zoo
from linkedonnx.zoo import ModelSpec


@pytest.mark.slow
@pytest.mark.parametrize("name", zoo.names())
def test_zoo_model_exports_and_matches_pytorch(name: str) -> None:
    spec = ModelSpec(name)
    model = build_zoo(spec, seed=0)
    result = export_model(model, spec, source=f"zoo:{name} seed=0")  # checker full_check inside
    proto = result.model

    expected_ops = {op_type(k) for k in map(function_kind, model.modules()) if k is not None}
    assert set(result.calls) == expected_ops
    assert bool(expected_ops) == (zoo.parse_name(name).form == "linked")
    assert {f.name for f in proto.functions if f.domain == DOMAIN} == expected_ops
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"

    functions = make_session(proto, "cpu", threads=1)
    inlined = make_session(inline_linked_functions(proto), "cpu", threads=1)
    for batch in (1, 7):
        rng = np.random.default_rng([0, batch])
        x = rng.standard_normal(spec.input_shape(batch)).astype(np.float32)
        got = functions.run(None, {"input": x})[0]
        want = run_torch(model, [x])[0]
        assert np.abs(want).max() > 1e-3  # outputs large enough for atol=1e-5 to bite
        report = compare("output", got, want)
        assert report.passed, f"{name} batch {batch}: {report}"
        np.testing.assert_array_equal(inlined.run(None, {"input": x})[0], got)
