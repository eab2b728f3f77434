"""`linkedonnx demo`: the journey from the command line, tiny, and its refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkedonnx import journey as journey_module
from linkedonnx.journey import FUNCTIONS_ONNX, OPTIMIZED_ONNX, JourneyConfig
from tests.cli.invoke import exit_code


@pytest.mark.xdist_group("journey")  # the worker that holds the shared run
def test_demo_prints_the_summary_of_the_journey_it_configures(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, journey
) -> None:
    """The command builds the config from its options, shows progress and prints the
    summary table; the journey itself is the shared tiny run (tests/conftest.py), replayed
    here so that CI trains, exports and benches it once."""
    summary, _, events = journey
    seen: list[JourneyConfig] = []

    def replay(config: JourneyConfig, progress) -> object:
        config.validate()
        seen.append(config)
        for stage, status in events:
            progress(stage, status)
        return summary

    # the command imports run_journey when it runs (lazy imports), so patch it at its home
    monkeypatch.setattr(journey_module, "run_journey", replay)
    out = tmp_path / "demo"
    code = exit_code(
        "demo", "--out", str(out), "--epochs", "1", "--max-steps", "2", "--runs", "3",
        "--threads", "1", "--model", "params/lk-relu",
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    (config,) = seen
    assert (config.out, config.epochs, config.max_steps, config.runs, config.threads) == (
        out, 1, 2, 3, 1,
    )  # fmt: skip
    for needle in ("test accuracy", "max parity error vs checkpoint", "speed-up", "batch 32"):
        assert needle in printed
    assert "INT8 test accuracy" in printed and "INT8 vs optimized float32, batch 32" in printed
    assert "INT8 speed-up vs plain export, batch 32" in printed
    assert "pass" in printed and "FAIL" not in printed
    assert f"{summary.speedup(32):.2f}x" in printed


def test_demo_refuses_an_existing_folder_without_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert exit_code("demo", "--out", str(out), "--epochs", "1", "--max-steps", "1") == 2
    err = capsys.readouterr().err
    assert err.startswith("linkedonnx: error:") and "--overwrite" in err
    assert len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--epochs", "0"], "epochs"),
        (["--model", "params/relu"], "linked"),
        (["--model", "nosuch/lk-relu"], "nosuch"),
        (["--runs", "0"], "runs"),
    ],
)
def test_demo_bad_options_are_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str], needle: str
) -> None:
    out = tmp_path / "never"
    assert exit_code("demo", "--out", str(out), *args) == 2
    err = capsys.readouterr().err
    assert err.startswith("linkedonnx: error:") and needle in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.xdist_group("journey")  # the worker that holds the shared run
@pytest.mark.parametrize("name", [FUNCTIONS_ONNX, OPTIMIZED_ONNX])
def test_demo_models_go_through_validate_and_quantize_with_digits(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture, journey
) -> None:
    """Issue 28.2: ``validate --data digits`` and ``quantize --data digits`` on the demo's
    own model files need no preprocessing options (they record theirs)."""
    _, out, _ = journey
    model = str(out / name)
    code = exit_code("validate", model, "--reference", model, "--data", "digits",
                     "--samples", "64")  # fmt: skip
    assert code == 0, capsys.readouterr().err
    int8 = tmp_path / "int8.onnx"
    code = exit_code("quantize", model, "-o", str(int8), "--data", "digits", "--samples", "32")
    assert code == 0 and int8.is_file(), capsys.readouterr().err
