"""The pipeline on a linkified network of a user's own (ResNet-18 in torchvision's
topology): export keeps every linked activation as a function, convert on the plain
export recognizes all of them, and optimize and validate pass (ONNX Runtime against
PyTorch at float32 defaults)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nets import resnet18

from linkedonnx.export import export_model, export_plain, run_torch
from linkedonnx.functions import count_linked_nodes, op_type
from linkedonnx.linkify import ACTIVATIONS as FORMS
from linkedonnx.linkify import linkify
from linkedonnx.passes.convert import convert
from linkedonnx.passes.optimize import optimize
from linkedonnx.runtime.compare import compare
from linkedonnx.runtime.session import make_session

SHAPE = (1, 3, 32, 32)
#: linked form -> the function it exports as
FUNCTION = {form: op_type(form[3:]) for form in FORMS}

pytestmark = pytest.mark.slow


def _outputs_match(proto, model: torch.nn.Module, what: str) -> None:
    session = make_session(proto, "cpu", threads=1)
    for batch in (1, 3):
        x = np.random.default_rng(batch).standard_normal((batch, *SHAPE[1:])).astype(np.float32)
        want = run_torch(model, [x])[0]
        assert np.abs(want).max() > 1e-3
        report = compare("output", session.run(None, {"input": x})[0], want)
        assert report.passed, f"{what} batch {batch}: {report}"


@pytest.mark.parametrize("form", sorted(FORMS))
def test_linkified_resnet18_exports_converts_optimizes_and_validates(form: str) -> None:
    torch.manual_seed(0)
    original = resnet18().eval()
    # every form: preserve_function=False links all 12 sites whatever the activation
    model, report = linkify(
        original, form, example_input=torch.randn(SHAPE), preserve_function=form == "lk-relu"
    )
    model.eval()
    assert report.linked == 12
    exported = export_model(model, SHAPE, source="linkify test")
    assert exported.calls == {FUNCTION[form]: 12}
    _outputs_match(exported.model, model, "functions")

    flat = export_plain(model, SHAPE)
    assert count_linked_nodes(flat) == {}
    converted, _ = convert(flat)
    assert count_linked_nodes(converted) == {FUNCTION[form]: 12}
    _outputs_match(converted, model, "converted")

    optimized, _ = optimize(exported.model, target="cpu")
    _outputs_match(optimized, model, "optimized")
    if form == "lk-relu":  # the function preserved, through the whole pipeline
        _outputs_match(optimized, original, "optimized vs the original network")
