"""``--provider openvino`` in validate and bench (issue 25): a function-form model, its
optimized (flat) form and its INT8 file, all small hand-made AllCNN-like graphs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from linkedonnx.errors import BadInputError
from tests.cli.invoke import run_cli
from tests.passes.lowering_graphs import allcnn_like

openvino = pytest.importorskip("openvino", reason="the openvino extra is not installed")

from linkedonnx.runners import openvino_runner  # noqa: E402

needs_bf16 = pytest.mark.skipif(
    not openvino_runner.bf16_supported(),
    reason="this CPU has no native bf16 (OpenVINO lists no BF16 capability)",
)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """m.onnx (function form), fast.onnx (optimize, not timed) and q.onnx (INT8 QDQ)."""
    from linkedonnx.passes.optimize import optimize
    from linkedonnx.quantize import quantize

    folder = tmp_path_factory.mktemp("ov")
    model = allcnn_like("relu", widths=(8, 8, 16))
    fast, _ = optimize(model, tune=False)
    rng = np.random.default_rng(0)
    batches = [{"x": rng.standard_normal((2, 3, 8, 8)).astype(np.float32)} for _ in range(4)]
    int8, _ = quantize(model, batches)
    out = {}
    for name, proto in (("m", model), ("fast", fast), ("q", int8)):
        out[name] = folder / f"{name}.onnx"
        onnx.save(proto, out[name])
    assert model.functions and not fast.functions  # function form, and flat
    assert any(n.op_type == "QuantizeLinear" for n in int8.graph.node)
    return out


def test_validate_on_openvino_passes_at_default_f32_tolerances(files: dict[str, Path]) -> None:
    from linkedonnx.validate import validate

    report = validate(files["fast"], files["m"], provider="openvino", batch=2)
    assert report.passed, report.summary()
    assert report.runner == "openvino f32"
    assert report.outputs[0].atol == 1e-5 and report.outputs[0].rtol == 1e-5


@needs_bf16
def test_validate_judges_bf16_by_the_bfloat16_tolerance(files: dict[str, Path]) -> None:
    from linkedonnx.runtime.compare import DEFAULT_TOLERANCES
    from linkedonnx.validate import validate

    report = validate(files["fast"], files["m"], provider="openvino", precision="bf16")
    assert report.runner == "openvino bf16"
    assert (report.outputs[0].atol, report.outputs[0].rtol) == DEFAULT_TOLERANCES["bfloat16"]
    assert report.passed, report.summary()
    assert report.outputs[0].max_abs > 1e-6  # it did compute in bf16: not bit-equal to f32


def test_bench_runs_function_form_optimized_and_int8_files(files: dict[str, Path]) -> None:
    from linkedonnx.runtime.bench import bench_models

    paths = [files["m"], files["fast"], files["q"]]
    report = bench_models(paths, provider="openvino", threads=1, warmup=1, runs=3, seeded=True)
    assert report.runtime == "openvino" and report.runtime_version
    assert [t.runs for t in report.timings] == [3, 3, 3]
    assert all(t.median_ms > 0 for t in report.timings)
    assert not report.iobinding
    settings = report.runners[str(files["m"])]
    assert settings["config"]["INFERENCE_PRECISION_HINT"] == "f32"
    assert settings["config"]["INFERENCE_NUM_THREADS"] == "1"
    assert list(settings["compile_seconds"]) == ["2x3x8x8"]  # compiled before timing


def test_bench_command_on_openvino_and_its_refusals(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        capsys, "bench", str(files["m"]), str(files["q"]), "--provider", "openvino",
        "--threads", "1", "--warmup", "0", "--runs", "2", "--seeded",
    )  # fmt: skip
    assert code == 0, out
    assert "precision f32" in out and "openvino" in out
    code, _, err = run_cli(
        capsys, "bench", str(files["m"]), "--precision", "bf16", "--runs", "1", "--seeded"
    )
    assert code == 2 and "--precision bf16 needs --provider openvino" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, "validate", str(files["m"]), "--cache-dir", "c")
    assert code == 2 and "takes no --cache-dir" in err


def test_per_layer_stays_with_onnx_runtime(files: dict[str, Path]) -> None:
    from linkedonnx.validate import validate

    with pytest.raises(BadInputError, match="--per-layer captures layers in ONNX Runtime"):
        validate(files["m"], provider="openvino", per_layer=True)


def test_inspect_counts_the_same_dead_units_on_openvino(files: dict[str, Path]) -> None:
    from linkedonnx.runtime.dead_units import count_dead_units_onnx

    model = onnx.load(files["fast"])
    rng = np.random.default_rng(3)
    batches = [rng.standard_normal((2, 3, 8, 8)).astype(np.float32) for _ in range(3)]
    on_cpu = count_dead_units_onnx(model, batches, provider="cpu").to_dict()
    on_ov = count_dead_units_onnx(model, batches, provider="openvino").to_dict()
    assert on_ov["layers"] and len(on_ov["layers"]) == len(on_cpu["layers"])
    for ov_layer, cpu_layer in zip(on_ov["layers"], on_cpu["layers"], strict=True):
        assert ov_layer.pop("peak") == pytest.approx(cpu_layer.pop("peak"), rel=1e-5)
        assert ov_layer == cpu_layer  # the same units and elements dead


def test_optimize_for_openvino_times_the_forms_there_and_records_the_choice() -> None:
    import json

    from linkedonnx.passes.optimize import optimize

    model = allcnn_like("relu", widths=(8, 8, 16))
    out, report = optimize(model, target="openvino", batch=2, tune=True)
    meta = {p.key: p.value for p in out.metadata_props}
    choice = json.loads(meta["linkedonnx.form_choice"])
    assert choice["measured"] and choice["provider"] == "openvino" and choice["batch"] == 2
    forms = json.loads(meta["linkedonnx.lowered_forms"])
    assert sum(forms.values()) == 3 and all(k.startswith("relu:") for k in forms)
    assert any(s.name == "ChooseForms" and s.seconds > 0 for s in report.steps)
    assert meta["linkedonnx.target"] == "openvino" and not out.functions
    table, _ = optimize(model, target="openvino", tune=False)
    assert not json.loads({p.key: p.value for p in table.metadata_props}["linkedonnx.form_choice"])[
        "measured"
    ]


def test_quantize_tune_on_openvino_records_where_it_timed() -> None:
    import json

    from linkedonnx.quantize import METADATA_KEY, quantize

    model = allcnn_like("relu", widths=(8, 8, 16))
    rng = np.random.default_rng(0)
    batches = [{"x": rng.standard_normal((2, 3, 8, 8)).astype(np.float32)} for _ in range(2)]
    out, report = quantize(model, batches, tune=True, tune_batch=2, provider="openvino")
    assert report.tuned_on == "openvino"
    # every form, and OpenVINO's own mix (stacked where the producer is light)
    assert set(report.tuning) == {"auto", "split", "dw", "stacked", "inline", "stacked-light"}
    meta = json.loads({p.key: p.value for p in out.metadata_props}[METADATA_KEY])
    assert meta["tuned_on"] == "openvino"


@needs_bf16
def test_validate_data_judges_bf16_by_accuracy(tmp_path: Path) -> None:
    from linkedonnx.runtime.accuracy import validate_accuracy
    from tests.deploy.models import digits_classifier

    model = digits_classifier(tmp_path / "digits.onnx")
    report = validate_accuracy(model, str(model), "digits", provider="openvino", precision="bf16")
    assert report.runner == "openvino bf16" and report.reference.endswith("(onnxruntime cpu)")
    assert report.passed, report.summary()
    assert report.model_accuracy > 0.9 and report.agreement > 0.98
