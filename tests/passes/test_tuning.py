"""time_models' protocol (blocks of fresh sessions, shuffled rounds, a minimum span) on
fake runners and a fake clock: the figures follow the injected costs, no real timing."""

from __future__ import annotations

import types

import onnx
import pytest

from linkedonnx.passes import tuning
from linkedonnx.runtime import bench


class FakeClock:
    """A clock the fake runners advance by their cost."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeClock, list[str], dict[str, list[float]]]:
    """(clock, the names in load order, name -> cost in s of each load's runner)."""
    clock = FakeClock()
    loads: list[str] = []
    costs: dict[str, list[float]] = {}
    fake_time = types.SimpleNamespace(perf_counter=clock.perf_counter)
    monkeypatch.setattr(bench, "time", fake_time)
    monkeypatch.setattr(tuning, "time", fake_time)
    monkeypatch.setattr(tuning, "seeded_feeds", lambda model, batch: {})

    def load(model: onnx.ModelProto, provider: str, threads: int | None) -> object:
        name = model.graph.name
        cost = costs[name][sum(n == name for n in loads)]
        loads.append(name)

        def run(feeds: dict) -> None:
            clock.now += cost

        return types.SimpleNamespace(run=run)

    monkeypatch.setattr(tuning, "load_runner", load)
    return clock, loads, costs


def _models(*names: str) -> dict[str, onnx.ModelProto]:
    return {n: onnx.helper.make_model(onnx.helper.make_graph([], n, [], [])) for n in names}


def test_each_block_loads_every_model_afresh_in_a_shuffled_order(fake) -> None:
    _, loads, costs = fake
    costs.update({"ref": [1e-3] * 8, "a": [2e-3] * 8, "b": [3e-3] * 8})
    ms = tuning.time_models(_models("ref", "a", "b"), 1, 40, blocks=8, warmup=1)
    assert sorted(loads) == sorted(["ref", "a", "b"] * 8)
    orders = {tuple(loads[i : i + 3]) for i in range(0, 24, 3)}
    assert len(orders) > 1  # not always the same model loaded first
    assert ms == pytest.approx({"ref": 1.0, "a": 2.0, "b": 3.0})


def test_a_session_slow_in_one_block_does_not_decide_the_figure(fake) -> None:
    _, loads, costs = fake
    costs.update({"ref": [1e-3] * 3, "a": [2e-3, 2e-3, 9e-3]})  # a's third session is slow
    ms = tuning.time_models(_models("ref", "a"), 1, 30, blocks=3)
    assert ms == pytest.approx({"ref": 1.0, "a": 2.0})
    loads.clear()  # in one block, that slow session is the figure
    costs.update({"ref": [1e-3], "a": [9e-3]})
    assert tuning.time_models(_models("ref", "a"), 1, 30)["a"] == pytest.approx(9.0)


def test_tiny_models_get_rounds_until_the_minimum_span(fake) -> None:
    clock, _, costs = fake
    costs.update({"ref": [1e-4] * 2, "a": [1e-4] * 2})
    tuning.time_models(_models("ref", "a"), 1, 10, blocks=2, warmup=1, min_seconds=0.5)
    # 2 warm-up rounds (one per block) + 0.5 s of timed rounds at 0.2 ms a round
    assert clock.now == pytest.approx(2 * 2e-4 + 0.5, rel=0.01)


def test_a_budget_cuts_blocks_and_rounds(fake) -> None:
    clock, loads, costs = fake
    costs.update({"ref": [1e-2] * 4, "a": [1e-2] * 4})
    tuning.time_models(_models("ref", "a"), 1, 200, 0.5, blocks=4, warmup=1)
    assert len(loads) == 2 * 4  # loading costs nothing here: every block fits
    assert clock.now <= 0.5 + 4 * 0.02 + 1e-9  # the rounds fit in the budget
    assert clock.now >= tuning.MIN_RUNS * 0.02
