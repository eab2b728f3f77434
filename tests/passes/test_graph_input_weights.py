"""Weights that are graph inputs (older exporters: keep_initializers_as_inputs) are not
constants: optimize and convert leave the nodes that would bake them in as they are and
name them in the report, so the optimized model follows new weight values fed at run
time; ``freeze_inputs`` / ``--freeze-inputs`` takes them out of the inputs first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from linkedonnx.passes.convert import convert
from linkedonnx.passes.optimize import optimize
from tests.cli.invoke import run_cli
from tests.passes.graphs import random_feeds, run
from tests.passes.lowering_graphs import conv_linked_conv, new_weight_feeds, weights_as_inputs

FORMS = ("split", "dw", "stacked", "inline")


def _counts(report, prefix: str) -> dict[str, int]:
    return next(s.counts for s in report.steps if s.name.startswith(prefix))


def _assert_follows_new_weights(model: onnx.ModelProto, out: onnx.ModelProto) -> None:
    """Same outputs as ``model`` with its own weights and with new weights fed."""
    for feeds in (random_feeds(model), {**random_feeds(model, 3), **new_weight_feeds(model)}):
        expected = run(model, feeds)
        got = run(out, feeds, "all")
        for want, have in zip(expected, got, strict=True):
            np.testing.assert_allclose(have, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("bn", [False, True], ids=["conv", "conv-bn"])
@pytest.mark.parametrize("form", FORMS)
def test_optimize_follows_weights_fed_as_inputs(form: str, bn: bool) -> None:
    model = weights_as_inputs(conv_linked_conv("relu", bn=bn))
    assert new_weight_feeds(model)
    out, report = optimize(model, form=form)
    _assert_follows_new_weights(model, out)
    lowering = _counts(report, "LowerFor")
    if form == "dw":  # mirror ReLU keeps a Concat of the halves: no weight is read
        assert lowering == {"relu:dw": 1}, lowering
    else:
        if form != "inline":
            reasons = [k for k in lowering if k.startswith(f"skipped {form}:")]
            if bn and form == "stacked":  # the unfolded BatchNormalization is the producer
                assert reasons == [
                    f"skipped {form}: the producer is BatchNormalization, not Conv/Gemm"
                ]
            else:
                assert reasons and all("is a graph input" in k for k in reasons), lowering
        skipped = {k: 1 for k in lowering if k.startswith("skipped")}
        assert lowering == {"relu:inline": 1, **skipped}, lowering
    folding = _counts(report, "FoldBatchNorm")
    if bn:
        assert not folding.get("folded")
        assert any("is a graph input" in k and "BatchNormalization" in k for k in folding), folding
        assert "BatchNormalization" in {n.op_type for n in out.graph.node}


@pytest.mark.parametrize("kind", ["relu-minmax", "prelu", "swish"])
@pytest.mark.parametrize("form", ["split", "dw", "stacked"])
def test_other_kinds_follow_weights_fed_as_inputs(kind: str, form: str) -> None:
    model = weights_as_inputs(conv_linked_conv(kind, bn=True, seed=2))
    out, _ = optimize(model, form=form)
    _assert_follows_new_weights(model, out)


@pytest.mark.parametrize("bn", [False, True], ids=["conv", "conv-bn"])
@pytest.mark.parametrize("form", FORMS)
def test_freeze_inputs_takes_weights_out_of_the_inputs(form: str, bn: bool) -> None:
    model = weights_as_inputs(conv_linked_conv("relu", bn=bn))
    names = {i.name for i in model.graph.initializer}
    out, report = optimize(model, form=form, freeze_inputs=True)
    assert [i.name for i in out.graph.input] == ["x"]
    assert _counts(report, "FreezeInputs") == {f"frozen {n}": 1 for n in names}
    assert _counts(report, "LowerFor").get(f"relu:{form}") == 1
    if bn:
        assert _counts(report, "FoldBatchNorm") == {"folded": 1}
    feeds = random_feeds(model)
    for want, have in zip(run(model, feeds), run(out, feeds, "all"), strict=True):
        np.testing.assert_allclose(have, want, atol=1e-5, rtol=1e-5)


def test_convert_freeze_inputs() -> None:
    model = weights_as_inputs(conv_linked_conv("relu"))
    kept, _ = convert(model)
    assert len(kept.graph.input) == len(model.graph.input)
    frozen, report = convert(model, freeze_inputs=True)
    assert [i.name for i in frozen.graph.input] == ["x"]
    assert sum(_counts(report, "FreezeInputs").values()) == len(model.graph.initializer)


def test_fusion_names_branches_whose_weights_are_inputs() -> None:
    from tests.passes.graphs import two_branch_model

    model = weights_as_inputs(two_branch_model("Conv", "negated"))
    converted, report = convert(model)
    counts = {k: v for s in report.steps for k, v in s.counts.items()}
    assert any(k.startswith("skipped Conv") and "is a graph input" in k for k in counts), counts
    feeds = {**random_feeds(model), **new_weight_feeds(model)}
    for want, have in zip(run(model, feeds), run(converted, feeds), strict=True):
        np.testing.assert_allclose(have, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("command", ["convert", "optimize"])
def test_cli_freeze_inputs(command: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src, out = tmp_path / "m.onnx", tmp_path / "o.onnx"
    onnx.save(weights_as_inputs(conv_linked_conv("relu", bn=True)), src)
    code, printed, _ = run_cli(capsys, command, str(src), "-o", str(out), "--freeze-inputs")
    assert code == 0
    assert [i.name for i in onnx.load(out).graph.input] == ["x"]
    assert "frozen" in printed


def test_float16_keeps_weights_fed_as_inputs_float32() -> None:
    model = weights_as_inputs(conv_linked_conv("relu", bn=True))
    out, _ = optimize(model, form="split", fp16=True)
    inputs = {i.name: i.type.tensor_type.elem_type for i in out.graph.input}
    assert set(inputs.values()) == {onnx.TensorProto.FLOAT}, inputs
    feeds = {**random_feeds(model, 3), **new_weight_feeds(model)}
    for want, have in zip(run(model, feeds), run(out, feeds), strict=True):
        np.testing.assert_allclose(have, want, atol=2e-2, rtol=2e-2)
