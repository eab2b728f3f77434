"""The end-to-end journey in a tiny configuration: every stage runs, parity passes,
artifacts are written, existing folders are refused."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from linkedonnx.arrays.preprocess import read_preprocess
from linkedonnx.errors import BadInputError
from linkedonnx.journey import (
    FUNCTIONS_ONNX,
    INT8_ONNX,
    OPTIMIZED_ONNX,
    OWN_FILES,
    PLAIN_ONNX,
    STAGES,
    SUMMARY_JSON,
    TRAIN_DIR,
    JourneyConfig,
    JourneySummary,
    prepare_folder,
    run_journey,
)
from linkedonnx.onnx_io import load_model
from tests.conftest import tiny_journey_config

# with pytest-xdist (scripts/test.sh: --dist loadgroup) the shared journey run stays on
# one worker, so CI runs it once
pytestmark = pytest.mark.xdist_group("journey")


def tiny(out: Path, **kw) -> JourneyConfig:
    """A journey of a few steps with a short bench (the settings of the shared run)."""
    return tiny_journey_config(out, **kw)


def test_summary_fields_and_parity(journey: tuple[JourneySummary, Path, list]) -> None:
    summary, _, _ = journey
    assert summary.model == "params/lk-relu" and summary.data == "digits"
    assert summary.steps == 3 and summary.in_channels == 1 and summary.image_size == 8
    assert summary.epochs == 1  # --max-steps 3 ends the first of the 4 epochs asked for
    assert 0.0 <= summary.test_accuracy <= 1.0
    assert summary.linked_calls.get("LinkedRelu", 0) >= 1
    # convert finds every linked activation of the plain export (clamp/Relu/Neg/Concat)
    assert summary.converted_calls == summary.linked_calls
    assert summary.parity_passed
    assert summary.parity_max_error_checkpoint <= summary.parity_atol
    assert summary.parity_max_error_function <= summary.parity_atol
    assert [p.batch for p in summary.bench] == [1, 32]
    for p in summary.bench:
        assert p.plain_ms > 0 and p.optimized_ms > 0
        assert p.speedup == pytest.approx(p.plain_ms / p.optimized_ms)
    assert summary.speedup(32) == summary.bench[1].speedup and summary.speedup(7) is None
    assert set(summary.seconds) == set(STAGES)
    assert summary.int8 is not None
    assert 0.0 <= summary.int8.int8_accuracy <= 1.0 and 0.0 <= summary.int8.float_accuracy <= 1.0
    assert sorted(summary.int8.speedup_vs_plain) == sorted(summary.int8.speedup_vs_optimized)
    assert sorted(summary.int8.speedup_vs_plain) == [1, 32]
    assert all(v > 0 for v in summary.int8.speedup_vs_optimized.values())


def test_progress_reports_every_stage_in_order(
    journey: tuple[JourneySummary, Path, list],
) -> None:
    _, _, events = journey
    started = [s for s, status in events if status == "start"]
    assert started == list(STAGES)


def test_artifacts_are_written_and_consistent(journey: tuple[JourneySummary, Path, list]) -> None:
    summary, out, _ = journey
    for name in (FUNCTIONS_ONNX, PLAIN_ONNX, OPTIMIZED_ONNX, INT8_ONNX):
        load_model(out / name)  # valid ONNX
    int8 = load_model(out / INT8_ONNX)
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in int8.graph.node}
    functions = load_model(out / FUNCTIONS_ONNX)
    assert any(n.domain == "linkedonnx" for n in functions.graph.node)
    optimized = load_model(out / OPTIMIZED_ONNX)
    assert not any(n.domain == "linkedonnx" for n in optimized.graph.node)
    assert Path(summary.artifacts["checkpoint"]).is_file()
    with np.load(out / "parity_inputs.npz") as saved:
        assert saved["arr_0"].shape == (16, 1, 8, 8)
    data = json.loads((out / SUMMARY_JSON).read_text())
    assert data["parity_passed"] is True
    assert data["test_accuracy"] == pytest.approx(summary.test_accuracy)
    assert [b["batch"] for b in data["bench"]] == [1, 32]


def test_optimized_model_matches_checkpoint_independently(
    journey: tuple[JourneySummary, Path, list],
) -> None:
    """Recompute parity here from the files, not from the journey's own numbers."""
    import onnxruntime as ort
    import torch

    from linkedonnx.checkpoint import load_model as load_ckpt

    summary, out, _ = journey
    model, ckpt = load_ckpt(summary.artifacts["checkpoint"])
    x = np.random.default_rng(3).random(ckpt.spec.input_shape(5), dtype=np.float32)
    with torch.inference_mode():
        expected = model(torch.from_numpy(x)).numpy()
    session = ort.InferenceSession(str(out / OPTIMIZED_ONNX), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)


def test_a_previous_runs_folder_is_replaced_without_overwrite(tmp_path: Path) -> None:
    """Issue 28.2: running the demo again replaces its own output (a folder holding only
    the journey's files) instead of exiting 2; nothing else in it would be touched."""
    out = tmp_path / "linkedonnx-demo"
    (out / TRAIN_DIR).mkdir(parents=True)
    (out / TRAIN_DIR / "metrics.jsonl").write_text("{}\n")
    for name in OWN_FILES:
        (out / name).write_text("old")
    prepare_folder(out, overwrite=False)
    assert out.is_dir() and not any(out.iterdir())


def test_demo_models_record_preprocessing(journey: tuple[JourneySummary, Path, list]) -> None:
    """Issue 28.2: the demo's function-form and optimized models carry
    ``linkedonnx.preprocess`` (what the checkpoint recorded), so --data needs no options."""
    _, out, _ = journey
    for name in (FUNCTIONS_ONNX, OPTIMIZED_ONNX):
        recorded = read_preprocess(load_model(out / name))
        assert recorded is not None and recorded.dataset == "digits", name
        assert recorded.image_size == 8, name


def test_existing_folder_is_refused_without_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "exists"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(BadInputError, match="exists"):
        run_journey(tiny(out))
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(BadInputError, match="not a folder"):
        run_journey(tiny(afile))


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"epochs": 0}, "epochs"),
        ({"batches": (0,)}, "batches"),
        ({"runs": 0}, "runs"),
        ({"model": "params/relu"}, "linked"),
        ({"model": "nosuch/lk-relu"}, "nosuch"),
    ],
)
def test_bad_settings_write_nothing(tmp_path: Path, kw: dict, needle: str) -> None:
    out = tmp_path / "never"
    with pytest.raises(BadInputError, match=needle):
        run_journey(tiny(out, **kw))
    assert not out.exists()


def test_the_demos_default_folder_is_ignored_by_git() -> None:
    """Issue 28.2: ``bash scripts/demo.sh`` writes linkedonnx-demo/ inside the checkout;
    git ignores it (summary.json is not matched by any other rule)."""
    root = Path(__file__).resolve().parents[1]
    probe = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", "linkedonnx-demo/summary.json"], cwd=root
    )
    assert probe.returncode == 0
