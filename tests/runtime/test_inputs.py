"""Input signatures, seeded inputs and custom .npz inputs checked against the model."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from linkedonnx.errors import BadInputError
from linkedonnx.runtime.inputs import (
    batch_of,
    complete_feeds,
    load_inputs,
    perturbed_initializers,
    seeded_inputs,
    signature,
)


def _model() -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 4])
    k = helper.make_tensor_value_info("k", TensorProto.INT64, ["batch"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3, 4])
    w = helper.make_tensor("w", TensorProto.FLOAT, [1], [2.0])
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "w"], ["y"])],
        "g",
        [x, k, helper.make_tensor_value_info("w", TensorProto.FLOAT, [1])],
        [y],
        initializer=[w],
    )
    return helper.make_model(graph)


def test_signature_keeps_dynamic_dims_and_initializers_that_are_inputs() -> None:
    sig = signature(_model())
    assert [s.name for s in sig] == ["x", "k", "w"]
    assert sig[0].dtype == np.float32 and sig[0].dims == ("batch", 3, 4)
    assert sig[1].dtype == np.int64
    assert sig[0].shape(5) == (5, 3, 4)
    assert sig[0].describe() == "x float32[batch,3,4]"
    assert not sig[0].overridable and sig[2].overridable
    np.testing.assert_array_equal(sig[2].initializer, [2.0])


def test_seeded_inputs_feed_initializer_inputs_their_own_value() -> None:
    sig = signature(_model())
    feeds = seeded_inputs(sig, batch=2, seed=7)
    assert list(feeds) == ["x", "k", "w"]
    np.testing.assert_array_equal(feeds["w"], [2.0])
    # the real inputs draw as before: position counts real inputs only
    want = np.random.default_rng([7, 1]).integers(0, 10, (2,))
    np.testing.assert_array_equal(feeds["k"], want)


def test_perturbed_initializers_are_seeded_and_differ_everywhere() -> None:
    sig = signature(_model())
    a = perturbed_initializers(sig, seed=3)
    assert list(a) == ["w"] and a["w"].dtype == np.float32
    assert np.all(a["w"] != 2.0)
    np.testing.assert_array_equal(a["w"], perturbed_initializers(sig, seed=3)["w"])
    assert perturbed_initializers(sig, seed=3, names=["x"]) == {}


def test_a_subset_of_inputs_is_completed_with_the_given_batch(tmp_path) -> None:
    sig = signature(_model())
    path = tmp_path / "x.npz"
    np.savez(path, x=np.ones((6, 3, 4), np.float32))
    given = load_inputs(path, sig)
    assert list(given) == ["x"]
    feeds = complete_feeds(given, sig, batch=1, seed=0)
    assert feeds["k"].shape == (6,)  # 'batch' bound by x
    np.testing.assert_array_equal(feeds["w"], [2.0])
    np.savez(path, w=np.array([5.0], np.float32))
    assert load_inputs(path, sig)["w"][0] == 5.0  # an initializer input may be overridden


def test_seeded_inputs_are_reproducible_and_follow_the_bench_scheme() -> None:
    sig = signature(_model())
    a = seeded_inputs(sig, batch=2, seed=7)
    b = seeded_inputs(sig, batch=2, seed=7)
    c = seeded_inputs(sig, batch=2, seed=8)
    assert a["x"].shape == (2, 3, 4) and a["x"].dtype == np.float32
    assert a["k"].dtype == np.int64 and a["k"].min() >= 0 and a["k"].max() < 10
    np.testing.assert_array_equal(a["x"], b["x"])
    assert not np.array_equal(a["x"], c["x"])
    want = np.random.default_rng([7, 0]).standard_normal((2, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(a["x"], want)
    with pytest.raises(BadInputError, match="batch"):
        seeded_inputs(sig, batch=0)


def test_load_inputs_accepts_a_matching_npz(tmp_path) -> None:
    sig = signature(_model())
    path = tmp_path / "in.npz"
    np.savez(path, x=np.ones((5, 3, 4), np.float32), k=np.arange(5))
    feeds = load_inputs(path, sig)
    assert feeds["x"].shape == (5, 3, 4)
    assert batch_of(feeds, sig) == 5


def test_single_unnamed_array_for_a_one_input_model(tmp_path) -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])
    model = helper.make_model(
        helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    )
    path = tmp_path / "one.npz"
    np.savez(path, np.zeros((3, 2), np.float32))
    assert load_inputs(path, signature(model))["x"].shape == (3, 2)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": np.ones((5, 3), np.float32), "k": np.arange(5)}, "rank 2"),
        ({"x": np.ones((5, 3, 4), np.float64), "k": np.arange(5)}, "dtype float64"),
        ({"x": np.ones((5, 2, 4), np.float32), "k": np.arange(5)}, "size 2 on axis 1"),
        ({"x": np.ones((5, 3, 4), np.float32), "y": np.arange(5)}, "'y' not among the model's"),
        ({"x": np.ones((5, 3, 4), np.float32), "k": np.arange(4)}, "dimension 'batch'"),
    ],
)
def test_load_inputs_rejects_arrays_that_do_not_fit(tmp_path, arrays, message) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(BadInputError, match=message):
        load_inputs(path, signature(_model()))


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "does not exist"), (b"", "is empty"), (b"\x00garbage" * 50, r"not a readable \.npz")],
)
def test_load_inputs_rejects_unreadable_files(tmp_path, content, message) -> None:
    path = tmp_path / "in.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(BadInputError, match=message):
        load_inputs(path, signature(_model()))


def test_load_inputs_rejects_pickled_objects(tmp_path) -> None:
    path = tmp_path / "obj.npz"
    np.savez(path, x=np.array([{"a": 1}], dtype=object), k=np.arange(1))
    with pytest.raises(BadInputError, match=r"not a readable \.npz"):
        load_inputs(path, signature(_model()))


def test_session_signature_reads_ort_inputs_and_dynamic_dims() -> None:
    from linkedonnx.runtime.inputs import session_inputs, session_signature
    from linkedonnx.runtime.session import make_session

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, None])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3, None])
    model = helper.make_model(
        helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y]),
        opset_imports=[helper.make_opsetid("", 18)],
    )
    (sig,) = session_signature(make_session(model, threads=1))
    assert sig.name == "x" and sig.dtype == np.float32
    assert sig.dims[0] == "batch" and sig.dims[1] == 3 and not isinstance(sig.dims[2], int)
    feeds = session_inputs(make_session(model, threads=1), batch=2, seed=5)
    np.testing.assert_array_equal(feeds["x"], seeded_inputs(signature(model), 2, 5)["x"])


def test_scalar_inputs_and_initializers_come_as_arrays_onnx_runtime_takes() -> None:
    # a shape () draw or 0-d sum is a numpy scalar, which ONNX Runtime refuses to feed
    import onnxruntime as ort

    w = helper.make_tensor("w", TensorProto.FLOAT, [], [1.0])
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "w"], ["y"])],
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, []),
            helper.make_tensor_value_info("w", TensorProto.FLOAT, []),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])],
        initializer=[w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    sig = signature(model)
    feeds = seeded_inputs(sig) | perturbed_initializers(sig)
    assert all(type(v) is np.ndarray and v.shape == () for v in feeds.values())
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, feeds)
    assert y == feeds["x"] * feeds["w"] and feeds["w"] != 1.0


def test_load_inputs_reads_text_for_a_string_input(tmp_path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["s"], ["t"])],
        "g",
        [helper.make_tensor_value_info("s", TensorProto.STRING, [2])],
        [helper.make_tensor_value_info("t", TensorProto.STRING, [2])],
    )
    path = tmp_path / "in.npz"
    np.savez(path, s=np.array(["a", "bc"]))  # stored as a str array, read without pickle
    feeds = load_inputs(path, signature(helper.make_model(graph)))
    assert feeds["s"].dtype == object and list(feeds["s"]) == ["a", "bc"]
