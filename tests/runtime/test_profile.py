"""runtime/profile: kernel time per op type from ORT's JSON profile."""

from __future__ import annotations

import json

import pytest

from linkedonnx.errors import BadInputError
from linkedonnx.passes.optimize import optimize
from linkedonnx.runtime.profile import ProfileSummary, kernel_shares, profile_model
from tests.passes.lowering_graphs import allcnn_like


def event(op: str, dur: float, ts: float, cat: str = "Node", suffix: str = "_kernel_time"):
    return {"cat": cat, "name": f"n_{op}{suffix}", "dur": dur, "ts": ts, "args": {"op_name": op}}


def test_kernel_shares_sums_kernels_and_skips_warmup_runs(tmp_path) -> None:
    trace = [
        event("Conv", 100, 10),  # inside warm-up run 1 (ends at 50)
        {"cat": "Session", "name": "model_run", "ts": 0, "dur": 50},
        event("Conv", 30, 60),
        event("Relu", 10, 70),
        event("Conv", 5, 71, suffix="_fence_before"),  # not a kernel
        event("Relu", 7, 72, cat="Session"),  # not a node
        {"cat": "Session", "name": "model_run", "ts": 55, "dur": 30},
    ]
    assert kernel_shares(trace) == {"Conv": 130.0, "Relu": 10.0}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(trace))
    assert kernel_shares(path, skip_runs=1) == {"Conv": 30.0, "Relu": 10.0}
    summary = ProfileSummary(runs=1, batch=1, threads=1, kernel_us={"Conv": 30.0, "Relu": 10.0})
    assert summary.outside_conv_gemm == pytest.approx(0.25)
    assert summary.to_dict()["shares"] == {"Conv": 0.75, "Relu": 0.25}


def test_kernel_shares_rejects_files_that_are_not_profiles(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(BadInputError):
        kernel_shares(bad)
    bad.write_text('{"a": 1}')
    with pytest.raises(BadInputError):
        kernel_shares(bad)


def test_profile_of_a_lowered_model_is_mostly_conv() -> None:
    plain = allcnn_like("relu", batch=4, size=8, widths=(16, 16, 16))
    lowered, _ = optimize(plain)
    before = profile_model(plain, batch=4, threads=1, warmup=1, runs=3)
    after = profile_model(lowered, batch=4, threads=1, warmup=1, runs=3)
    assert before.kernel_us["Concat"] > 0 and "Concat" not in after.kernel_us
    assert sum(after.to_dict()["shares"].values()) == pytest.approx(1.0, abs=1e-3)
    assert after.outside_conv_gemm < before.outside_conv_gemm
    with pytest.raises(BadInputError):
        profile_model(plain, runs=0)
