"""Accuracy on labelled data as a parity rule (issue 13): a digits-trained checkpoint,
exported with its preprocessing recorded, validated against the checkpoint on the
digits test split; a noisy copy fails on the accuracy drop."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from linkedonnx.arrays import (
    METADATA_KEY,
    Preprocess,
    PreprocessOptions,
    apply,
    load_raw,
    read_preprocess,
)
from linkedonnx.arrays import idx as idx_module
from linkedonnx.checkpoint import load_checkpoint
from linkedonnx.errors import BadInputError
from linkedonnx.export import export_source
from linkedonnx.train import TrainConfig, train
from tests.cli.invoke import run_cli


def noisy_copy(model: onnx.ModelProto, relative: float, seed: int = 0) -> onnx.ModelProto:
    """A copy of ``model`` with Gaussian noise of ``relative`` times each float weight
    tensor's standard deviation added to every weight tensor of rank >= 2."""
    rng = np.random.default_rng(seed)
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for init in copy.graph.initializer:
        array = onnx.numpy_helper.to_array(init)
        if array.ndim >= 2 and array.dtype == np.float32:
            noise = rng.standard_normal(array.shape) * relative * float(array.std())
            init.CopyFrom(
                onnx.numpy_helper.from_array((array + noise).astype(np.float32), init.name)
            )
    return copy


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small LK-ReLU net trained on the digits (standardized, resized to 12), its
    checkpoint, its export and a noisy copy of the export."""
    folder = tmp_path_factory.mktemp("digits")
    config = TrainConfig(
        model="width/lk-relu", data="digits", epochs=2, image_size=12, standardize=True,
        device="cpu", dead_samples=0, out=folder / "run",
    )  # fmt: skip
    result = train(config)
    assert result.final["test_accuracy"] >= 0.90
    checkpoint = folder / "run" / "best.safetensors"
    exported = export_source(str(checkpoint), folder / "m.onnx")
    noisy = folder / "noisy.onnx"
    onnx.save_model(noisy_copy(exported.model, 1.0), str(noisy))
    bare = onnx.ModelProto()
    bare.CopyFrom(exported.model)
    kept = [p for p in bare.metadata_props if p.key != METADATA_KEY]
    del bare.metadata_props[:]
    bare.metadata_props.extend(kept)
    onnx.save_model(bare, str(folder / "bare.onnx"))
    return {"folder": folder, "checkpoint": checkpoint, "onnx": folder / "m.onnx",
            "noisy": noisy, "bare": folder / "bare.onnx"}  # fmt: skip


def test_export_records_the_checkpoints_preprocessing(trained: dict[str, Path]) -> None:
    recorded = read_preprocess(onnx.load(str(trained["onnx"])))
    assert recorded == load_checkpoint(trained["checkpoint"]).preprocess
    assert recorded is not None and recorded.dataset == "digits"
    assert recorded.scale == 16.0 and recorded.image_size == 12 and recorded.channels == 1
    assert recorded.standardized and len(recorded.mean or ()) == 1


def _report(path: Path) -> dict:
    return json.loads(path.read_text())


def test_validate_against_checkpoint_same_accuracy(trained: dict[str, Path], capsys) -> None:
    out = trained["folder"] / "acc.json"
    code, stdout, _ = run_cli(
        capsys, "validate", str(trained["onnx"]), "--reference", str(trained["checkpoint"]),
        "--data", "digits", "--json", str(out),
    )  # fmt: skip
    assert code == 0, stdout
    report = _report(out)
    assert report["passed"] and report["samples"] == 360 and report["data"] == "digits test"
    assert report["model_accuracy"] == report["reference_accuracy"] >= 0.90
    assert report["agreement"] == 1.0
    assert report["output"]["max_abs"] < 1e-3
    assert "PASS" in stdout and "top-1" in stdout


def test_noisy_copy_fails_on_the_accuracy_drop(trained: dict[str, Path], capsys) -> None:
    out = trained["folder"] / "noisy.json"
    code, stdout, _ = run_cli(
        capsys, "validate", str(trained["noisy"]), "--reference", str(trained["onnx"]),
        "--data", "digits", "--json", str(out),
    )  # fmt: skip
    assert code == 1
    report = _report(out)
    assert not report["passed"] and report["accuracy_drop_points"] > 0.5
    assert report["model_accuracy"] < report["reference_accuracy"]
    assert "FAIL" in stdout
    # a generous allowance passes the same pair
    drop = report["accuracy_drop_points"]
    code, _, _ = run_cli(
        capsys, "validate", str(trained["noisy"]), "--reference", str(trained["onnx"]),
        "--data", "digits", "--max-accuracy-drop", str(drop + 0.01),
    )  # fmt: skip
    assert code == 0


def test_model_without_preprocessing_needs_options(trained: dict[str, Path], capsys) -> None:
    bare, ref = str(trained["bare"]), str(trained["onnx"])
    code, _, err = run_cli(capsys, "validate", bare, "--reference", ref, "--data", "digits")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "records no preprocessing" in err and "--standardize or --no-standardize" in err
    out = trained["folder"] / "bare.json"
    code, _, _ = run_cli(
        capsys, "validate", bare, "--reference", ref, "--data", "digits", "--standardize",
        "--json", str(out),
    )  # fmt: skip
    assert code == 0  # statistics from the digits' train split, as in training
    recorded = read_preprocess(onnx.load(ref))
    assert Preprocess.from_dict(_report(out)["preprocess"]) == recorded


def test_npz_data_and_limit(trained: dict[str, Path], capsys) -> None:
    raw = load_raw("digits")
    path = trained["folder"] / "digits.npz"
    np.savez(path, input=raw.test_images[:50], labels=raw.test_labels[:50])
    out = trained["folder"] / "npz.json"
    code, _, _ = run_cli(
        capsys, "validate", str(trained["onnx"]), "--reference", str(trained["checkpoint"]),
        "--data", str(path), "--json", str(out),
    )  # fmt: skip
    assert code == 0
    named = trained["folder"] / "named.json"
    code, _, _ = run_cli(
        capsys, "validate", str(trained["onnx"]), "--reference", str(trained["checkpoint"]),
        "--data", "digits", "--samples", "50", "--json", str(named),
    )  # fmt: skip
    assert code == 0
    assert _report(out)["samples"] == _report(named)["samples"] == 50
    assert _report(out)["model_accuracy"] == _report(named)["model_accuracy"]


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [(["--data", "fashion-mnist"], "dataset-fashion-mnist"),
     (["--data", "digits", "--split", "val"], "unknown split"),
     (["--data", "digits", "--max-accuracy-drop", "-1"], "non-negative"),
     (["--data", "digits", "--inputs", "x.npz"], "exclude each other"),
     (["--scale", "255"], "need --data"),
     (["--data", "digits", "--mean", "0.1,x", "--std", "1"], "--mean")],
)  # fmt: skip
def test_bad_accuracy_options(
    trained: dict[str, Path], capsys, monkeypatch, extra: list[str], fragment: str
) -> None:
    monkeypatch.setattr(idx_module, "FASHION_MNIST_DIR", trained["folder"] / "absent")
    code, _, err = run_cli(capsys, "validate", str(trained["onnx"]), *extra)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert fragment in err


def test_inspect_uses_the_recorded_preprocessing(trained: dict[str, Path]) -> None:
    from linkedonnx.inspect import inspect_source

    def peaks(report) -> list[float]:
        return [layer.peak for layer in report.layers]

    recorded = inspect_source(str(trained["onnx"]), batches=1, batch_size=64)
    # the same as naming the data set and computing its statistics for a bare model
    named = inspect_source(str(trained["bare"]), "digits", batches=1, batch_size=64,
                           standardize=True)  # fmt: skip
    assert peaks(recorded) == peaks(named)
    raw = inspect_source(str(trained["onnx"]), "digits", batches=1, batch_size=64,
                         standardize=False)  # fmt: skip
    assert peaks(raw) != peaks(recorded)
    torch_side = inspect_source(str(trained["checkpoint"]), batches=1, batch_size=64)
    assert peaks(torch_side) == pytest.approx(peaks(recorded), rel=1e-4, abs=1e-6)
    with pytest.raises(BadInputError, match="apply to checkpoints"):
        inspect_source("zoo:width/lk-relu", "digits", options=PreprocessOptions(scale=2.0))


def test_bench_feeds_the_recorded_data(trained: dict[str, Path], capsys) -> None:
    from linkedonnx.runtime.bench import _data_inputs, bench_models

    model = onnx.load(str(trained["onnx"]))
    feeds, described = _data_inputs(model, None, 5, None, None)
    assert described.startswith("digits test") and "standardized" in described
    expected = apply(load_raw("digits").test_images[:5], read_preprocess(model))
    assert feeds is not None and np.array_equal(feeds["input"], expected)
    assert _data_inputs(onnx.load(str(trained["bare"])), None, 5, None, None) == (None, "seeded")
    report = bench_models([trained["onnx"], trained["noisy"]], batch=4, warmup=0, runs=2)
    assert report.data.startswith("digits test")
    assert bench_models([trained["onnx"]], batch=4, warmup=0, runs=1, seeded=True).data == "seeded"
    code, out, _ = run_cli(capsys, "bench", str(trained["onnx"]), "--runs", "2", "--warmup", "0")
    assert code == 0 and "inputs digits test" in out
    code, _, err = run_cli(capsys, "bench", str(trained["bare"]), "--data", "digits")
    assert code == 2 and "records no preprocessing" in err


def test_inspect_command_defaults_to_the_recorded_data(trained: dict[str, Path], capsys) -> None:
    out = trained["folder"] / "dead.json"
    code, _, _ = run_cli(
        capsys, "inspect", str(trained["onnx"]), "--samples", "50", "--batch", "50",
        "--json", str(out),
    )  # fmt: skip
    assert code == 0 and _report(out)["samples"] == 50
    code, _, err = run_cli(capsys, "inspect", str(trained["onnx"]), "--mean", "0.1", "--std", "0")
    assert code == 2 and "std values must be positive" in err


def test_fixed_batch_models_get_padded_batches() -> None:
    from linkedonnx.runtime.accuracy import predict_both

    seen: list[int] = []

    def run(feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        x = feeds["x"]
        seen.append(len(x))
        return [x.reshape(len(x), -1)]

    images = np.arange(7 * 2, dtype=np.float32).reshape(7, 1, 1, 2)
    batches = (images[i : i + 3] for i in range(0, 7, 3))
    ours, theirs = predict_both(run, run, "x", batches, fixed_batch=3)
    assert seen == [3] * 6  # 3 batches, each run by both sides, the last padded to 3
    assert np.array_equal(ours, images.reshape(7, 2)) and np.array_equal(ours, theirs)


def test_accuracy_between_onnx_files_does_not_load_torch(trained: dict[str, Path]) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from linkedonnx.runtime.accuracy import validate_accuracy\n"
        f"r = validate_accuracy({str(trained['noisy'])!r}, {str(trained['onnx'])!r}, None, limit=40)\n"
        "assert r.samples == 40 and r.data == 'digits test', r.to_dict()\n"
        "print('torch' in sys.modules)\n"
    )
    root = str(Path(__file__).resolve().parents[2])
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={"PYTHONPATH": root, "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.stdout.strip() == "False"
