"""The benchmark scripts' code paths, on the CPU with tiny sizes (no timing claims)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _script(name: str) -> ModuleType:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(
        f"bench_{name}", ROOT / "benchmarks" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_script_exits_cleanly_without_cuda(capsys: pytest.CaptureFixture) -> None:
    import torch

    gpu = _script("bench_gpu")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the no-device message does not apply")
    assert gpu.main([]) == 0
    assert "no CUDA device" in capsys.readouterr().out


def test_gpu_script_cpu_dry_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gpu = _script("bench_gpu")
    out = tmp_path / "gpu.json"
    code = gpu.main(
        ["--device", "cpu", "--quick", "--no-compile", "--batches", "2", "--image-size", "8",
         "--models", "allcnn/lk-relu,resnet/lk-relu-nobn,resnet/relu-bn", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    data = json.loads(out.read_text())
    modes = {(r["model"], r["mode"]) for r in data["results"]}
    assert ("allcnn/lk-relu", "eager") in modes
    assert ("resnet/relu-bn", "train-step eager") in modes
    assert all(r["median_ms"] > 0 and r["runs"] == 5 for r in data["results"])
    printed = capsys.readouterr().out
    assert (
        "| model | batch | mode |" in printed and "resnet/relu-bn / resnet/lk-relu-nobn" in printed
    )


def test_timing_stats_match_numpy() -> None:
    import numpy as np

    timing = _script("_timing")
    values = [float(v) for v in np.random.default_rng(0).random(37)]
    s = timing.stats(values, batch=4)
    assert s["median_ms"] == pytest.approx(np.median(values))
    assert s["p90_ms"] == pytest.approx(np.percentile(values, 90))
    assert s["p99_ms"] == pytest.approx(np.percentile(values, 99))
    assert s["throughput"] == pytest.approx(4000 / np.median(values))


def test_extended_name() -> None:
    inference = _script("bench_inference")
    assert inference.extended_name("allcnn/lk-relu") == "allcnn/ext-relu"
    assert inference.extended_name("resnet/lk-relu-minmax") == "resnet/ext-relu"
    with pytest.raises(ValueError):
        inference.extended_name("resnet/relu")


def test_inference_script_quick_tiny(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    inference = _script("bench_inference")
    out = tmp_path / "inference.json"
    code = inference.main(
        ["--quick", "--models", "params/lk-relu", "--batches", "1", "--image-size", "8",
         "--contenders", "eager,ort-linkedonnx", "--rounds", "1", "--threads", "1",
         "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    data = json.loads(out.read_text())
    rows = data["results"][0]["rows"]
    assert [r["contender"] for r in rows] == ["eager", "ort-linkedonnx"]
    ours = rows[1]
    assert ours["max_abs_diff_vs_eager"] < 1e-4  # same answers as PyTorch
    assert ours["ours_speedup"] == pytest.approx(1.0)
    assert rows[0]["ours_speedup"] == pytest.approx(rows[0]["median_ms"] / ours["median_ms"])
    assert [t["versus"] for t in data["targets"]] == ["eager"]
    assert "| params/lk-relu | 1 | ort-linkedonnx |" in capsys.readouterr().out
    # arithmetic rate: the model's FLOPs over the median
    flops = data["results"][0]["info"]["linked_flops_per_item"]
    assert ours["gflops_per_s"] == pytest.approx(flops / ours["median_ms"] / 1e6)
    assert ours["ours_speedup_per_round"] == [1.0] * data["rounds"]  # ours against itself
    assert data["ort_spinning"] is True


def test_inference_script_rewrites_only_its_results_section(tmp_path: Path) -> None:
    inference = _script("bench_inference")
    md = tmp_path / "RESULTS.md"
    md.write_text(f"# head\n\n{inference.MD_BEGIN}\nold table\n{inference.MD_END}\n\n## tail\n")
    code = inference.main(
        ["--quick", "--models", "params/lk-relu", "--batches", "1", "--image-size", "8",
         "--contenders", "eager,compile,ort-linkedonnx", "--rounds", "1", "--threads", "1",
         "--no-ort-spinning", "--out", str(tmp_path / "i.json"), "--results-md", str(md)]
    )  # fmt: skip
    assert code == 0
    text = md.read_text()
    assert text.startswith("# head\n\n") and text.endswith("\n\n## tail\n")
    assert "old table" not in text
    section = text[text.index(inference.MD_BEGIN) : text.index(inference.MD_END)]
    assert "python benchmarks/bench_inference.py --quick" in section
    assert "spinning off" in section
    assert "| model | batch | eager | compile | **ours** | ours vs eager (≥1.3×) |" in section
    assert "| params/lk-relu | 1 |" in section
    assert not list(tmp_path.glob(".*.tmp"))  # written by rename, nothing left behind


def test_inference_results_md_without_markers_is_refused(tmp_path: Path) -> None:
    inference = _script("bench_inference")
    md = tmp_path / "RESULTS.md"
    md.write_text("# no markers\n")
    with pytest.raises(ValueError, match="no <!-- bench_inference:begin -->"):
        inference.update_results_md(md, "x")
    assert md.read_text() == "# no markers\n"


def test_results_md_target_and_marked_section(tmp_path: Path) -> None:
    results = _script("_results_md")
    given, default = tmp_path / "given.md", tmp_path / "default.md"
    target = results.results_md_target
    assert target(None, quick=False, off=False, default=default) == default
    assert target(None, quick=True, off=False, default=default) is None
    assert target(given, quick=True, off=False, default=default) == given
    assert target(given, quick=False, off=True, default=default) is None
    md = tmp_path / "RESULTS.md"  # absent: with a heading, the section starts the file
    section = "<!-- b -->\nnew\n<!-- e -->"
    results.replace_marked_section(md, section, "<!-- b -->", "<!-- e -->", heading="## H")
    assert md.read_text() == "\n\n## H\n\n" + section + "\n"
    md.write_text("# R\n<!-- b -->\nold\n<!-- e -->\ntail\n")
    results.replace_marked_section(md, section, "<!-- b -->", "<!-- e -->", heading="## H")
    assert md.read_text() == "# R\n" + section + "\ntail\n"
    assert not list(tmp_path.glob(".*.tmp"))


def test_quantize_script_quick_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bench = _script("bench_quantize")
    out, md = tmp_path / "quantize.json", tmp_path / "RESULTS.md"
    md.write_text("# Results\n")
    assert bench.main(["--quick", "--out", str(out), "--results-md", str(md)]) == 0
    data = json.loads(out.read_text())
    assert set(data["accuracy"]) == {*bench.CONTENDERS, "reference"}
    assert set(data["medians"]) == {"1", "32"}
    assert all(v > 0 for m in data["medians"].values() for v in m.values())
    assert data["isa"]["flags"] and data["cpu"]
    assert {c["what"] for c in data["targets"]} >= {"accuracy drop (points)"}
    printed = capsys.readouterr().out
    assert "| ours-int8 |" in printed and "ISA flags" in printed
    text = md.read_text()
    assert bench.MD_BEGIN in text and "| stock-ours |" in text and data["cpu"] in text


def test_serve_script_table_and_targets() -> None:
    """bench_serve's table and its two targets at concurrency 32, on made-up rows."""
    serve = _script("bench_serve")

    def row(model: str, batch: int, concurrency: int, rate: float) -> dict:
        return {"model": model, "max_batch_size": batch, "concurrency": concurrency,
                "images_per_s": rate, "p50_ms": 1.0, "p99_ms": 2.0, "failed": 0}  # fmt: skip

    data = {
        "max_batch_size": 16,
        "bare": {"f32": {"images_per_s": 100.0, "batch": 32, "per_batch": {"1": 60.0, "16": 90.0}}},
        "served": [row("f32", 16, 1, 20.0), row("f32", 16, 32, 45.0), row("f32", 1, 32, 30.0)],
    }
    met = {t["what"]: (t["value"], t["met"]) for t in serve.targets(data)}
    assert met == {
        "f32 batched vs bare loop, c=32": (0.45, True),
        "f32 batched vs unbatched server, c=32": (1.5, True),
    }
    assert serve.targets(data)[1]["ceiling"] == 1.5  # the bare loop's batch 16 over batch 1
    data["served"][1]["images_per_s"] = 39.0
    assert [t["met"] for t in serve.targets(data)] == [False, False]
    table = serve.table(data)
    assert "| f32 | 16 | 32 | 39.0 | 1.0 | 2.0 | 0 | 39% |" in table
    assert "| f32 bare ORT loop (batch 32) |" in table


def test_serve_path_script_labels_and_table() -> None:
    """serve_path names Ray's processes by role and tabulates CPU ms per request."""
    path = _script("serve_path")
    assert path._label("ray::ServeReplica:m:m", "ray::ServeReplica:m:m") == "replica"
    assert path._label("ray::ProxyActor", "ray::ProxyActor") == "proxy actor"
    assert path._label("haproxy", "/x/bin/haproxy -db -f h.cfg") == "haproxy"
    assert path._label("python", "python default_worker.py") == "other ray"
    rows = [{"case": "haproxy noop raw", "requests_per_s": 900.0, "cpu_ms_total": 1.25,
             "cpu_ms": {"client": 0.25, "replica": 1.0}},
            {"case": "haproxy oip raw", "requests_per_s": 100.0, "cpu_ms_total": 8.0,
             "cpu_ms": {"haproxy": 0.5, "replica": 7.5}}]  # fmt: skip
    table = path.table(rows)
    assert (
        table.splitlines()[0]
        == "| case | requests/s | CPU ms/request | client | haproxy | replica |"
    )
    assert "| haproxy noop raw | 900.0 | 1.25 | 0.25 | 0.00 | 1.00 |" in table


def test_real_world_script_small_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bench = _script("bench_real_world")
    out, md = tmp_path / "real_world.json", tmp_path / "RESULTS.md"
    code = bench.main(
        ["--families", "simple,light", "--light", "light_squeezenet", "--runs", "2",
         "--warmup", "1", "--out", str(out), "--results-md", str(md)]
    )  # fmt: skip
    assert code == 0
    data = json.loads(out.read_text())
    (cnn,) = [r for r in data["rows"] if r["model"] == "light/light_squeezenet"]
    assert cnn["speed"]["source_ms"] > 0 and cnn["speed"]["ratio"] > 0
    assert data["median_ratio"] == cnn["speed"]["ratio"]
    simple = [r for r in data["rows"] if r["model"].startswith("simple/")]
    assert len(simple) == 23 and not any(
        r.get(c, {}).get("exit") == 3 for r in simple for c in ("convert", "optimize")
    )
    printed = capsys.readouterr().out
    assert "| simple | 23 |" in printed and "| light_squeezenet | 0 / 0 |" in printed
    assert "<!-- bench_real_world:begin -->" in md.read_text()


def test_runtimes_script_quick_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Issue 25: every row of bench_runtimes runs (OpenVINO, NNCF, ORT), with accuracy,
    medians at batch 1 and 32, the targets, the CPU model and its ISA flags."""
    pytest.importorskip("openvino", reason="the openvino extra is not installed")
    pytest.importorskip("nncf", reason="nncf (benchmark-only) is not installed")
    bench = _script("bench_runtimes")
    out = tmp_path / "runtimes.json"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    (result,) = data["results"]
    rows = set(result["medians"]["1"])
    assert rows >= set(bench.ROWS) - {"ov ours-bf16", "ov ours-int8-bf16"}
    assert set(result["medians"]) == {"1", "32"}
    assert all(v > 0 for m in result["medians"].values() for v in m.values())
    assert set(result["accuracy"]) == rows | {"samples"}
    assert result["compiled_precision"]["ov plain-f32"] == ["f32"]
    assert result["ours_openvino_form"] == "inline+stacked"  # quantize --provider openvino
    assert [c["what"].split(": ")[0] for c in result["targets"]] == [
        "allcnn/lk-relu fashion-mnist b=1",
        "allcnn/lk-relu fashion-mnist b=32",
    ]
    assert data["cpu"] and data["isa_flags"] and data["load_average"]
    assert "| ov nncf-int8 |" in capsys.readouterr().out


def test_runtimes_script_without_nncf_exits_2_with_the_pip_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    bench = _script("bench_runtimes")
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nncf" else real(name, *a)
    )
    with pytest.raises(SystemExit) as info:
        bench.main(["--quick"])
    assert info.value.code == 2
    assert "pip install nncf" in capsys.readouterr().err


def test_forms_script_quick_run_writes_table_json_and_section(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    forms = _script("bench_forms")
    out, md = tmp_path / "forms.json", tmp_path / "RESULTS.md"
    md.write_text("# Results\n")
    assert forms.main(["--quick", "--json", str(out), "--results-md", str(md)]) == 0
    data = json.loads(out.read_text())
    settings = data["settings"]
    assert settings["quick"] and settings["cpu"] and settings["runs"] == 4
    assert settings["blocks"] == 2 and settings["min_seconds"] == 0
    assert settings["models"] == ["width/lk-relu", "width/lk-swish"]
    assert settings["default_search_batch"] == 6 and settings["default_check_batches"] == [1, 32]
    rows = data["rows"]
    assert [(r["model"], r["batch"]) for r in rows] == [
        (m, b) for m in settings["models"] for b in (1, 32)
    ]
    always = {"function form", "plain export", "default", "--tune", "dw", "stacked", "inline"}
    for row in rows:
        assert always <= set(row["median_ms"]) and all(v > 0 for v in row["median_ms"].values())
        assert row["best_single_form"] in row["median_ms"]
        ratio = row["median_ms"]["default"] / row["median_ms"][row["best_single_form"]]
        assert row["default_vs_best_form"] == pytest.approx(ratio)
        assert row["met"] == (row["default_vs_function"] >= 0.98 and ratio <= 1.03)
        assert row["max_abs_error_default_vs_function"] < 1e-4
        assert row["aa_ratio"] > 0 and "function form (A/A)" not in row["median_ms"]
    # swish has no split form: left out of its rows, kept in relu's
    assert "split" in rows[0]["median_ms"] and "split" not in rows[2]["median_ms"]
    assert data["choices"]["width/lk-swish"]["forms left out"] == ["split"]
    for notes in data["choices"].values():  # width has one site: the default is one form
        (key,) = notes["default"]["forms"]
        assert notes["default same as"] == [key.split(":")[1]]
    for row in rows:  # the same graph is timed once: the form shares the default's figure
        form = data["choices"][row["model"]]["default same as"][0]
        assert row["timed_as"][form] == "default"
        assert row["median_ms"][form] == row["median_ms"]["default"]
        assert all(row["median_ms"][a] == row["median_ms"][b] for a, b in row["timed_as"].items())
        assert "function form" not in row["timed_as"] and "plain export" not in row["timed_as"]
    whole = data["choices"]["width/lk-relu"]["default"]["choice"]["whole_model"]
    assert whole["batches"] == [1, 32] and whole["chosen"]
    printed = capsys.readouterr().out
    assert "vs best form" in printed and f"targets met in {sum(r['met'] for r in rows)} of 4" in (
        printed
    )
    section = md.read_text()
    assert section.startswith("# Results") and "<!-- bench_forms:begin -->" in section
    assert "| width/lk-swish | 32 |" in section and "| — |" in section
    assert "checked them as whole models at batches 1/32" in section
    assert "(≡ default)" in section
    assert "| target | A/A |" in section and "in 2 blocks (each: every session loaded" in section
    again = tmp_path / "again.md"
    assert forms.main(["--from-json", str(out), "--results-md", str(again)]) == 0

    def marked(text: str) -> str:
        return text[
            text.index("<!-- bench_forms:begin -->") : text.index("<!-- bench_forms:end -->")
        ]

    assert marked(again.read_text()) == marked(section)


def test_ov_int8_graphs_script_quick_run(tmp_path: Path) -> None:
    """Issue 25.5: NNCF's and our INT8 files compiled by OpenVINO, per layer; the file
    quantized for OpenVINO feeds no convolution a zero point, the ORT-form one does."""
    pytest.importorskip("openvino", reason="the openvino extra is not installed")
    pytest.importorskip("nncf", reason="nncf (benchmark-only) is not installed")
    bench = _script("bench_ov_int8_graphs")
    out = tmp_path / "graphs.json"
    assert bench.main(["--quick", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["forms"] == {"ours-int8": "split", "ours-int8-ov": "inline+stacked"}
    assert data["convs_reading_a_zero_point"]["ours-int8-ov"] == 0
    assert data["convs_reading_a_zero_point"]["ours-int8"] > 0
    for batch in ("1", "32"):
        assert {"nncf-int8", "ours-int8-ov f32", "ours-int8-cpu f32"} <= set(data[batch])
        assert all(s["cpu_median_ms"] > 0 for s in data[batch].values())
    convs = [
        layer for layer in data["layers"]["ours-int8-ov f32"] if layer["type"] == "Convolution"
    ]
    assert convs and all(layer["runtime"] == "u8" for layer in convs)  # every conv in 8 bits
