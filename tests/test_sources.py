"""SOURCE strings: seeded zoo models, geometry options, and what is not a SOURCE."""

from __future__ import annotations

import pytest
import torch

from linkedonnx.errors import BadInputError
from linkedonnx.source_ref import parse_source
from linkedonnx.sources import build_zoo, is_zoo, load_source
from linkedonnx.zoo import ModelSpec


def _weights(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def test_zoo_source_is_seeded_and_leaves_the_global_rng_alone() -> None:
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    a = load_source("zoo:width/lk-relu", seed=3, image_size=8)
    assert torch.equal(torch.random.get_rng_state(), state)
    b = load_source("zoo:width/lk-relu", seed=3, image_size=8)
    c = load_source("zoo:width/lk-relu", seed=4, image_size=8)
    assert a.spec == ModelSpec("width/lk-relu", image_size=8)
    assert a.label == "zoo:width/lk-relu seed=3" and a.checkpoint is None
    assert not a.model.training
    assert all(torch.equal(x, y) for x, y in zip(_weights(a.model), _weights(b.model), strict=True))
    assert not all(
        torch.equal(x, y) for x, y in zip(_weights(a.model), _weights(c.model), strict=True)
    )
    direct = build_zoo(ModelSpec("width/lk-relu", image_size=8), seed=3)
    assert all(torch.equal(x, y) for x, y in zip(_weights(a.model), _weights(direct), strict=True))


def test_geometry_options_shape_the_model() -> None:
    src = load_source("zoo:width/relu", in_channels=1, image_size=6, num_classes=4)
    out = src.model(torch.zeros(2, 1, 6, 6))
    assert tuple(out.shape) == (2, 4)


@pytest.mark.parametrize(
    ("source", "kwargs", "message"),
    [
        ("zoo:", {}, "names no model"),
        ("zoo:nosuch/model", {}, "nosuch"),
        ("zoo:width/relu", {"image_size": 0}, "image-size must be at least 1"),
        ("width/relu", {}, "did you mean zoo:width/relu"),
        ("missing.safetensors", {}, "neither zoo:NAME nor an existing checkpoint"),
    ],
)
def test_bad_sources(source: str, kwargs: dict, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        load_source(source, **kwargs)


def test_is_zoo() -> None:
    assert is_zoo("zoo:allcnn/lk-relu") and not is_zoo("allcnn/lk-relu")


@pytest.mark.parametrize(
    ("text", "kind", "name", "path"),
    [
        ("zoo:allcnn/lk-relu", "zoo", "allcnn/lk-relu", None),
        ("runs/lk/best.safetensors", "checkpoint", "", "runs/lk/best.safetensors"),
        ("m.onnx", "onnx", "", "m.onnx"),
        ("dir/M.ONNX", "onnx", "", "dir/M.ONNX"),
        ("zoo.onnx", "onnx", "", "zoo.onnx"),
    ],
)
def test_parse_source(text: str, kind: str, name: str, path: str | None) -> None:
    ref = parse_source(text)
    assert (ref.kind, ref.name, ref.text) == (kind, name, text)
    if path is None:
        with pytest.raises(BadInputError, match="names a zoo model"):
            _ = ref.path
    else:
        assert str(ref.path) == path


@pytest.mark.parametrize(("text", "message"), [("zoo:", "names no model"), ("", "empty")])
def test_parse_source_refuses(text: str, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        parse_source(text)
