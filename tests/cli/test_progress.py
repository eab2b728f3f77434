"""Progress bars (issue 17.6): on stderr, only when it is a terminal, off with --quiet,
never in a JSON file; and `bench --plot` draws each model's latency distribution."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from linkedonnx_cli import verbosity
from tests.cli.invoke import run_cli
from tests.cli.tiny_models import conv_crelu_conv


def test_progress_only_on_a_terminal_and_not_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    verbosity.configure()
    with verbosity.progress("x") as tell:
        assert tell is None
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with verbosity.progress("x") as tell:
        assert callable(tell)
        tell(1, 2)
    verbosity.configure(quiet=True)
    with verbosity.progress("x") as tell:
        assert tell is None
    verbosity.configure()


def test_bench_shows_progress_on_stderr_and_plots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # in the test: capture is live
    model = conv_crelu_conv(tmp_path / "m.onnx", weights_as_inputs=False)
    report, plot = tmp_path / "b.json", tmp_path / "lat.png"
    args = ["bench", str(model), "--runs", "20", "--warmup", "2", "--json", str(report)]
    code, out, err = run_cli(capsys, *args, "--plot", str(plot))
    assert code == 0, err
    assert "bench (rounds)" in err and "bench (rounds)" not in out
    assert "rounds" not in report.read_text()
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(report.read_text())["timings"][0]["runs"] == 20
    code, out, err = run_cli(capsys, "--quiet", *args)
    assert code == 0 and err == ""


def test_bench_without_a_terminal_prints_no_bar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = conv_crelu_conv(tmp_path / "m.onnx", weights_as_inputs=False)
    code, _, err = run_cli(capsys, "bench", str(model), "--runs", "5", "--warmup", "1")
    assert code == 0 and err == ""


def test_bench_plot_to_a_bad_path_is_refused_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = conv_crelu_conv(tmp_path / "m.onnx", weights_as_inputs=False)
    bad = tmp_path / "missing" / "lat.png"
    code, _, err = run_cli(
        capsys, "bench", str(model), "--json", str(tmp_path / "b.json"), "--plot", str(bad)
    )
    assert code == 2 and "missing" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


def test_latency_plot_needs_per_run_times(tmp_path: Path) -> None:
    from linkedonnx.errors import BadInputError
    from linkedonnx.runtime.bench import summarize
    from linkedonnx.runtime.bench_plot import latency_plot

    timing = summarize("m.onnx", [0.001, 0.002], batch=1)
    assert latency_plot([timing], tmp_path / "p.png").is_file()
    timing.times_ms = []
    with pytest.raises(BadInputError, match="per-run"):
        latency_plot([timing], tmp_path / "q.png")
