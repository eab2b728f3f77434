"""Per-layer points (module paths from name scopes, the lowering's z marker with its
channel slice, value names as the fallback) and the per-layer comparator."""

from __future__ import annotations

import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from linkedonnx.runtime.layers import Trace, compare_layers, onnx_trace, plot_layers
from linkedonnx.runtime.points import (
    SCOPES_KEY,
    Z_KEY,
    Point,
    capture,
    find_points,
    folded_batch_norms,
    parse_scopes,
)

C = 3


def _scoped(node: onnx.NodeProto, *scopes: str, z: dict | None = None) -> onnx.NodeProto:
    entry = node.metadata_props.add()
    entry.key, entry.value = SCOPES_KEY, repr(["", *scopes])
    if z is not None:
        extra = node.metadata_props.add()
        extra.key, extra.value = Z_KEY, json.dumps(z)
    return node


def _stacked_model(bias_shift: float = 0.0) -> onnx.ModelProto:
    """Conv (stacked [W; -W], scope l1.0, carries l1.1's z in channels [0, C]) -> Relu
    (l1.1, lowered) -> Conv (l2) -> BatchNormalization (l3) -> output."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((C, 2, 1, 1)).astype(np.float32)
    b = rng.standard_normal(C).astype(np.float32) + bias_shift
    w2 = rng.standard_normal((4, 2 * C, 1, 1)).astype(np.float32)
    inits = [
        numpy_helper.from_array(np.concatenate([w, -w]), "w1"),
        numpy_helper.from_array(np.concatenate([b, -b]), "b1"),
        numpy_helper.from_array(w2, "w2"),
        *(
            numpy_helper.from_array(v.astype(np.float32), n)
            for n, v in (
                ("s", np.ones(4)),
                ("t", np.zeros(4)),
                ("m", np.ones(4)),
                ("v", np.ones(4)),
            )
        ),
    ]
    linked = repr(["", "l1", "l1.1", "sym"])
    nodes = [
        _scoped(
            helper.make_node("Conv", ["x", "w1", "b1"], ["zz"], name="c1"),
            "l1",
            "l1.0",
            "conv",
            z={"scope": linked, "channels": [0, C]},
        ),
        _scoped(helper.make_node("Relu", ["zz"], ["y1"]), "l1", "l1.1", "sym"),
        _scoped(helper.make_node("Conv", ["y1", "w2"], ["c2"]), "l2", "conv2"),
        _scoped(
            helper.make_node("BatchNormalization", ["c2", "s", "t", "m", "v"], ["y"]), "l3", "bn"
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4, 2, 2])],
        initializer=inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def test_scopes_parse_to_module_paths() -> None:
    assert parse_scopes("['', 'conv4', 'conv4.1', '_symbolic_3']") == ["conv4", "conv4.1"]
    assert parse_scopes("not a list") == [] and parse_scopes("[1, 2]") == []


def test_points_follow_the_lowering_contract_and_the_name_scopes() -> None:
    points = find_points(_stacked_model())
    assert [(p.label, p.value, p.channels) for p in points] == [
        ("l1.1 z", "zz", (0, C)),  # the first half of the stacked producer's output
        ("l1.0", "zz", None),  # its whole output: 2C channels (a reference has C)
        ("l2", "c2", None),
        ("l3", "y", None),
    ]
    # the lowered linked layer's Relu holds a rearranged output: no point for it
    assert all(p.path != "l1.1" or p.kind == "z" for p in points)
    assert folded_batch_norms(_stacked_model()) == {"l2": "l3"}


def test_value_names_are_the_fallback_without_scopes() -> None:
    model = _stacked_model()
    for node in model.graph.node:
        del node.metadata_props[:]
    assert [p.label for p in find_points(model)] == ["zz", "y1", "c2", "y"]
    scoped = _stacked_model()  # an unscoped node in a scoped model (a pass's Cast) is none
    scoped.graph.node[0].input[0] = "x16"
    scoped.graph.node.insert(0, helper.make_node("Identity", ["x"], ["x16"]))
    assert "x16" not in [p.label for p in find_points(scoped)]


def test_capture_slices_channels_and_compare_layers_names_the_first_drift() -> None:
    model = _stacked_model()
    feeds = {"x": np.random.default_rng(1).standard_normal((2, 2, 2, 2)).astype(np.float32)}
    points = find_points(model)
    values = capture(model, points, feeds)
    by_label = {p.label: v for p, v in values.items()}
    assert by_label["l1.1 z"].shape == (2, C, 2, 2) and by_label["l1.0"].shape == (2, 2 * C, 2, 2)
    np.testing.assert_array_equal(by_label["l1.1 z"], -by_label["l1.0"][:, C:])
    # a reference with the plain layers: z has C channels, l2 reads relu of [z, -z]
    z = by_label["l1.1 z"].astype(np.float64)
    trace = Trace(
        values={
            ("l1.1", "z"): z,
            ("l1.0", "output"): z,
            ("l2", "output"): by_label["l2"],
            ("l3", "output"): by_label["l3"],
        }
    )
    report = compare_layers(model, values, trace)
    assert [r.label for r in report.rows] == ["l1.1 z", "l2", "l3"]
    assert report.unmatched == ["l1.0"]  # 2C channels against C: not the same value
    assert report.first_drift is None
    shifted = capture(_stacked_model(bias_shift=0.5), points, feeds)
    drift = compare_layers(model, shifted, trace)
    assert drift.first_drift is not None and drift.first_drift.label == "l1.1 z"
    assert json.loads(json.dumps(drift.to_dict()))["first_drift"] == "l1.1 z"


def test_a_folded_batch_norm_is_compared_with_the_norms_output() -> None:
    """A reference that still has l3 (a BatchNormalization after l2) against a model
    that folded it into l2: l2's row takes the reference's l3 value."""
    reference = _stacked_model()
    feeds = {"x": np.ones((1, 2, 2, 2), np.float32)}
    trace = onnx_trace(reference, feeds)
    assert trace.batch_norm_after == {"l2": "l3"}
    folded = _stacked_model()
    del folded.graph.node[3]  # pretend the norm was folded: l2 now writes y
    folded.graph.node[2].output[0] = "y"
    model_values = {
        Point("l2", "output", "y", None, 2): trace.values[("l3", "output")] + 0.0,
    }
    report = compare_layers(folded, model_values, trace)
    assert [r.label for r in report.rows] == ["l2"] and report.rows[0].comparison.passed
    # with the norm still there, l2 is compared with the reference's l2
    kept = compare_layers(reference, model_values, trace)
    assert not kept.rows[0].comparison.passed  # (c2 - 1) / sqrt(1 + eps) is not c2


def test_plot_draws_a_png(tmp_path) -> None:
    model = _stacked_model()
    feeds = {"x": np.ones((1, 2, 2, 2), np.float32)}
    trace = onnx_trace(model, feeds)
    report = compare_layers(model, capture(_stacked_model(0.5), find_points(model), feeds), trace)
    path = tmp_path / "layers.png"
    plot_layers(report, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_linked_node_without_scopes_is_named_by_its_output() -> None:
    from linkedonnx.functions import attach_functions, make_call

    graph = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["z"]), make_call("relu", ["z"], "y", axis=1)],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 8])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    model = attach_functions(model)
    points = find_points(model)
    assert [(p.label, p.value) for p in points] == [("y z", "z"), ("y", "y")]
    values = capture(model, points, {"x": np.arange(8, dtype=np.float32).reshape(2, 4)})
    assert [v.shape for v in values.values()] == [(2, 4), (2, 8)]


def test_what_reads_a_lowered_layer_has_no_point_until_a_linear_consumer() -> None:
    """Relu (a lowered l1.1) -> Identity (l1b) -> Conv (l2): the Identity holds the
    rearranged halves (e.g. a sign moved into l2's weights), so only l2 is a point."""
    model = _stacked_model()
    relu, conv = model.graph.node[1], model.graph.node[2]
    relu.output[0] = "r"
    model.graph.node.insert(2, _scoped(helper.make_node("Identity", ["r"], ["y1"]), "l1b", "id"))
    assert conv.input[0] == "y1"
    labels = [p.label for p in find_points(model)]
    assert "l1b" not in labels and {"l1.1 z", "l2", "l3"} <= set(labels)
