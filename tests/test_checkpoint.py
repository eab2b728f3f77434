"""Checkpoints: round trip, every kind of bad file as a one-line BadInputError, and
save -> export from the checkpoint -> validate against the checkpoint."""

from __future__ import annotations

import json

import onnx
import pytest
import torch
from safetensors.torch import save_file

from linkedonnx.checkpoint import load_checkpoint, load_model, save_checkpoint
from linkedonnx.errors import BadInputError
from linkedonnx.export import export_source
from linkedonnx.sources import build_zoo, load_source
from linkedonnx.validate import validate
from linkedonnx.zoo import ModelSpec

SPEC = ModelSpec("width/lk-prelu", image_size=8)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[torch.nn.Module, object]:
    """A checkpoint whose weights differ from any seeded initialisation."""
    model = build_zoo(SPEC, seed=5)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.5).add_(0.01)
    path = tmp_path_factory.mktemp("ckpt") / "model.safetensors"
    save_checkpoint(
        path, SPEC, model.state_dict(), info={"epoch": 3}, extra_tensors={"step": torch.ones(1)}
    )
    return model, path


def test_round_trip(trained) -> None:
    model, path = trained
    ckpt = load_checkpoint(path)
    assert ckpt.spec == SPEC and ckpt.info == {"epoch": 3}
    assert set(ckpt.extra_tensors) == {"step"}
    loaded, _ = load_model(path)
    assert not loaded.training
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value, rtol=0, atol=0)


def test_export_from_checkpoint_then_validate_against_it(trained, tmp_path) -> None:
    _, path = trained
    out = tmp_path / "m.onnx"
    result = export_source(str(path), out)
    meta = {p.key: p.value for p in onnx.load(out).metadata_props}
    assert meta["linkedonnx.source"] == str(path)
    assert json.loads(meta["linkedonnx.spec"])["image_size"] == 8
    assert result.calls == {"LinkedPRelu": 1}
    report = validate(out, str(path), batch=3)
    assert report.passed, report.summary()
    assert "pytorch" in report.reference
    # the seeded zoo model is a different network: validation must fail, not error
    other = validate(out, "zoo:width/lk-prelu", batch=3)
    assert not other.passed


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _bad_files(tmp_path, good_bytes: bytes) -> dict[str, object]:
    other_spec = ModelSpec("width/lk-relu", image_size=8)
    wrong = tmp_path / "wrong-weights.safetensors"
    save_checkpoint(wrong, SPEC, build_zoo(other_spec).state_dict())
    missing = tmp_path / "missing-key.safetensors"
    state = build_zoo(SPEC).state_dict()
    state.pop(next(iter(state)))
    save_checkpoint(missing, SPEC, state)
    unknown = tmp_path / "unknown-model.safetensors"
    save_checkpoint(unknown, ModelSpec("nosuch/model"), state)
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.ones(2)}, str(plain))
    pickled = tmp_path / "pickle.pt"
    torch.save({"w": torch.ones(2)}, pickled)
    return {
        "missing": (tmp_path / "nope.safetensors", "nor an existing checkpoint"),
        "directory": (tmp_path, "is a directory"),
        "empty": (_write(tmp_path / "empty.safetensors", b""), "is empty"),
        "random": (_write(tmp_path / "random.bin", bytes(range(256)) * 8), "not a readable"),
        "truncated": (
            _write(tmp_path / "cut.safetensors", good_bytes[: len(good_bytes) // 2]),
            "not a readable",
        ),
        "other safetensors": (plain, "not a linkedonnx checkpoint"),
        "torch pickle": (pickled, "not a readable"),
        "mismatched weights": (wrong, "weights do not match"),
        "missing key": (missing, "weights do not match"),
        "unknown model": (unknown, "nosuch"),
    }


def test_bad_checkpoints_are_one_line_errors(trained, tmp_path) -> None:
    _, good = trained
    for case, (path, message) in _bad_files(tmp_path, good.read_bytes()).items():
        with pytest.raises(BadInputError) as info:
            load_source(str(path))
        text = str(info.value)
        assert message in text, (case, text)
        assert "\n" not in text, case


def test_checkpoint_geometry_options_must_agree(trained) -> None:
    _, path = trained
    assert load_source(str(path), image_size=8).spec == SPEC
    with pytest.raises(BadInputError, match="disagree"):
        load_source(str(path), image_size=16)
