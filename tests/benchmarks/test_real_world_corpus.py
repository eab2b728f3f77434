"""The real-world corpus in CI (issue 22): every small exporter-made model of the onnx
package's backend test data that ONNX Runtime runs, and two of the light CNNs with
seeded weights, go through convert and optimize as given: no exit 3 (nor 2), outputs
equal to the source's on its test inputs (or seeded ones), and ``validate OPT
--reference SRC`` passes. ``benchmarks/bench_real_world.py`` runs the whole set, all 9
light CNNs with their speed figures included."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.insert(0, str(ROOT / "benchmarks"))

from _corpus import corpus_models, run_model  # noqa: E402

#: Light CNNs small enough for CI (about 1M parameters each); the others hold up to
#: 143M random weights and run in the benchmark script only.
CI_LIGHT = ("light_squeezenet", "light_shufflenet")

MODELS = [
    m
    for m in corpus_models(("pytorch-converted", "pytorch-operator", "simple"))
    + [m for m in corpus_models(("light",)) if m.name in CI_LIGHT]
]


def test_the_corpus_is_there() -> None:
    assert len(MODELS) > 100
    assert {m.name for m in MODELS} >= set(CI_LIGHT)


@pytest.mark.parametrize("model", MODELS, ids=[m.label for m in MODELS])
def test_corpus_model_converts_and_optimizes_unchanged(model, tmp_path: Path) -> None:
    row = run_model(model, tmp_path)
    if not row["runs"]:
        # out of scope: only models ONNX Runtime itself runs (old kernels it dropped,
        # preview training ops, a locale this machine lacks)
        assert "ONNX Runtime cannot load the model" in row["why"]
        return
    for command in ("convert", "optimize"):
        assert row[command]["exit"] == 0, row[command].get("error")
        assert not any("skipped" in line for line in row[command]["read"])
    assert row["outputs_equal"], (row["convert"]["max_diff"], row["optimize"]["max_diff"])
    assert row["validate"] == "passed"
