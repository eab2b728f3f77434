"""Zoo names: the full list, parsing, canonical spelling, helpful errors."""

from __future__ import annotations

import pytest

from linkedonnx.errors import BadInputError
from linkedonnx.zoo import FAMILIES, ModelName, names, parse_name
from linkedonnx.zoo.naming import BN_DEFAULT


def test_names_cover_every_combination_once_sorted() -> None:
    all_names = names()
    assert all_names == sorted(all_names)
    assert len(all_names) == len(set(all_names))
    # 5 families × (5 activations × 3 forms + lk-relu-minmax) × BN default/override
    assert len(all_names) == 5 * (5 * 3 + 1) * 2
    for expected in (
        "allcnn/lk-relu",
        "allcnn/relu",
        "allcnn/ext-relu",
        "depth/lk-relu",
        "depth/relu-bn",
        "resnet/lk-selu-nobn",
        "resnet/lk-selu",
        "width/lk-relu-minmax",
        "params/lk-prelu-bn",
        "params/ext-swish",
    ):
        assert expected in all_names
    for absent in ("resnet/relu-bn", "depth/relu-nobn", "allcnn/ext-relu-minmax"):
        assert absent not in all_names


def test_names_by_family() -> None:
    for family in FAMILIES:
        subset = names(family)
        assert len(subset) == 32
        assert all(n.startswith(family + "/") for n in subset)
    with pytest.raises(BadInputError, match="unknown model family 'nope'"):
        names("nope")


def test_every_name_round_trips() -> None:
    for name in names():
        parsed = parse_name(name)
        assert parsed.name == name
        assert str(parsed) == name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("allcnn/lk-relu", ModelName("allcnn", "relu", "linked", "mirror", False)),
        ("allcnn/relu", ModelName("allcnn", "relu", "single", None, False)),
        ("depth/ext-selu", ModelName("depth", "selu", "extended", None, False)),
        ("resnet/lk-selu-nobn", ModelName("resnet", "selu", "linked", "mirror", False)),
        ("resnet/swish", ModelName("resnet", "swish", "single", None, True)),
        ("width/lk-relu-minmax", ModelName("width", "relu", "linked", "minmax", False)),
        ("params/lk-prelu-bn", ModelName("params", "prelu", "linked", "mirror", True)),
        ("allcnn/lk-relu-minmax-bn", ModelName("allcnn", "relu", "linked", "minmax", True)),
    ],
)
def test_parse_name(name: str, expected: ModelName) -> None:
    parsed = parse_name(name)
    assert parsed == expected
    assert parsed.linked == (expected.form == "linked")
    assert parsed.extended == (expected.form == "extended")


def test_parsed_name_is_frozen() -> None:
    parsed = parse_name("allcnn/lk-relu")
    with pytest.raises(AttributeError):
        parsed.family = "depth"  # type: ignore[misc]


def test_redundant_default_suffix_is_accepted_and_canonicalized() -> None:
    assert parse_name("depth/relu-nobn") == parse_name("depth/relu")
    assert parse_name("resnet/lk-relu-bn").name == "resnet/lk-relu"
    assert parse_name("depth/relu-bn").batch_norm is True
    assert parse_name("resnet/relu-nobn").batch_norm is False
    assert BN_DEFAULT["resnet"] and not BN_DEFAULT["depth"]


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("allcnn/lk-rleu", "allcnn/lk-relu"),
        ("alcnn/lk-relu", "allcnn/lk-relu"),
        ("resnet/lk-selu-nbn", "resnet/lk-selu-nobn"),
        ("allcnn/ext-relu-minmax", None),
        ("allcnn/lk-selu-minmax", None),
        ("allcnn/relu-minmax", None),
        ("allcnn", None),
        ("", None),
        ("allcnn/lk-tanh", None),
        ("allcnn/lk-lk-relu", None),
    ],
)
def test_unknown_names_raise_one_line_with_suggestions(name: str, suggestion: str | None) -> None:
    with pytest.raises(BadInputError) as info:
        parse_name(name)
    message = str(info.value)
    assert "\n" not in message
    assert f"unknown model name {name!r}" in message
    if suggestion is not None:
        assert "did you mean" in message and repr(suggestion) in message


def test_non_string_name_is_bad_input() -> None:
    with pytest.raises(BadInputError):
        parse_name(42)  # type: ignore[arg-type]
