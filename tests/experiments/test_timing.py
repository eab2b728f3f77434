"""Time ratios the paper's way, from fabricated epoch stamps: whole run (training + test
evaluation of every epoch) and per step, each over the reference row's median."""

from __future__ import annotations

import pytest

from linkedonnx.experiments.timing import RunTime, elapsed, time_ratios


def _epoch(epoch: int, steps: int, start: float, train: float, evaluate: float) -> dict:
    """A metrics line as ``train`` logs it, with stamps start / trained / evaluated."""
    return {
        "epoch": epoch,
        "steps": steps,
        "timestamps": {
            "start": start,
            "trained": start + train,
            "evaluated": start + train + evaluate,
        },
    }


def _run(train: float, evaluate: float, gap: float = 7.0, epochs: int = 2) -> list[dict]:
    """``epochs`` epochs of 10 steps each, with ``gap`` s between them (the dead-unit
    count and checkpoint of each epoch, which the paper's measure leaves out)."""
    lines, t = [], 1_000_000.0
    for e in range(1, epochs + 1):
        lines.append(_epoch(e, 10 * e, t, train, evaluate))
        t += train + evaluate + gap
    return lines


def test_run_time_sums_epochs_without_the_gaps_between_them() -> None:
    time = RunTime.from_metrics(_run(train=4.0, evaluate=1.0))
    assert time.wall_seconds == pytest.approx(10.0)  # 2 x (4 + 1), not the 7 s gaps
    assert time.train_seconds == pytest.approx(8.0)
    assert time.steps == 20 and time.seconds_per_step == pytest.approx(0.4)
    assert elapsed(_run(train=4.0, evaluate=1.0)) == pytest.approx([5.0, 10.0])  # plot's x


def test_ratios_divide_medians_by_the_reference_row() -> None:
    runs = {
        # reference: LK-ReLU without BN; 2 epochs: whole runs 10, 14, 12 s (median 12)
        "lk-relu": [RunTime.from_metrics(_run(4.0, 1.0 + d)) for d in (0.0, 2.0, 1.0)],
        # with BN: training 9 s and evaluation 2 s in each of 2 epochs, whole run 22 s
        "lk-relu-bn": [RunTime.from_metrics(_run(9.0, 2.0))],
    }
    rows = {r.activation: r for r in time_ratios(runs, "lk-relu")}
    assert rows["lk-relu"].wall_ratio == pytest.approx(1.0)
    assert rows["lk-relu"].step_ratio == pytest.approx(1.0)
    assert rows["lk-relu"].runs == 3 and rows["lk-relu"].wall_seconds == pytest.approx(12.0)
    assert rows["lk-relu-bn"].wall_ratio == pytest.approx(22.0 / 12.0)
    assert rows["lk-relu-bn"].step_ratio == pytest.approx((18.0 / 20) / (8.0 / 20))
    assert list(rows) == ["lk-relu", "lk-relu-bn"]


def test_no_reference_run_gives_no_ratios() -> None:
    rows = time_ratios({"selu": [RunTime.from_metrics(_run(1.0, 1.0))]}, "lk-relu")
    assert rows[0].wall_ratio is None and rows[0].step_ratio is None
    assert rows[0].wall_seconds == pytest.approx(4.0)


def test_missing_stamps_are_refused() -> None:
    with pytest.raises(ValueError, match="stamps"):
        RunTime.from_metrics([{"epoch": 1, "steps": 3, "timestamps": {"start": 0.0}}])
    with pytest.raises(ValueError, match="without epochs"):
        RunTime.from_metrics([])
    with pytest.raises(ValueError, match="no runs"):
        time_ratios({"lk-relu": []}, "lk-relu")
