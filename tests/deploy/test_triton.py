"""`linkedonnx deploy triton`: config.pbtxt parsed back with tritonclient's
model_config_pb2 and checked field by field against the model; the model file is the
optimize output and validates against the source; refusals leave nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from linkedonnx.arrays import read_preprocess
from tests.cli.invoke import exit_code, run_cli
from tests.cli.tiny_models import relu_model
from tests.deploy.models import digits_classifier


def _config(path: Path) -> mc.ModelConfig:
    return text_format.Parse(path.read_text(), mc.ModelConfig())


def test_repository_entry_field_by_field(tmp_path: Path, capsys) -> None:
    source = digits_classifier(tmp_path / "digits.onnx")
    repo = tmp_path / "repo"
    code, out, err = run_cli(
        capsys, "deploy", "triton", str(source), "--repo", str(repo), "--name", "dg",
        "--max-batch-size", "16", "--instances", "2", "--preferred-batch-size", "4",
        "--preferred-batch-size", "8", "--queue-delay-us", "500",
    )  # fmt: skip
    assert (code, err) == (0, ""), err
    assert "config.pbtxt" in out
    assert sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*")) == [
        "dg", "dg/1", "dg/1/model.onnx", "dg/config.pbtxt",
    ]  # fmt: skip
    config = _config(repo / "dg" / "config.pbtxt")
    assert config.name == "dg" and config.backend == "onnxruntime"
    assert config.max_batch_size == 16
    assert [(t.name, t.data_type, list(t.dims)) for t in config.input] == [
        ("x", mc.TYPE_FP32, [1, 16, 16])
    ]
    written = onnx.load(repo / "dg" / "1" / "model.onnx")
    assert [(t.name, t.data_type) for t in config.output] == [("logits", mc.TYPE_FP32)]
    out_dims = written.graph.output[0].type.tensor_type.shape.dim
    assert out_dims[0].dim_param  # the batch axis, removed from dims
    assert list(config.output[0].dims) == [d.dim_value or -1 for d in out_dims[1:]] == [10]
    assert [(g.count, g.kind) for g in config.instance_group] == [
        (2, mc.ModelInstanceGroup.KIND_CPU)
    ]
    assert list(config.dynamic_batching.preferred_batch_size) == [4, 8]
    assert config.dynamic_batching.max_queue_delay_microseconds == 500
    recorded = read_preprocess(onnx.load(source))
    assert recorded is not None
    assert json.loads(config.parameters["linkedonnx.preprocess"].string_value) == recorded.to_dict()
    assert not written.functions and all(n.domain in ("", "ai.onnx") for n in written.graph.node)
    assert (
        exit_code("validate", str(repo / "dg" / "1" / "model.onnx"), "--reference", str(source))
        == 0
    )
    assert exit_code("validate", str(repo / "dg" / "1" / "model.onnx"), "--data", "digits") == 0


def test_refusals_and_overwrite(tmp_path: Path, capsys) -> None:
    fixed = relu_model(tmp_path / "fixed.onnx")  # x, y: float [1, 4]
    repo = tmp_path / "repo"
    code, _, err = run_cli(capsys, "deploy", "triton", str(fixed), "--repo", str(repo))
    assert code == 2 and "not a batch axis" in err and "--max-batch-size 0" in err
    assert not repo.exists()  # nothing written, not even the folders
    args = ["deploy", "triton", str(fixed), "--repo", str(repo), "--max-batch-size", "0"]
    code, _, err = run_cli(capsys, *args, "--target", "cuda")
    assert code == 0, err
    config = _config(repo / "fixed" / "config.pbtxt")
    assert config.max_batch_size == 0 and not config.HasField("dynamic_batching")
    assert [list(t.dims) for t in config.input] == [[1, 4]]
    assert config.instance_group[0].kind == mc.ModelInstanceGroup.KIND_GPU
    assert "linkedonnx.preprocess" not in config.parameters
    before = (repo / "fixed" / "config.pbtxt").read_text()
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and "--overwrite" in err
    assert (repo / "fixed" / "config.pbtxt").read_text() == before
    code, _, err = run_cli(capsys, *args, "--overwrite")
    assert code == 0, err
    assert _config(repo / "fixed" / "config.pbtxt").instance_group[0].kind == (
        mc.ModelInstanceGroup.KIND_CPU
    )
    assert sorted(p.name for p in (repo / "fixed").rglob("*")) == [
        "1",
        "config.pbtxt",
        "model.onnx",
    ]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--max-batch-size", "-1"], "0 or more"),
        (["--preferred-batch-size", "64"], "outside 1..32"),
        (["--instances", "0"], "at least 1"),
        (["--target", "tpu"], "unknown target"),
        (["--name", "../up"], "plain folder name"),
    ],
)
def test_bad_options_write_nothing(tmp_path: Path, capsys, extra: list[str], words: str) -> None:
    source = digits_classifier(tmp_path / "digits.onnx")
    repo = tmp_path / "repo"
    code, _, err = run_cli(capsys, "deploy", "triton", str(source), "--repo", str(repo), *extra)
    assert code == 2 and words in err, err
    assert not repo.exists()
