"""`linkedonnx zoo`: the table, --family, --json, one-line error for an unknown family."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linkedonnx.zoo.stats import zoo_stats
from tests.cli.invoke import run_cli


def test_zoo_lists_every_model(capsys: pytest.CaptureFixture) -> None:
    code, out, err = run_cli(capsys, "zoo")
    assert code == 0, err
    assert "allcnn/lk-relu " in out
    assert "resnet/lk-selu-nobn" in out
    assert (
        "160 models" in out
    )  # 5 families x (6 activations x 3 variants + lk-relu-minmax) x BN on/off
    assert "2,735,626" in out  # allcnn/lk-relu's parameter count


def test_zoo_family_and_json(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    target = tmp_path / "zoo.json"
    code, out, err = run_cli(capsys, "zoo", "--family", "width", "--json", str(target))
    assert code == 0, err
    assert "width/lk-relu" in out and "allcnn/" not in out
    data = json.loads(target.read_text())
    assert data["input_shape"] == [1, 3, 32, 32]
    assert data["models"] == [row.to_dict() for row in zoo_stats("width")]


def test_unknown_family_is_one_line_exit_2(capsys: pytest.CaptureFixture) -> None:
    code, out, err = run_cli(capsys, "zoo", "--family", "nope")
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("linkedonnx: error: unknown model family 'nope'")
    assert "Traceback" not in out + err
