"""Benchmarking in ONNX Runtime, checked on the CPU with tiny hand-made models."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from linkedonnx.errors import BadInputError, MissingDependencyError
from linkedonnx.functions import attach_functions, make_call
from linkedonnx.runtime import bench
from linkedonnx.runtime.inputs import seeded_inputs, session_inputs, signature
from linkedonnx.runtime.session import make_session


def tiny_model(scale: float = 1.0, linked: bool = False, width: int = 4) -> onnx.ModelProto:
    """X[N, width] @ W -> Relu (or the LinkedRelu function) -> Y, batch dim dynamic."""
    w = numpy_helper.from_array((np.eye(width, dtype=np.float32) * scale), "W")
    nodes = [helper.make_node("MatMul", ["X", "W"], ["Z"])]
    out_width = 2 * width if linked else width
    if linked:
        nodes.append(make_call("relu", ["Z"], "Y", axis=1))
    else:
        nodes.append(helper.make_node("Relu", ["Z"], ["Y"]))
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", width])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", out_width])],
        [w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    return attach_functions(model) if linked else model


@pytest.fixture()
def model_files(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    onnx.save(tiny_model(1.0), a)
    onnx.save(tiny_model(2.0, linked=True), b)
    return a, b


def test_inputs_follow_signature_seed_and_are_shared() -> None:
    s1 = make_session(tiny_model(1.0), threads=1)
    s2 = make_session(tiny_model(3.0), threads=1)
    f1 = session_inputs(s1, batch=5, seed=7)
    f2 = session_inputs(s2, batch=5, seed=7)
    assert f1["X"].shape == (5, 4) and f1["X"].dtype == np.float32
    np.testing.assert_array_equal(f2["X"], f1["X"])  # same shapes: the same data
    other = session_inputs(s1, batch=5, seed=8)
    assert not np.array_equal(other["X"], f1["X"])
    # bench's data is validate's data for the same seed (one source of inputs)
    proto = seeded_inputs(signature(tiny_model(1.0)), batch=5, seed=7)
    np.testing.assert_array_equal(proto["X"], f1["X"])


def test_binding_plan_and_bound_run_match_plain_run_on_cpu() -> None:
    session = make_session(tiny_model(1.0, linked=True), threads=1)
    feeds = session_inputs(session, batch=3, seed=1)
    plan = bench.binding_plan(session, feeds, "cpu")
    assert plan.device == "cpu" and plan.device_id == 0
    assert plan.inputs == (("X", (3, 4), np.dtype(np.float32).str),)
    assert plan.outputs == ("Y",)
    binding, values = bench.bind(session, feeds, plan)
    assert len(values) == 1
    session.run_with_iobinding(binding)
    bound = binding.copy_outputs_to_cpu()[0]
    (plain,) = session.run(None, feeds)
    x = feeds["X"]
    np.testing.assert_allclose(plain, np.concatenate([np.maximum(x, 0), np.maximum(-x, 0)], 1))
    np.testing.assert_array_equal(bound, plain)


def test_binding_plan_rejects_missing_feed() -> None:
    session = make_session(tiny_model(), threads=1)
    with pytest.raises(BadInputError, match="no data"):
        bench.binding_plan(session, {}, "cpu")


def test_cuda_without_cuda_ep_is_a_clear_error(model_files: tuple[Path, Path]) -> None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has a CUDA EP")
    with pytest.raises(MissingDependencyError, match="onnxruntime-gpu"):
        bench.bench_models([model_files[0]], provider="cuda", runs=1, warmup=0)


def test_summarize_statistics() -> None:
    t = bench.summarize("m", [0.001 * i for i in range(1, 101)], batch=4)
    assert t.runs == 100
    assert t.median_ms == pytest.approx(50.5)
    assert t.min_ms == pytest.approx(1.0)
    assert t.p90_ms == pytest.approx(np.percentile(np.arange(1, 101), 90))
    assert t.p99_ms > t.p90_ms > t.median_ms
    assert t.throughput == pytest.approx(4 * 1000 / 50.5)
    with pytest.raises(BadInputError):
        bench.summarize("m", [], batch=1)


def test_interleave_is_round_robin() -> None:
    calls: list[str] = []
    times = bench.interleave([lambda: calls.append("a"), lambda: calls.append("b")], 1, 3)
    assert calls == ["a", "b"] * 4
    assert [len(t) for t in times] == [3, 3]


def test_interleave_with_an_rng_shuffles_each_round() -> None:
    calls: list[int] = []
    runners = [lambda i=i: calls.append(i) for i in range(4)]
    times = bench.interleave(runners, 1, 20, rng=random.Random(0))
    rounds = [tuple(calls[i : i + 4]) for i in range(0, len(calls), 4)]
    assert len(rounds) == 21 and all(sorted(r) == [0, 1, 2, 3] for r in rounds)
    assert len({r[0] for r in rounds}) > 1  # no runner always goes first
    assert [len(t) for t in times] == [20] * 4


def test_bench_models_reports_settings_and_ratios(model_files: tuple[Path, Path]) -> None:
    report = bench.bench_models(model_files, batch=2, threads=1, warmup=1, runs=5)
    assert report.provider == "cpu" and report.threads == 1 and report.batch == 2
    assert report.ort_version and report.iobinding is False
    assert [t.runs for t in report.timings] == [5, 5]
    first, second = report.timings
    assert first.speedup == 1.0
    assert second.speedup == pytest.approx(first.median_ms / second.median_ms)
    assert first.median_ms > 0 and first.p99_ms >= first.median_ms
    data = report.to_dict()
    assert "times_ms" not in data["timings"][0]
    assert len(report.to_dict(with_times=True)["timings"][1]["times_ms"]) == 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"batch": 0}, "batch"), ({"runs": 0}, "runs"), ({"warmup": -1}, "warmup")],
)
def test_bad_settings(model_files: tuple[Path, Path], kwargs: dict, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        bench.bench_models([model_files[0]], **kwargs)


def test_bad_models(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="does not exist"):
        bench.bench_models([tmp_path / "missing.onnx"])
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07garbage that is not protobuf")
    with pytest.raises(BadInputError):
        bench.bench_models([corrupt])
    with pytest.raises(BadInputError, match="no model"):
        bench.bench_models([])


def _has_cuda_ep() -> bool:
    import onnxruntime as ort

    return "CUDAExecutionProvider" in ort.get_available_providers()


@pytest.mark.skipif(not _has_cuda_ep(), reason="needs onnxruntime-gpu and a CUDA device")
def test_cuda_iobinding_keeps_data_on_device_and_matches_cpu(
    model_files: tuple[Path, Path],
) -> None:
    session = make_session(model_files[1], "cuda")
    feeds = session_inputs(session, batch=4, seed=2)
    plan = bench.binding_plan(session, feeds, "cuda")
    binding, values = bench.bind(session, feeds, plan)
    assert values[0].device_name().lower() == "cuda"
    session.run_with_iobinding(binding)
    outputs = binding.get_outputs()
    assert outputs[0].device_name().lower() == "cuda"
    (expected,) = make_session(model_files[1], "cpu").run(None, feeds)
    np.testing.assert_allclose(outputs[0].numpy(), expected, rtol=1e-5, atol=1e-6)
    report = bench.bench_models(model_files, provider="cuda", batch=4, warmup=1, runs=3)
    assert report.iobinding and report.providers[0] == "CUDAExecutionProvider"


@pytest.mark.parametrize("spread", [1.3, 3.0, 40.0])
def test_latency_plot_tick_labels_do_not_overlap(
    spread: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 28.4: on a log axis under one decade matplotlib labelled every minor tick
    (2x10^-1, 3x10^-1, ...) and the labels overlapped."""
    from linkedonnx.runtime import bench_plot
    from linkedonnx.runtime.bench import Timing

    seen: list[list] = []
    original = bench_plot.finish

    def record(plt, fig, ax, path):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        labels = [t for t in ax.get_xticklabels(minor=False) + ax.get_xticklabels(minor=True)
                  if t.get_text() and t.get_visible()]  # fmt: skip
        lo, hi = ax.get_xlim()
        inside = [t for t in labels if lo <= t.get_position()[0] <= hi]
        seen.append([t.get_window_extent(renderer) for t in inside])
        return original(plt, fig, ax, path)

    monkeypatch.setattr(bench_plot, "finish", record)
    times = list(np.geomspace(0.25, 0.25 * spread, 50))
    timings = [Timing("a.onnx", 50, 1, *(float(np.median(times)),) * 5, 1.0, times_ms=times)]
    bench_plot.latency_plot(timings, tmp_path / "p.png")
    (boxes,) = seen
    assert len(boxes) >= 2, "at least two labelled ticks"
    boxes.sort(key=lambda b: b.x0)
    for left, right in itertools.pairwise(boxes):
        assert left.x1 < right.x0, (left, right)
