"""load_model turns every kind of broken file into one BadInputError line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from linkedonnx.errors import BadInputError
from linkedonnx.onnx_io import default_opset, load_model, save_model


def _tiny(opset: int = 18) -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["X"], ["Y"])],
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 2])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_round_trip(tmp_path: Path) -> None:
    path = save_model(_tiny(), tmp_path / "m.onnx")
    assert default_opset(load_model(path)) == 18


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "does not exist"), (b"", "is empty"), (b"\x8f\x00garbage\xff" * 50, "not")],
)
def test_broken_files(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "m.onnx"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(BadInputError, match=message) as info:
        load_model(path)
    assert "\n" not in str(info.value)


def test_directory_and_truncated(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="directory"):
        load_model(tmp_path)
    data = _tiny().SerializeToString()
    path = tmp_path / "t.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadInputError):
        load_model(path)


def test_missing_external_data(tmp_path: Path) -> None:
    model = _tiny()
    model.graph.initializer.append(numpy_helper.from_array(np.ones(1024, np.float32), "W"))
    path = tmp_path / "ext.onnx"
    onnx.save_model(
        model, str(path), save_as_external_data=True, location="ext.bin", size_threshold=0
    )
    (tmp_path / "ext.bin").unlink()
    with pytest.raises(BadInputError, match="external"):
        load_model(path)


def test_save_refuses_to_overwrite_input(tmp_path: Path) -> None:
    path = save_model(_tiny(), tmp_path / "m.onnx")
    before = path.read_bytes()
    with pytest.raises(BadInputError):
        save_model(_tiny(13), path, inputs=(path,))
    assert path.read_bytes() == before
