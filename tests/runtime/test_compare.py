"""The comparator: Polygraphy's tolerance rule, statistics, worst element, NaN/inf."""

from __future__ import annotations

import json

import numpy as np
import pytest

from linkedonnx.runtime.compare import (
    compare,
    compare_all,
    compute_dtype,
    default_tolerances,
    nothing_compared,
)


def test_defaults_follow_the_dtype() -> None:
    assert default_tolerances(np.float32) == (1e-5, 1e-5)
    assert default_tolerances(np.float16) == (1e-3, 1e-3)
    assert default_tolerances(np.float16, np.float32) == (1e-3, 1e-3)
    assert default_tolerances(np.int64) == (1e-5, 1e-5)


def test_rule_is_atol_plus_rtol_times_reference() -> None:
    expected = np.array([0.0, 100.0], dtype=np.float32)
    # allowed: 1e-5 at 0, 1e-5 + 1e-3 at 100
    ok = compare("y", expected + np.array([0.9e-5, 1.0e-3], dtype=np.float32), expected)
    assert ok.passed and ok.mismatched == 0 and ok.reason == ""
    bad = compare("y", expected + np.array([2e-5, 0.0], dtype=np.float32), expected)
    assert not bad.passed and bad.mismatched == 1
    assert bad.worst_index == (0,)
    assert "beyond atol" in bad.reason


def test_statistics_and_worst_element() -> None:
    expected = np.array([[1.0, 2.0], [4.0, -8.0]])
    actual = np.array([[1.0, 2.5], [4.0, -8.0]])
    result = compare("y", actual, expected, atol=0.0, rtol=0.0)
    assert result.max_abs == pytest.approx(0.5)
    assert result.mean_abs == pytest.approx(0.125)
    assert result.max_rel == pytest.approx(0.25)
    assert result.mean_rel == pytest.approx(0.0625)
    assert result.worst_index == (0, 1)
    assert (result.actual_at_worst, result.expected_at_worst) == (2.5, 2.0)
    assert not result.passed
    loose = compare("y", actual, expected, atol=0.5, rtol=0.0)
    assert loose.passed


def test_worst_is_the_element_furthest_beyond_its_allowance() -> None:
    # the absolute error is larger at index 1 but relative to |ref| it is smaller
    expected = np.array([0.0, 1000.0])
    actual = np.array([1e-3, 1000.005])
    result = compare("y", actual, expected)
    assert result.worst_index == (0,)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_where_the_reference_is_finite_always_fails(bad: float) -> None:
    expected = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    actual = expected.copy()
    actual[2] = bad
    result = compare("y", actual, expected, atol=1e30, rtol=1e30)
    assert not result.passed
    assert result.nonfinite == 1
    assert result.worst_index == (2,)
    assert "NaN/inf" in result.reason


def test_non_finite_reference_must_be_matched_exactly() -> None:
    expected = np.array([np.nan, np.inf, -np.inf, 1.0])
    assert compare("y", expected.copy(), expected).passed
    wrong = np.array([np.nan, -np.inf, -np.inf, 1.0])
    result = compare("y", wrong, expected)
    assert not result.passed and result.worst_index == (1,)
    assert not compare("y", np.array([0.0, np.inf, -np.inf, 1.0]), expected).passed


def test_shape_mismatch_fails_without_raising() -> None:
    result = compare("y", np.zeros((2, 3)), np.zeros((3, 2)))
    assert not result.passed
    assert "shape" in result.reason


def test_float16_gets_the_looser_default() -> None:
    expected = np.linspace(-1, 1, 11).astype(np.float32)
    actual = (expected + 5e-4).astype(np.float16)
    assert compare("y", actual, expected).passed
    assert not compare("y", actual.astype(np.float32), expected).passed


def test_to_dict_is_json_ready() -> None:
    expected = np.array([1.0, 2.0], dtype=np.float32)
    data = compare("y", np.array([1.0, np.nan], dtype=np.float32), expected).to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["max_abs"] == "inf"
    assert data["worst_index"] == [1]
    assert data["passed"] is False


@pytest.mark.parametrize(
    ("actual", "expected", "why"),
    [
        (np.zeros((0, 10), np.float32), np.zeros((0, 10), np.float32), "has no elements"),
        (np.full(3, np.nan), np.full(3, np.nan), "no element is finite on both sides"),
        (np.array([np.inf, np.nan]), np.array([np.inf, np.nan]), "no element is finite"),
    ],
)
def test_nothing_compared_fails(actual, expected, why) -> None:
    result = compare("y", actual, expected)
    assert not result.passed and result.compared == 0
    assert result.reason.startswith("nothing compared") and why in result.reason
    assert nothing_compared([result]) and nothing_compared([])


def test_matching_nan_is_accepted_when_finite_elements_are_compared_too() -> None:
    expected = np.array([np.nan, 1.0])
    result = compare("y", expected.copy(), expected)
    assert result.passed and result.compared == 1
    assert not nothing_compared([result])


def test_tolerance_follows_the_lower_compute_precision() -> None:
    expected = np.linspace(-1, 1, 11).astype(np.float32)
    actual = expected + np.float32(5e-4)  # float32 arrays from a float16 model
    assert not compare("y", actual, expected).passed
    result = compare("y", actual, expected, precision=["float16", None])
    assert result.passed and (result.atol, result.rtol) == (1e-3, 1e-3)


def test_compute_dtype_reads_initializers_casts_and_values() -> None:
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    nodes = [
        helper.make_node("Cast", ["x"], ["h"], to=TensorProto.FLOAT16),
        helper.make_node("Add", ["h", "w"], ["s"]),
        helper.make_node("Cast", ["s"], ["y"], to=TensorProto.FLOAT),
    ]
    w = numpy_helper.from_array(np.ones(2, np.float16), "w")
    half = helper.make_model(helper.make_graph(nodes, "g", [x], [y], initializer=[w]))
    assert compute_dtype(half) == "float16"
    plain = helper.make_model(
        helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    )
    assert compute_dtype(plain) == "float32"


def test_compare_all_pairs_and_checks_lengths() -> None:
    a = [np.zeros(2), np.ones(2)]
    results = compare_all(["a", "b"], a, [np.zeros(2), np.zeros(2)])
    assert [r.passed for r in results] == [True, False]
    with pytest.raises(ValueError):
        compare_all(["a"], a, a)


def test_string_outputs_are_compared_exactly() -> None:
    words = np.array(["monday", "tuesday"], dtype=object)
    same = compare("y", words, words.copy())
    assert same.passed and same.mismatched == 0 and same.max_abs == 0.0
    other = compare("y", np.array(["monday", "friday"], dtype=object), words)
    assert not other.passed and other.mismatched == 1 and other.worst_index == (1,)
    assert "compared exactly" in other.reason
