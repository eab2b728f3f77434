"""`linkedonnx export`: summary line, functions in the file, and every bad SOURCE or
checkpoint as one line on stderr, exit 2 and no output file."""

from __future__ import annotations

import onnx
import pytest
import torch
from safetensors.torch import save_file

from linkedonnx import DOMAIN
from linkedonnx.checkpoint import save_checkpoint
from linkedonnx.sources import build_zoo
from linkedonnx.zoo import ModelSpec
from tests.cli.invoke import run_cli


def test_export_zoo_model_with_functions_and_inlined(tmp_path, capsys) -> None:
    out = tmp_path / "m.onnx"
    code, stdout, err = run_cli(
        capsys, "export", "zoo:width/lk-swish", "-o", str(out), "--image-size", "8", "--seed", "2"
    )
    assert code == 0, err
    assert "1 LinkedSwish (as functions)" in stdout and "nodes" in stdout and "MB" in stdout
    model = onnx.load(out)
    assert [f.name for f in model.functions] == ["LinkedSwish"]
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["linkedonnx.source"] == "zoo:width/lk-swish seed=2"
    flat = tmp_path / "flat.onnx"
    code, stdout, _ = run_cli(
        capsys,
        "export",
        "zoo:width/lk-swish",
        "-o",
        str(flat),
        "--image-size",
        "8",
        "--inline",
        "--opset",
        "20",
    )
    assert code == 0 and "1 LinkedSwish (inlined)" in stdout
    inlined = onnx.load(flat)
    assert not inlined.functions and all(n.domain != DOMAIN for n in inlined.graph.node)
    assert {o.domain: o.version for o in inlined.opset_import} == {"": 20}


def _checkpoints(tmp_path) -> dict[str, tuple[str, str]]:
    spec = ModelSpec("width/lk-relu", image_size=8)
    good = tmp_path / "good.safetensors"
    save_checkpoint(good, spec, build_zoo(spec).state_dict())
    data = good.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) // 3])
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(data[:8] + b"\xff" * 64 + data[72:])
    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(3)}, str(other))
    pickled = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(3)}, pickled)
    wrong = tmp_path / "wrong.safetensors"
    save_checkpoint(wrong, spec, build_zoo(ModelSpec("width/relu", image_size=8)).state_dict())
    (tmp_path / "empty.safetensors").write_bytes(b"")
    (tmp_path / "model.onnx").write_bytes(b"not really")
    return {
        "unknown zoo name": ("zoo:nosuch/thing", "nosuch"),
        "empty zoo name": ("zoo:", "names no model"),
        "missing file": (str(tmp_path / "missing.safetensors"), "neither zoo:NAME"),
        "bare zoo name": ("allcnn/lk-relu", "did you mean zoo:allcnn/lk-relu"),
        "directory": (str(tmp_path), "is a directory"),
        "empty": (str(tmp_path / "empty.safetensors"), "is empty"),
        "truncated": (str(cut), "not a readable linkedonnx checkpoint"),
        "corrupt": (str(corrupt), "not a readable linkedonnx checkpoint"),
        "other format": (str(other), "not a linkedonnx checkpoint"),
        "pickle": (str(pickled), "not a readable linkedonnx checkpoint"),
        "mismatched weights": (str(wrong), "weights do not match"),
        "onnx as source": (str(tmp_path / "model.onnx"), "is an ONNX file"),
    }


def test_bad_sources_exit_2_with_one_line_and_no_output(tmp_path, capsys) -> None:
    out = tmp_path / "out.onnx"
    for case, (source, message) in _checkpoints(tmp_path).items():
        code, _, err = run_cli(capsys, "export", source, "-o", str(out))
        assert code == 2, (case, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("linkedonnx: error:"), (case, err)
        assert message in lines[0], (case, lines[0])
        assert not out.exists(), case
        assert not list(tmp_path.glob(".out.onnx.*")), case


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--opset", "16"], "opset 16 is not supported"),
        (["--batch", "0"], "batch must be at least 1"),
        (["--image-size", "0"], "image-size must be at least 1"),
    ],
)
def test_bad_options_exit_2(tmp_path, capsys, args, message) -> None:
    out = tmp_path / "out.onnx"
    code, _, err = run_cli(capsys, "export", "zoo:width/lk-relu", "-o", str(out), *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_output_may_not_overwrite_the_checkpoint_or_be_a_folder(tmp_path, capsys) -> None:
    spec = ModelSpec("width/lk-relu", image_size=8)
    ckpt = tmp_path / "c.safetensors"
    save_checkpoint(ckpt, spec, build_zoo(spec).state_dict())
    before = ckpt.read_bytes()
    code, _, err = run_cli(capsys, "export", str(ckpt), "-o", str(ckpt))
    assert code == 2 and "refusing to overwrite" in err
    assert ckpt.read_bytes() == before
    code, _, err = run_cli(capsys, "export", "zoo:width/lk-relu", "-o", str(tmp_path))
    assert code == 2 and "is a directory" in err
    code, _, err = run_cli(capsys, "export", "zoo:width/lk-relu", "-o", str(tmp_path / "no/x.onnx"))
    assert code == 2 and "does not exist" in err
