"""Shared test settings: deterministic torch on few threads; the one tiny journey run
that the journey tests and the demo command's test share (CI runs the journey once)."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

torch.manual_seed(0)
torch.set_num_threads(1)


def tiny_journey_config(out: Path, **changes):
    """A journey of a few steps with a short bench."""
    from linkedonnx.journey import JourneyConfig

    settings = dict(
        out=out, epochs=4, max_steps=3, image_size=8, runs=3, warmup=1, parity_samples=16
    )
    settings.update(changes)
    return JourneyConfig(**settings)


@pytest.fixture(scope="session")
def journey(tmp_path_factory: pytest.TempPathFactory):
    """(summary, output folder, progress events) of one tiny journey run."""
    from linkedonnx.journey import run_journey

    out = tmp_path_factory.mktemp("journey") / "run"
    events: list[tuple[str, str]] = []
    summary = run_journey(tiny_journey_config(out), progress=lambda s, st: events.append((s, st)))
    return summary, out, events


@pytest.fixture(autouse=True)
def _user_cache_in_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """optimize's measured choices are cached under $XDG_CACHE_HOME: a fresh folder per
    test, never the user's own cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
