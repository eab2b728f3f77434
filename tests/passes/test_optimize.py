"""optimize(): the whole pipeline on hand-built graphs and flat spellings (convert runs
first), tuning by measurement, bad options, and optimize_file's one-line errors."""

from __future__ import annotations

import json

import onnx
import pytest

from linkedonnx import DOMAIN
from linkedonnx.errors import BadInputError
from linkedonnx.functions import attach_functions
from linkedonnx.passes.optimize import optimize, optimize_file
from linkedonnx.passes.tuning import choose
from tests.passes.graphs import linked_chain, two_branch_model
from tests.passes.lowering_graphs import allcnn_like
from tests.passes.test_lower_forms import assert_same, lowered


@pytest.mark.parametrize("spelling", ["relu", "relu-negfirst"])
def test_flat_spellings_are_recognized_then_lowered(spelling: str) -> None:
    model = linked_chain([spelling, spelling], channels=4)
    out, counts = lowered(model)
    assert counts.get("relu:split") == 2, counts
    assert "Concat" not in {n.op_type for n in out.graph.node}
    assert_same(model, out)


@pytest.mark.parametrize("mode", ["copy", "negated"])
def test_two_branch_convs_are_fused_to_one(mode: str) -> None:
    model = two_branch_model("Conv", mode)
    out, _ = lowered(model)
    assert_same(model, out)
    full = [
        n
        for n in out.graph.node
        if n.op_type == "Conv" and all(a.name != "group" or a.i == 1 for a in n.attribute)
    ]
    assert len(full) == 1  # one real conv left (plus, in the dw form, a depthwise negation)


def test_merged_duplicate_calls_keep_typed_outputs() -> None:
    model = linked_chain(["fn:relu"], channels=3)
    call = next(n for n in model.graph.node if n.domain == DOMAIN)
    model.graph.node.append(
        onnx.helper.make_node(call.op_type, list(call.input), ["twin"], domain=DOMAIN, axis=1)
    )
    model.graph.output.append(
        onnx.helper.make_tensor_value_info("twin", onnx.TensorProto.FLOAT, [2, 6, 4, 4])
    )
    attach_functions(model)
    out, _ = lowered(model)
    assert [o.name for o in out.graph.output] == [o.name for o in model.graph.output]
    assert_same(model, out)


def test_the_measured_default_times_every_form_and_keeps_a_matching_one() -> None:
    model = allcnn_like("relu", batch=1)
    out, report = optimize(model)  # real ORT timing; no assertion on the figures
    step = next(s for s in report.steps if s.name == "ChooseForms")
    timed = {k.removesuffix(" ms") for k in step.counts if k.startswith("all ")}
    assert timed == {"all split", "all dw", "all stacked", "all inline"}
    assert "measured at batch 6" in step.counts
    assert_same(model, out)


def test_choose_rejects_candidates_that_do_not_match() -> None:
    good = allcnn_like("relu", seed=1)
    bad = allcnn_like("relu", seed=2)  # other weights: other outputs
    report = choose({"ref": good, "other": bad}, reference="ref", threads=1, runs=2, batch=2)
    assert report.chosen == "ref"
    assert [c.parity for c in report.candidates] == [True, False]
    with pytest.raises(BadInputError, match="no lowering candidate"):
        choose({"ref": good, "other": bad}, reference="missing", threads=1, runs=1, batch=2)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"target": "gpu"}, "unknown target"),
        ({"form": "fast"}, "unknown form"),
        ({"batch": 0}, "batch must be at least 1"),
    ],
)
def test_bad_options_are_one_line_errors(options: dict, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        optimize(allcnn_like("relu"), **options)


def test_optimize_file_writes_nothing_on_bad_input(tmp_path) -> None:
    src = tmp_path / "in.onnx"
    src.write_bytes(b"not an onnx file")
    out = tmp_path / "out.onnx"
    with pytest.raises(BadInputError):
        optimize_file(src, out)
    assert not out.exists() and src.read_bytes() == b"not an onnx file"


def test_a_model_with_nothing_linked_keeps_its_outputs() -> None:
    model = allcnn_like("plain", bn=True)
    out, counts = lowered(model)
    assert counts == {}
    assert_same(model, out)


def test_linked_calls_inside_subgraphs_are_inlined() -> None:
    from onnx import TensorProto, helper

    from linkedonnx.functions import make_call
    from linkedonnx.passes.optimize import verify

    def out(name: str) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, [2, 4])

    then = helper.make_graph([make_call("relu", ["x"], "y1", 1)], "then", [], [out("y1")])
    other = helper.make_graph(
        [helper.make_node("Concat", ["x", "x"], ["y2"], axis=1)], "else", [], [out("y2")]
    )
    graph = helper.make_graph(
        [helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other)],
        "g",
        [
            helper.make_tensor_value_info("c", TensorProto.BOOL, []),
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2]),
        ],
        [out("y")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    attach_functions(model)
    optimized, _ = optimize(model)
    verify(optimized)  # full check, no linkedonnx node anywhere, loads in ORT
    assert not optimized.functions


@pytest.mark.parametrize("target", ["cpu", "cuda"])
def test_metadata_records_the_forms_and_target(target: str) -> None:
    model = allcnn_like("relu")
    model.metadata_props.add(key="linkedonnx.form", value="functions")
    model.metadata_props.add(key="linkedonnx.source", value="test")
    out, _ = optimize(model, target=target, tune=False if target == "cpu" else None)
    meta = {p.key: p.value for p in out.metadata_props}
    assert meta["linkedonnx.form"] == "lowered"
    assert meta["linkedonnx.target"] == target
    expected = {"relu:split": 3} if target == "cpu" else {"relu:inline": 3}
    assert json.loads(meta["linkedonnx.lowered_forms"]) == expected
    assert meta["linkedonnx.source"] == "test"


def test_a_site_rule_puts_its_form_first_at_the_sites_it_names() -> None:
    """optimize's ``site_rule`` (quantize --provider openvino's stacked-where-light mix):
    the named site stacked, the others in the given form, outputs unchanged; a rule
    without a form would be ignored, so it is refused."""
    from linkedonnx.quantize.openvino_form import stacked_sites

    model = allcnn_like("relu")
    out, _ = optimize(model, form="inline", site_rule=stacked_sites)
    forms = json.loads({p.key: p.value for p in out.metadata_props}["linkedonnx.lowered_forms"])
    assert forms == {"relu:stacked": 1, "relu:inline": 2}
    choice = json.loads({p.key: p.value for p in out.metadata_props}["linkedonnx.form_choice"])
    assert choice["site_forms"] == 1
    assert_same(model, out)
    with pytest.raises(BadInputError, match="per-site rule needs a form"):
        optimize(model, site_rule=stacked_sites)
