"""`linkedonnx linkify`: the acceptance chain (linkify -> export -> validate against the
linkified checkpoint and against the original zoo model), the report, `train --from`,
and one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open

from linkedonnx.checkpoint import load_checkpoint, load_model
from linkedonnx.linkify import LinkifyOptions
from linkedonnx.sources import build_zoo
from linkedonnx.zoo import ModelSpec
from tests.cli.invoke import run_cli


def _one_line_error(err: str, fragment: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("linkedonnx: error: ") and fragment in lines[0], err


def test_linkify_export_validate_against_both_references(tmp_path: Path, capsys) -> None:
    lk, onnx_path, report = tmp_path / "lk.safetensors", tmp_path / "lk.onnx", tmp_path / "r.json"
    code, out, err = run_cli(
        capsys, "linkify", "zoo:resnet/relu", "-o", str(lk), "--image-size", "8",
        "--json", str(report),
    )  # fmt: skip
    assert code == 0, err
    assert "37 activations linked (lk-relu), 12 left" in out
    assert "res2a.act2a" in out and "residual Add" in out
    data = json.loads(report.read_text())
    assert (data["linked"], data["left"], len(data["activations"])) == (37, 12, 49)
    assert data["params_after"] > data["params_before"]
    with safe_open(str(lk), framework="pt") as handle:
        meta = handle.metadata()
    assert meta["format_version"] == "2"
    assert json.loads(meta["spec"])["linkify"] == {
        "activation": "lk-relu",
        "preserve_function": True,
    }
    code, out, err = run_cli(capsys, "export", str(lk), "-o", str(onnx_path))
    assert code == 0, err
    assert "37 LinkedRelu (as functions)" in out
    code, out, err = run_cli(capsys, "validate", str(onnx_path), "--reference", str(lk))
    assert code == 0, out + err
    code, out, err = run_cli(capsys, "validate", str(onnx_path), "--reference", "zoo:resnet/relu")
    assert code == 0, out + err  # the function is preserved
    assert "PASS" in out


def test_linkified_checkpoint_reloads_and_equals_the_seeded_zoo_model(tmp_path: Path, capsys):
    lk = tmp_path / "lk.safetensors"
    code, _, err = run_cli(
        capsys, "linkify", "zoo:params/prelu", "-o", str(lk), "--activation", "lk-prelu",
        "--image-size", "8", "--seed", "3",
    )  # fmt: skip
    assert code == 0, err
    model, ckpt = load_model(lk)
    assert ckpt.linkify == LinkifyOptions("lk-prelu", True)
    assert ckpt.info["linkify"]["linked"] == 5
    original = build_zoo(ModelSpec("params/prelu", image_size=8), seed=3)
    x = torch.randn(3, 3, 8, 8)
    torch.testing.assert_close(model(x), original(x), atol=1e-5, rtol=1e-5)


def test_train_from_a_linkified_checkpoint(tmp_path: Path, capsys) -> None:
    lk = tmp_path / "lk.safetensors"
    geometry = ["--in-channels", "1", "--image-size", "8", "--num-classes", "4"]
    code, _, err = run_cli(capsys, "linkify", "zoo:width/relu", "-o", str(lk), *geometry)
    assert code == 0, err
    start, _ = load_model(lk)
    out = tmp_path / "run"
    code, stdout, err = run_cli(
        capsys, "train", "--from", str(lk), "--data", "synthetic", "--epochs", "1",
        "--max-steps", "3", "--device", "cpu", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert "width/relu" in stdout
    trained = load_checkpoint(out / "checkpoint.safetensors")
    assert trained.linkify == LinkifyOptions("lk-relu", True)
    model, _ = load_model(out / "checkpoint.safetensors")
    # training started from the checkpoint's weights (the first half unchanged in shape,
    # the second half's zero columns now trained)
    fc = model.get_submodule("fc").weight
    assert fc.shape == start.get_submodule("fc").weight.shape
    assert fc[:, fc.shape[1] // 2 :].abs().max() > 0
    assert start.get_submodule("fc").weight[:, fc.shape[1] // 2 :].abs().max() == 0
    # --resume with --from continues the same linkified run
    code, _, err = run_cli(
        capsys, "train", "--from", str(lk), "--data", "synthetic", "--epochs", "2",
        "--max-steps", "4", "--device", "cpu", "--out", str(out), "--resume",
    )  # fmt: skip
    assert code == 0, err


def test_train_from_checkpoint_errors(tmp_path: Path, capsys) -> None:
    lk = tmp_path / "lk.safetensors"
    code, _, err = run_cli(capsys, "linkify", "zoo:width/relu", "-o", str(lk), "--image-size", "8")
    assert code == 0, err
    out = ["--out", str(tmp_path / "run")]  # without --out, train's first line says so
    code, _, err = run_cli(capsys, "train", "--from", str(lk), "--data", "synthetic", *out)
    assert code == 2
    _one_line_error(err, "3 channels")
    code, _, err = run_cli(
        capsys, "train", "--from", str(lk), "--model", "width/relu", "--data", "synthetic", *out
    )
    assert code == 2
    _one_line_error(err, "not both")
    code, _, err = run_cli(capsys, "train", "--data", "synthetic", *out)
    assert code == 2
    _one_line_error(err, "--model")


def test_linkify_errors_are_one_line(tmp_path: Path, capsys) -> None:
    lk = tmp_path / "lk.safetensors"
    code, _, err = run_cli(capsys, "linkify", "zoo:width/relu", "-o", str(lk), "--image-size", "8")
    assert code == 0, err
    cases = [
        (["zoo:width/relu", "-o", str(tmp_path / "x.safetensors"), "--activation", "lk-tanh"],
         "unknown linked activation"),
        (["zoo:width/nosuch", "-o", str(tmp_path / "x.safetensors")], "unknown model name"),
        ([str(lk), "-o", str(tmp_path / "y.safetensors")], "already linkified"),
        ([str(lk), "-o", str(lk)], "refusing to overwrite an input"),
        (["zoo:width/relu", "-o", str(tmp_path)], "is a directory"),
    ]  # fmt: skip
    before = lk.read_bytes()
    for args, fragment in cases:
        code, _, err = run_cli(capsys, "linkify", *args)
        assert code == 2, args
        _one_line_error(err, fragment)
    assert lk.read_bytes() == before
    assert not (tmp_path / "x.safetensors").exists() and not (tmp_path / "y.safetensors").exists()
