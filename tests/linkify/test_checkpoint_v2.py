"""Checkpoint format 2: the optional linkify object round-trips and rebuilds the
linkified network; version-1 files still load; `train(from_checkpoint=...)` starts
from a checkpoint's weights, linkified or not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from linkedonnx.checkpoint import load_checkpoint, load_model, save_checkpoint
from linkedonnx.errors import BadInputError
from linkedonnx.linkify import LinkifyOptions, linkify
from linkedonnx.sources import build_zoo, load_source
from linkedonnx.train import TrainConfig, train
from linkedonnx.zoo import ModelSpec

SPEC = ModelSpec("params/relu", in_channels=1, image_size=8, num_classes=4)


def _linkified(seed: int = 1) -> tuple[torch.nn.Module, torch.nn.Module]:
    original = build_zoo(SPEC, seed=seed)
    model, _ = linkify(original, "lk-relu-minmax", example_input=torch.zeros(SPEC.input_shape(1)))
    with torch.no_grad():  # trained weights: the second half is no longer zero
        for p in model.parameters():
            p.add_(0.01)
    return original, model


def test_linkified_checkpoint_round_trip(tmp_path: Path) -> None:
    _, model = _linkified()
    path = tmp_path / "lk.safetensors"
    options = LinkifyOptions("lk-relu-minmax", preserve_function=True)
    save_checkpoint(path, SPEC, model.state_dict(), {"epoch": 1}, linkify=options)
    ckpt = load_checkpoint(path)
    assert (ckpt.spec, ckpt.linkify, ckpt.info) == (SPEC, options, {"epoch": 1})
    loaded, _ = load_model(path)
    x = torch.randn(2, *SPEC.input_shape(1)[1:])
    torch.testing.assert_close(loaded(x), model.eval()(x), rtol=0, atol=0)
    assert load_source(str(path)).spec == SPEC
    # the same weights without the linkify object do not fit the plain zoo model
    plain = tmp_path / "plain.safetensors"
    save_checkpoint(plain, SPEC, model.state_dict())
    with pytest.raises(BadInputError, match="weights do not match"):
        load_model(plain)


def _version_1(path: Path, spec: dict, state: dict) -> Path:
    tensors = {f"model.{k}": v.contiguous() for k, v in state.items()}
    metadata = {
        "format": "linkedonnx.checkpoint",
        "format_version": "1",
        "spec": json.dumps(spec),
        "info": "{}",
    }
    save_file(tensors, str(path), metadata=metadata)
    return path


def test_version_1_files_still_load_and_cannot_carry_linkify(tmp_path: Path) -> None:
    model = build_zoo(SPEC, seed=4)
    spec = json.loads(SPEC.to_json())
    path = _version_1(tmp_path / "v1.safetensors", spec, model.state_dict())
    loaded, ckpt = load_model(path)
    assert ckpt.spec == SPEC and ckpt.linkify is None
    x = torch.randn(2, *SPEC.input_shape(1)[1:])
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    bad = _version_1(
        tmp_path / "v1-linkify.safetensors", {**spec, "linkify": {"activation": "lk-relu"}}, {}
    )
    with pytest.raises(BadInputError, match="not a model spec"):
        load_checkpoint(bad)


@pytest.mark.parametrize(
    ("linkify_object", "message"),
    [({"activation": "lk-mish"}, "unknown linked activation"), ("yes", "not a linkify object")],
)
def test_bad_linkify_object_is_refused(tmp_path: Path, linkify_object, message: str) -> None:
    path = tmp_path / "bad.safetensors"
    save_checkpoint(path, SPEC, {})
    # rewrite the spec with a bad linkify object, keeping the rest of the file
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    spec = {**json.loads(metadata["spec"]), "linkify": linkify_object}
    save_file({"model.x": torch.zeros(1)}, str(path), {**metadata, "spec": json.dumps(spec)})
    with pytest.raises(BadInputError, match=message):
        load_checkpoint(path)


def _config(**kw) -> TrainConfig:
    base = dict(data="synthetic", epochs=1, max_steps=2, device="cpu", dead_samples=32)
    return TrainConfig(**{**base, **kw})


@pytest.mark.parametrize("linkified", [False, True])
def test_train_starts_from_the_checkpoint_weights(tmp_path: Path, linkified: bool) -> None:
    original, model = _linkified(seed=7)
    start = model if linkified else original
    path = tmp_path / "start.safetensors"
    options = LinkifyOptions("lk-relu-minmax") if linkified else None
    save_checkpoint(path, SPEC, start.state_dict(), linkify=options)
    result = train(_config(from_checkpoint=path, lr=1e-9, out=tmp_path / "run"))
    # a tiny learning rate: the trained weights are the checkpoint's, not a fresh init
    for key, value in start.state_dict().items():
        torch.testing.assert_close(result.model.state_dict()[key], value, atol=1e-6, rtol=0)
    saved = load_checkpoint(tmp_path / "run" / "checkpoint.safetensors")
    assert saved.linkify == options and saved.spec == SPEC


def test_resume_refuses_another_linkify(tmp_path: Path) -> None:
    _, model = _linkified()
    linked = tmp_path / "lk.safetensors"
    save_checkpoint(linked, SPEC, model.state_dict(), linkify=LinkifyOptions("lk-relu-minmax"))
    plain = tmp_path / "plain.safetensors"
    save_checkpoint(plain, SPEC, build_zoo(SPEC).state_dict())
    out = tmp_path / "run"
    train(_config(from_checkpoint=plain, out=out))
    with pytest.raises(BadInputError, match="was written for"):
        train(_config(from_checkpoint=linked, out=out, epochs=2, resume=True))
