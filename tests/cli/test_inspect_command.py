"""`linkedonnx inspect`: table, JSON report, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.invoke import run_cli


def test_inspect_zoo_model_table_and_json(tmp_path: Path, capsys) -> None:
    report = tmp_path / "dead.json"
    code, out, _ = run_cli(
        capsys, "inspect", "zoo:depth/relu", "--data", "synthetic", "--samples", "128",
        "--json", str(report),
    )  # fmt: skip
    assert code == 0
    assert "dead units of zoo:depth/relu" in out and "total" in out
    payload = json.loads(report.read_text())
    assert len(payload["layers"]) == 51
    assert payload["units"] == 51 * 4
    assert payload["dead"] == sum(layer["dead"] for layer in payload["layers"])


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("missing.safetensors", "does not exist"),
        ("missing.onnx", "does not exist"),
        ("zoo:depth/bogus", "unknown model"),
    ],
)
def test_bad_source(tmp_path: Path, capsys, source: str, fragment: str) -> None:
    if not source.startswith("zoo:"):
        source = str(tmp_path / source)
    code, _, err = run_cli(capsys, "inspect", source, "--data", "synthetic")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("linkedonnx: error: ")
    assert fragment in lines[0]


def test_corrupt_onnx(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    code, _, err = run_cli(capsys, "inspect", str(bad), "--data", "synthetic")
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_inspect_a_default_export_needs_no_flags(tmp_path: Path, capsys) -> None:
    """`export zoo:allcnn/lk-relu -o m.onnx && inspect m.onnx` (issue 17.3): a 3-channel
    model with no recorded data set runs on synthetic images of its size, and says so."""
    model, report = tmp_path / "m.onnx", tmp_path / "dead.json"
    assert run_cli(capsys, "export", "zoo:allcnn/lk-relu", "-o", str(model))[0] == 0
    code, out, err = run_cli(
        capsys, "inspect", str(model), "--samples", "128", "--json", str(report)
    )
    assert code == 0, err
    assert "synthetic" in out and "say nothing about trained behaviour" in out
    payload = json.loads(report.read_text())
    assert payload["data"] == "synthetic" and payload["samples"] == 128
    assert any("synthetic" in note for note in payload["notes"])


def test_inspect_refuses_an_image_size_the_model_does_not_take(tmp_path: Path, capsys) -> None:
    from linkedonnx.checkpoint import save_checkpoint
    from linkedonnx.export import export_model
    from linkedonnx.zoo import ModelSpec, build

    spec = ModelSpec("params/lk-relu", in_channels=1, image_size=16, num_classes=10)
    module = build(spec)
    ckpt = save_checkpoint(tmp_path / "c.safetensors", spec, module.state_dict())
    export_model(module, spec, tmp_path / "m.onnx")
    for source, size in ((tmp_path / "m.onnx", "12"), (ckpt, "12")):
        code, _, err = run_cli(capsys, "inspect", str(source), "--image-size", size)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1, err
        assert "12×12" in lines[0]
    code, out, err = run_cli(capsys, "inspect", str(ckpt), "--samples", "128")
    assert code == 0 and "digits" in out, err  # one channel: the embedded digits


def test_inspect_prefers_the_data_set_recorded_at_export(tmp_path: Path, capsys) -> None:
    """A checkpoint's recorded preprocessing (its data set included) travels into the
    export's metadata (linkedonnx.preprocess) and `inspect m.onnx` runs on that data
    set without --data; a checkpoint older than that record falls back to its training
    config."""
    import onnx

    from linkedonnx.arrays.preprocess import METADATA_KEY, Preprocess
    from linkedonnx.checkpoint import save_checkpoint
    from linkedonnx.zoo import ModelSpec, build

    spec = ModelSpec("params/lk-relu", in_channels=1, image_size=8, num_classes=4)
    recorded = Preprocess("synthetic", 255.0, None, None, 8, 1)
    info = {"preprocess": recorded.to_dict()}
    ckpt = save_checkpoint(tmp_path / "c.safetensors", spec, build(spec).state_dict(), info)
    model = tmp_path / "m.onnx"
    assert run_cli(capsys, "export", str(ckpt), "-o", str(model))[0] == 0
    meta = {p.key: p.value for p in onnx.load(model).metadata_props}
    assert "synthetic" in meta[METADATA_KEY] and "linkedonnx.data" not in meta
    for source in (model, ckpt):
        code, out, err = run_cli(capsys, "inspect", str(source), "--samples", "128")
        assert code == 0, err
        assert "128 synthetic samples" in out  # not digits, the default for one channel
    old = save_checkpoint(
        tmp_path / "old.safetensors", spec, build(spec).state_dict(),
        {"config": {"data": "synthetic"}},
    )  # fmt: skip
    code, out, err = run_cli(capsys, "inspect", str(old), "--samples", "128")
    assert code == 0 and "128 synthetic samples" in out, err
