"""`linkedonnx convert`: table and JSON on success; one line and exit 2 on bad input,
with no output written and the input untouched."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from linkedonnx_cli.app import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "passes"))
from graphs import GraphBuilder, count_linked, linked_chain


def cli(*args: str | Path) -> int:
    """Run the CLI in-process; return its exit code."""
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    return int(info.value.code or 0)


@pytest.fixture
def flat(tmp_path: Path) -> Path:
    path = tmp_path / "flat.onnx"
    onnx.save(linked_chain(["relu-where", "crelu-nhwc", "selu"]), path)
    return path


def test_convert_prints_table_and_writes_json(
    flat: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out, js = tmp_path / "out.onnx", tmp_path / "out.json"
    assert cli("convert", flat, "-o", out, "--json", js) == 0
    printed = capsys.readouterr().out
    assert "LinkedRelu(mirror)" in printed and "LinkedSelu(mirror)" in printed
    assert "LinkedRelu x2" in printed
    model = onnx.load(out)
    assert count_linked(model) == {"LinkedRelu": 2, "LinkedSelu": 1}
    onnx.checker.check_model(model, full_check=True)
    data = json.loads(js.read_text())
    assert data["linked_nodes"] == {"LinkedRelu": 2, "LinkedSelu": 1}
    assert data["rules"]["LinkedRelu(transposes cancelled)"] == 1
    assert data["input"] == str(flat) and data["output"] == str(out)


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    cases = {}
    p = tmp_path / "notes.onnx"
    p.write_text("not a model")
    cases["text"] = p
    p = tmp_path / "noise.onnx"
    p.write_bytes(np.random.default_rng(1).bytes(2048))
    cases["random"] = p
    b = GraphBuilder(1)
    x = b.input((2, 3), "x")
    m = b.model([b.node("Nope", [x], (2, 3), domain="com.example")], check=False)
    m.opset_import.append(onnx.helper.make_opsetid("com.example", 1))
    p = tmp_path / "ort.onnx"
    onnx.save(m, p)
    cases["ort"] = p
    b = GraphBuilder(2)
    x = b.input((2, 3), "x")
    m = b.model([b.unary("Relu", x)])
    m.graph.output[0].type.tensor_type.elem_type = onnx.TensorProto.INT64  # full check fails
    p = tmp_path / "mistyped.onnx"
    onnx.save(m, p)
    cases["fails the full ONNX check"] = p
    p = tmp_path / "ext.onnx"
    onnx.save(
        linked_chain(["relu"]),
        p,
        save_as_external_data=True,
        location="ext.bin",
        size_threshold=0,
    )
    (tmp_path / "ext.bin").unlink()
    cases["external"] = p
    cases["missing"] = tmp_path / "does_not_exist.onnx"
    return cases


def test_bad_input_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for label, path in _bad_files(tmp_path).items():
        state = (path.read_bytes(), os.stat(path).st_mtime_ns) if path.exists() else None
        out, js = tmp_path / f"{label}.out.onnx", tmp_path / f"{label}.json"
        assert cli("convert", path, "-o", out, "--json", js) == 2, label
        err = capsys.readouterr().err
        assert err.startswith("linkedonnx: error: "), (label, err)
        assert err.count("\n") == 1 and "Traceback" not in err, (label, err)
        assert not out.exists() and not js.exists(), label
        if state is not None:
            assert (path.read_bytes(), os.stat(path).st_mtime_ns) == state, label


def test_output_same_as_input_is_refused(flat: Path, capsys: pytest.CaptureFixture) -> None:
    state = (flat.read_bytes(), os.stat(flat).st_mtime_ns)
    assert cli("convert", flat, "-o", flat) == 2
    assert "overwrite" in capsys.readouterr().err
    assert (flat.read_bytes(), os.stat(flat).st_mtime_ns) == state


def test_missing_output_option_is_a_usage_error(flat: Path) -> None:
    assert cli("convert", flat) == 2
