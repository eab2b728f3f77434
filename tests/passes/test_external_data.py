"""Models over the protobuf limit: convert and optimize write external data (forced with
``external_data=True`` / ``--external-data``, or automatically above a size threshold
the tests lower), each write under a new data file name, the previous one removed, and
the written model reloads with its outputs unchanged."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import onnx
import pytest
from graphs import assert_same_outputs, count_linked, linked_chain, op_counts

from linkedonnx import onnx_io
from linkedonnx.onnx_io import external_locations, load_model, save_model
from linkedonnx.passes.convert import convert_file
from linkedonnx.passes.optimize import optimize_file

DATA_NAME = re.compile(r"(?P<model>.+\.onnx)\.[0-9a-f]{16}\.data")


def _flat(tmp_path: Path) -> tuple[onnx.ModelProto, Path]:
    """A flat two-layer model (conv weights of 16x16x3x3 floats: external-sized)."""
    model = linked_chain(["relu", "selu"], channels=16, size=6)
    path = tmp_path / "flat.onnx"
    onnx.save(model, path)
    return model, path


def _data_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".data"))


def _check_external(path: Path) -> str:
    """The one data file ``path`` points to (asserting the name pattern and that it
    exists beside the model)."""
    (location,) = external_locations(onnx.load(path, load_external_data=False))
    match = DATA_NAME.fullmatch(location)
    assert match and match["model"] == path.name
    assert (path.parent / location).is_file()
    return location


def test_convert_then_optimize_with_external_data_keeps_outputs(tmp_path: Path) -> None:
    before, flat = _flat(tmp_path)
    linked = tmp_path / "linked.onnx"
    converted, _ = convert_file(flat, linked, external_data=True)
    _check_external(linked)
    assert count_linked(converted) == {"LinkedRelu": 1, "LinkedSelu": 1}
    reloaded = load_model(linked)
    assert external_locations(reloaded) == []  # weights read back into the proto
    assert_same_outputs(before, reloaded, exact=True)
    fast, single = tmp_path / "fast.onnx", tmp_path / "single.onnx"
    optimize_file(linked, single)  # the same optimization written as one file
    optimize_file(linked, fast, external_data=True)
    _check_external(fast)
    optimized = load_model(fast)
    assert "linkedonnx" not in {n.domain for n in optimized.graph.node}
    assert_same_outputs(load_model(single), optimized, exact=True)
    assert len(_data_files(tmp_path)) == 2  # one per external output, none left over


def test_above_the_threshold_external_data_is_automatic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, flat = _flat(tmp_path)
    out = tmp_path / "linked.onnx"
    convert_file(flat, out)
    assert external_locations(onnx.load(out, load_external_data=False)) == []
    monkeypatch.setattr(onnx_io, "EXTERNAL_DATA_THRESHOLD", before.ByteSize() // 2)
    checked: list[object] = []
    real_check = onnx.checker.check_model
    monkeypatch.setattr(
        onnx.checker, "check_model", lambda m, *a, **k: (checked.append(m), real_check(m, *a, **k))
    )
    convert_file(flat, out)
    _check_external(out)
    assert any(isinstance(m, str) for m in checked)  # the checker ran on the written path
    fast = tmp_path / "fast.onnx"
    optimized, _ = optimize_file(out, fast)
    _check_external(fast)
    assert_same_outputs(optimized, load_model(fast), exact=True)


def test_each_write_gets_a_new_data_file_and_the_old_one_goes(tmp_path: Path) -> None:
    before, _ = _flat(tmp_path)
    out = tmp_path / "m.onnx"
    save_model(before, out, external_data=True)
    first = _check_external(out)
    save_model(before, out, external_data=True)
    second = _check_external(out)
    assert first != second
    assert _data_files(tmp_path) == [second]
    save_model(before, out)  # back to one file: the last data file goes too
    assert _data_files(tmp_path) == []
    assert_same_outputs(before, load_model(out), exact=True)


def test_the_caller_model_is_left_as_given(tmp_path: Path) -> None:
    before, _ = _flat(tmp_path)
    image = before.SerializeToString()
    save_model(before, tmp_path / "m.onnx", external_data=True)
    assert before.SerializeToString() == image


def test_an_input_data_file_is_never_removed(tmp_path: Path) -> None:
    before, _ = _flat(tmp_path)
    out = tmp_path / "m.onnx"
    save_model(before, out, external_data=True)
    location = _check_external(out)
    copy = tmp_path / "copy.onnx"
    (tmp_path / "copy.onnx").write_bytes(out.read_bytes())  # shares out's data file
    save_model(before, out, inputs=(copy,), external_data=True)
    assert (tmp_path / location).is_file()
    assert_same_outputs(before, load_model(copy), exact=True)


def test_a_failed_check_writes_nothing_and_keeps_the_old_files(tmp_path: Path) -> None:
    before, _ = _flat(tmp_path)
    out = tmp_path / "m.onnx"
    save_model(before, out, external_data=True)
    state = (out.read_bytes(), _data_files(tmp_path))
    broken = onnx.ModelProto()
    broken.CopyFrom(before)
    broken.graph.node[0].op_type = "NoSuchOp"
    with pytest.raises(RuntimeError, match="fails the ONNX checker"):
        save_model(broken, out, external_data=True, check=True)
    assert (out.read_bytes(), _data_files(tmp_path)) == state
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_cli_external_data_option(tmp_path: Path) -> None:
    from linkedonnx_cli.app import main

    before, flat = _flat(tmp_path)
    linked, fast = tmp_path / "linked.onnx", tmp_path / "fast.onnx"
    for args in (
        ["convert", str(flat), "-o", str(linked), "--external-data"],
        ["optimize", str(linked), "-o", str(fast), "--external-data"],
    ):
        with pytest.raises(SystemExit) as info:
            main(args)
        assert not info.value.code
    _check_external(linked)
    _check_external(fast)
    assert_same_outputs(before, load_model(linked), exact=True)
    assert op_counts(load_model(linked)).keys() >= {"LinkedRelu", "LinkedSelu"}
    single = tmp_path / "single.onnx"
    with pytest.raises(SystemExit):
        main(["optimize", str(linked), "-o", str(single)])
    assert_same_outputs(load_model(single), load_model(fast), exact=True)


def test_quantize_writes_external_data_with_outputs_unchanged(tmp_path: Path) -> None:
    import numpy as np
    from lowering_graphs import allcnn_like

    from linkedonnx.arrays.labelled import PreprocessOptions
    from linkedonnx.quantize.file import quantize_file

    path = tmp_path / "float.onnx"
    onnx.save(allcnn_like("relu"), path)
    images = np.random.default_rng(0).uniform(0, 1, (8, 3, 8, 8)).astype(np.float32)
    data = tmp_path / "x.npz"
    np.savez(data, x=images, labels=np.arange(8) % 10)
    options = PreprocessOptions.parse(1.0, None, None, False)
    single, external = tmp_path / "q.onnx", tmp_path / "q-ext.onnx"
    quantize_file(path, single, data, options=options)
    quantize_file(path, external, data, options=options, external_data=True)
    _check_external(external)
    assert_same_outputs(load_model(single), load_model(external), exact=True)


def test_inside_a_reservation_failed_work_keeps_the_old_model_and_its_data(
    tmp_path: Path,
) -> None:
    """Within reserve_outputs (every CLI command) the new data file is removed when the
    work fails, and the old model's data file stays until the new model is committed."""
    from linkedonnx.atomic import reserve_outputs

    before, _ = _flat(tmp_path)
    out = tmp_path / "m.onnx"
    save_model(before, out, external_data=True)
    old = _check_external(out)
    with pytest.raises(KeyboardInterrupt), reserve_outputs(out):
        save_model(before, out, external_data=True)
        assert len(_data_files(tmp_path)) == 2  # the new data file, beside the old one
        raise KeyboardInterrupt  # the work after the write fails
    assert _data_files(tmp_path) == [old]
    assert_same_outputs(before, load_model(out), exact=True)
    with reserve_outputs(out):
        save_model(before, out, external_data=True)
        assert old in _data_files(tmp_path)  # the committed model still points to it
    new = _check_external(out)
    assert _data_files(tmp_path) == [new] and new != old


def test_the_data_file_gets_the_model_file_permissions(tmp_path: Path) -> None:
    _, flat = _flat(tmp_path)
    previous = os.umask(0o022)
    try:
        out = tmp_path / "linked.onnx"
        convert_file(flat, out, external_data=True)
    finally:
        os.umask(previous)
    data = tmp_path / _check_external(out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644  # 0o666 less the umask
    assert stat.S_IMODE(data.stat().st_mode) == 0o644
