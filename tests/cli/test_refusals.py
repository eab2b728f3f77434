"""Options that would be ignored, or sizes below one, are refused (issue 17.2): exit 2
and one line saying why, before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.invoke import run_cli
from tests.cli.tiny_models import relu_model


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """A one-Relu ONNX model and a (never read) checkpoint path."""
    relu_model(tmp_path / "m.onnx")
    return {
        "m": str(tmp_path / "m.onnx"),
        "o": str(tmp_path / "o.onnx"),
        "ckpt": str(tmp_path / "run" / "best.safetensors"),
        "dir": str(tmp_path),
    }


REFUSALS = {
    "fp16-io without fp16": (["optimize", "{m}", "-o", "{o}", "--fp16-io"], "add --fp16"),
    "tune with cuda": (["optimize", "{m}", "-o", "{o}", "--tune", "--target", "cuda"], "--tune"),
    "form with tune": (["optimize", "{m}", "-o", "{o}", "--tune", "--form", "dw"], "--form dw"),
    "optimize batch 0": (["optimize", "{m}", "-o", "{o}", "--tune", "--batch", "0"], "--batch"),
    "export batch 0": (["export", "zoo:params/lk-relu", "-o", "{o}", "--batch", "0"], "--batch"),
    "export image size 0": (
        ["export", "zoo:params/lk-relu", "-o", "{o}", "--image-size", "0"],
        "--image-size",
    ),
    "validate batch 0": (["validate", "{m}", "--batch", "0"], "--batch"),
    "bench batch -1": (["bench", "{m}", "--batch", "-1"], "--batch"),
    "inspect image size 0": (["inspect", "{m}", "--image-size", "0"], "--image-size"),
    "inspect batch size 0": (["inspect", "{m}", "--batch", "0"], "--batch"),
    "train image size -2": (
        ["train", "--model", "params/lk-relu", "--image-size", "-2"],
        "--image-size",
    ),
    "train batch size 0": (["train", "--model", "params/lk-relu", "--batch", "0"], "--batch"),
    "experiment image size 0": (["experiment", "depth", "--image-size", "0"], "--image-size"),
    "inspect init with checkpoint": (["inspect", "{ckpt}", "--init", "torch"], "--init"),
    "inspect seed with checkpoint": (["inspect", "{ckpt}", "--seed", "1"], "--seed"),
    "inspect init with onnx": (["inspect", "{m}", "--init", "keras"], "--init"),
    "inspect seed with onnx": (["inspect", "{m}", "--seed", "0"], "--seed"),
    "inspect provider with zoo": (
        ["inspect", "zoo:params/lk-relu", "--provider", "cpu"],
        "--provider",
    ),
    "inspect provider with checkpoint": (["inspect", "{ckpt}", "--provider", "cpu"], "--provider"),
    "export seed with checkpoint": (["export", "{ckpt}", "-o", "{o}", "--seed", "1"], "--seed"),
    "train data-dir with digits": (
        ["train", "--model", "params/lk-relu", "--data-dir", "{dir}", "--out", "{dir}/run"],
        "--data-dir",
    ),
    "inspect data-dir with synthetic": (
        ["inspect", "zoo:params/lk-relu", "--data", "synthetic", "--data-dir", "{dir}"],
        "--data-dir",
    ),
    "experiment data-dir with digits": (
        [
            "experiment",
            "params",
            "--activations",
            "relu",
            "--data-dir",
            "{dir}",
            "--out",
            "{dir}/exp",
        ],
        "--data-dir",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_ignored_or_impossible_options_are_refused(
    case: str, files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    args, why = REFUSALS[case]
    before = sorted(Path(files["dir"]).rglob("*"))
    code, _, err = run_cli(capsys, *(a.format(**files) for a in args))
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("linkedonnx: error: "), err
    assert why in lines[0]
    assert sorted(Path(files["dir"]).rglob("*")) == before


def test_train_without_out_says_so_on_its_first_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(
        capsys,
        "train",
        "--model",
        "params/lk-relu",
        "--data",
        "synthetic",
        "--epochs",
        "1",
        "--max-steps",
        "1",
        "--dead-samples",
        "8",
    )
    assert code == 0, err
    assert "nothing will be saved" in err.strip().splitlines()[0]


@pytest.mark.parametrize(
    "option",
    [["--split", "train"], ["--max-accuracy-drop", "2"], ["--data-dir", "{dir}"],
     ["--samples", "5"], ["--standardize"], ["--split", "test"]],
)  # fmt: skip
def test_validate_refuses_the_options_of_labelled_data_without_data(
    option: list[str], files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 28.1: each option of ``validate --data`` given without --data is refused,
    even when set to its default value, instead of being ignored."""
    code, out, err = run_cli(capsys, "validate", files["m"], *(a.format(**files) for a in option))
    assert code == 2 and not out, err
    assert err.startswith(f"linkedonnx: error: {option[0]} need --data")


@pytest.mark.parametrize("option", [["--batch", "4"], ["--atol", "0.1"], ["--rtol", "0.1"]])
def test_validate_refuses_the_options_of_element_wise_parity_with_data(
    option: list[str], files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 28.1: --batch, --atol and --rtol mean nothing for accuracy on labelled data."""
    code, _, err = run_cli(capsys, "validate", files["m"], "--data", "digits", *option)
    assert code == 2 and err.startswith(f"linkedonnx: error: {option[0]} do not go with"), err
