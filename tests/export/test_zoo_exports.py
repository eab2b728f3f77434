"""Zoo models export with their linked activations as functions, match PyTorch in ONNX
Runtime within float32 defaults at batch 1 and 7, and their inlined form (derived from
the function file by inlining, not re-exported) gives exactly the same outputs.

CI checks one model per family and activation kind, at a small image size, through the
checks of ``benchmarks/bench_export.py``; that script runs all 130 zoo models (the
full sweep) and exits 1 on any mismatch.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from torch import nn

from linkedonnx import zoo
from linkedonnx.nn import LinkedReLU

ROOT = Path(__file__).resolve().parents[2]
IMAGE_SIZE = 8
KINDS = ("relu", "prelu", "selu", "swish")
#: The other forms (single, extended, min-max policy, batch norm), each in one family.
OTHER_FORMS = (
    "width/relu",
    "depth/ext-selu",
    "params/lk-relu-minmax",
    "allcnn/prelu-bn",
    "resnet/lk-swish-nobn",
)
CI_MODELS = [f"{family}/lk-{kind}" for family in zoo.FAMILIES for kind in KINDS] + list(OTHER_FORMS)


@pytest.fixture(scope="module")
def bench_export() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_export", ROOT / "benchmarks" / "bench_export.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ci_models_cover_every_family_kind_and_form() -> None:
    parsed = [zoo.parse_name(name) for name in CI_MODELS]
    assert set(CI_MODELS) <= set(zoo.names())
    assert {(p.family, p.activation) for p in parsed} >= {
        (f, k) for f in zoo.FAMILIES for k in KINDS
    }
    assert {p.form for p in parsed} == {"single", "extended", "linked"}
    assert any(p.batch_norm for p in parsed) and any(p.policy == "minmax" for p in parsed)


@pytest.mark.parametrize("name", CI_MODELS)
def test_zoo_model_exports_and_matches_pytorch(name: str, bench_export: ModuleType) -> None:
    row = bench_export.measure(name, (1, 7), image_size=IMAGE_SIZE)
    assert row["problems"] == [], f"{name}: {row['problems']}"
    assert row["passed"], f"{name}: max error {row['err_b1']:.2e} / {row['err_b7']:.2e}"
    assert row["inlined_equal"] and row["ok"]


def test_structure_check_catches_a_missing_call(bench_export: ModuleType) -> None:
    """The checks can fail: a linked model whose export has no call is reported."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["input"], ["output"])],
        "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 4])],
    )
    fake = SimpleNamespace(model=helper.make_model(graph), calls={})
    problems = bench_export.structure_problems("width/lk-relu", nn.Sequential(LinkedReLU()), fake)
    assert any("calls" in p for p in problems) and any("functions" in p for p in problems)


def test_bench_export_script_on_one_model(
    tmp_path: Path, capsys: pytest.CaptureFixture, bench_export: ModuleType
) -> None:
    out = tmp_path / "export.json"
    args = ["--names", "width/lk-selu", "--image-size", str(IMAGE_SIZE), "--json", str(out)]
    assert bench_export.main(args) == 0
    report = json.loads(out.read_text())
    (row,) = report["rows"]
    assert row["model"] == "width/lk-selu" and row["calls"] == {"LinkedSelu": 1}
    assert row["passed"] and row["inlined_equal"] and row["ok"]
    assert row["err_b7"] <= 1e-5 + 1e-5 * 1.0
    assert "width/lk-selu" in capsys.readouterr().out
