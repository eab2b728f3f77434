"""A model over 2 GB (protobuf's limit for one message), its weight in external data,
goes through convert, optimize and validate (issue 28.3: each exited 2 with "Failed to
serialize proto"). Writes about 6.6 GB to the test's folder and removes it at the end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from tests.cli.invoke import run_cli

pytestmark = pytest.mark.large

ROWS, COLS = 23000, 24000  # float32: 2.208e9 bytes, over 2 GiB


def big_matmul_model(path: Path) -> None:
    """``Y = X @ W`` with W [ROWS, COLS] float32 in ``<path>.data``, written through a
    memory map (a sparse file: only the first rows are non-zero), never held in memory."""
    data = path.with_name(path.name + ".data")
    weight = np.memmap(data, dtype=np.float32, mode="w+", shape=(ROWS, COLS))
    weight[:8] = np.random.default_rng(0).standard_normal((8, COLS), dtype=np.float32)
    weight.flush()
    del weight
    tensor = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[ROWS, COLS])
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", data.name), ("offset", "0"), ("length", str(ROWS * COLS * 4))):
        tensor.external_data.add(key=key, value=value)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"])],
        "big",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", ROWS])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", COLS])],
        [tensor],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    onnx.checker.check_model(str(path))  # the checker accepts it


def test_a_model_over_2_gb_goes_through_convert_optimize_and_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big, converted, optimized = (tmp_path / n for n in ("big.onnx", "c.onnx", "o.onnx"))
    big_matmul_model(big)
    try:
        for args in (
            ("convert", str(big), "-o", str(converted)),
            ("optimize", str(converted), "-o", str(optimized)),
            ("validate", str(optimized)),  # ONNX Runtime against the reference evaluator
        ):
            code, out, err = run_cli(capsys, "--quiet", *args)
            assert code == 0, err
            assert "Failed to serialize" not in err
        assert "PASS" in out
        for model in (converted, optimized):
            (data,) = [p for p in tmp_path.iterdir() if p.name.startswith(model.name + ".")]
            assert data.stat().st_size == ROWS * COLS * 4  # the weight, in one data file
    finally:
        for file in tmp_path.iterdir():
            file.unlink()
