"""Runtimes benchmark (issue 25): our files on ONNX Runtime and OpenVINO against the best
peer path, OpenVINO + NNCF INT8 of the plain export.

Models: AllCNN-C (allcnn/lk-relu) trained on Fashion-MNIST (``--checkpoint``, or a short
training here), and for speed only, with random weights, AllCNN-C at 32x32 and
zoo:resnet/lk-relu (calibrated on seeded normal inputs). For each model, rows:
  ort plain-f32       plain torch.onnx.export in ONNX Runtime (CPU EP)
  ov plain-f32        the same file in OpenVINO, precision f32 (set explicitly)
  ov plain-default    the same file in OpenVINO at its default precision (bf16 on CPUs
                      with AVX-512 BF16 or AMX)
  ort ours-f32        linkedonnx export -> optimize (target cpu) in ONNX Runtime
  ov ours-f32         the same file in OpenVINO, f32
  ov ours-bf16        the same file in OpenVINO, bf16 (where the CPU has it)
  ov nncf-int8        NNCF's post-training INT8 of the plain export, OpenVINO defaults
  ort stock-int8      ONNX Runtime's quantize_static of the plain export
  ort ours-int8       linkedonnx quantize of the function form, ONNX Runtime
  ov ours-int8        linkedonnx quantize --provider openvino (its own form: zero-point-free
                      conv inputs) in OpenVINO, f32 hint
  ov ours-int8-bf16   the same file in OpenVINO, bf16 hint (where the CPU has it)
  ov ours-int8-cpu    ort ours-int8's file (ONNX Runtime's form) in OpenVINO, f32 hint
Every OpenVINO row: INFERENCE_NUM_THREADS --threads, NUM_STREAMS 1, PERFORMANCE_HINT
LATENCY, compiled for each batch's static shape. Every row is timed interleaved with
the others in one process (medians), at batch 1 and 32, and gets its Fashion-MNIST test
top-1 accuracy where the model is trained. Writes JSON (default
benchmarks/results/runtimes.json) with the CPU model and its ISA flags, and prints the
table and the targets: our best path >= 1.0x the best peer path at each batch, accuracy
within 0.2 points of it.

NNCF is a benchmark-only dependency: without it the script exits 2 with the pip line.

Usage:
    python benchmarks/bench_runtimes.py --checkpoint runs/fm/best.safetensors
    python benchmarks/bench_runtimes.py --quick          # smoke run, no claims
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

from _timing import cpu_model, machine, markdown_table, write_json  # noqa: E402

ROWS = [
    "ort plain-f32",
    "ov plain-f32",
    "ov plain-default",
    "ort ours-f32",
    "ov ours-f32",
    "ov ours-bf16",
    "ov nncf-int8",
    "ort stock-int8",
    "ort ours-int8",
    "ov ours-int8",
    "ov ours-int8-bf16",
    "ov ours-int8-cpu",
]
#: Rows that are not linkedonnx's files (or not on a runtime + precision we offer).
PEERS = {"ort plain-f32", "ov plain-f32", "ov plain-default", "ov nncf-int8", "ort stock-int8"}
BEST_PEER = "ov nncf-int8"
BATCHES = [1, 32]
SPEED_TARGET = 1.0
MAX_GAP = 0.2  # accuracy points
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "runtimes.json"
NNCF_PIP = "pip install nncf  (benchmark-only dependency)"


def need_nncf() -> None:
    """Exit 2 with the pip line when NNCF or OpenVINO is missing."""
    for module, pip in (("openvino", "pip install 'linkedonnx[openvino]'"), ("nncf", NNCF_PIP)):
        if importlib.util.find_spec(module) is None:
            print(f"bench_runtimes needs {module}: {pip}", file=sys.stderr)
            raise SystemExit(2)


# --- building the files -------------------------------------------------------------------


def train_checkpoint(args: argparse.Namespace, work: Path) -> Path:
    """Train allcnn/lk-relu on Fashion-MNIST (seeded, short) and return its best checkpoint."""
    from linkedonnx.train import TrainConfig, train

    train(
        TrainConfig(
            model="allcnn/lk-relu",
            data="fashion-mnist",
            epochs=1,
            max_steps=args.max_steps,
            image_size=args.image_size,
            batch_size=64,
            device="cpu",
            out=work / "train",
            progress=False,
            dead_samples=64,
        )
    )
    return work / "train" / "best.safetensors"


def seeded_batches(model: Any, count: int, batch: int = 16) -> list[dict[str, np.ndarray]]:
    """Seeded standard-normal calibration batches for ``model``'s data input."""
    from linkedonnx.runtime.inputs import data_inputs

    sig = data_inputs(model)[0]
    shape = [batch, *(d if isinstance(d, int) else 1 for d in sig.dims[1:])]
    rng = np.random.default_rng(0)
    return [
        {sig.name: rng.standard_normal(shape).astype(np.float32)}
        for _ in range(max(1, count // batch))
    ]


def nncf_quantize(plain: Path, target: Path, batches: list[dict[str, np.ndarray]]) -> float:
    """NNCF's post-training INT8 (its defaults) of the plain export, saved as OpenVINO IR
    at ``target`` (.xml); returns the seconds it took."""
    import nncf
    import openvino as ov

    start = time.perf_counter()
    model = ov.Core().read_model(str(plain))
    name = model.inputs[0].get_any_name()
    dataset = nncf.Dataset(batches, lambda item: item[name])
    quantized = nncf.quantize(model, dataset, subset_size=len(batches))  # items are batches
    ov.save_model(quantized, str(target))
    return time.perf_counter() - start


def build(
    source: str, args: argparse.Namespace, work: Path, trained: bool, geometry: dict[str, int]
) -> dict[str, Any]:
    """Write the model's files under ``work``: plain.onnx, ours-f32.onnx, ours-int8.onnx,
    ours-int8-ov.onnx (quantized for OpenVINO), stock-int8.onnx, nncf-int8.xml
    (``trained``: calibrated on Fashion-MNIST, else on
    seeded inputs; ``geometry``: a zoo source's in_channels/image_size). Returns their
    paths and facts (form, timings)."""
    from bench_quantize import stock_quantize

    from linkedonnx.arrays.preprocess import read_preprocess, write_preprocess
    from linkedonnx.export import export_model, export_plain
    from linkedonnx.onnx_io import save_model
    from linkedonnx.passes.optimize import optimize
    from linkedonnx.quantize import calibration_batches, quantize
    from linkedonnx.quantize.isa import detect
    from linkedonnx.sources import load_source

    work.mkdir(parents=True, exist_ok=True)
    resolved = load_source(source, seed=0, **geometry)
    torch_model = resolved.model.eval()
    preprocess = resolved.preprocess
    if trained and preprocess is None:  # --quick: an untrained zoo model fed Fashion-MNIST
        from linkedonnx.arrays import load_raw, preprocess_for

        preprocess = preprocess_for(load_raw("fashion-mnist"), geometry["image_size"])
    exported = export_model(torch_model, resolved.spec, preprocess=preprocess)
    files = {
        "plain": work / "plain.onnx",
        "ours-f32": work / "ours-f32.onnx",
        "ours-int8": work / "ours-int8.onnx",
        "ours-int8-ov": work / "ours-int8-ov.onnx",
        "stock-int8": work / "stock-int8.onnx",
        "nncf-int8": work / "nncf-int8.xml",
    }
    save_model(export_plain(torch_model, resolved.spec.input_shape(1)), files["plain"])
    optimized, _ = optimize(exported.model, target="cpu")
    save_model(optimized, files["ours-f32"])
    if trained:
        batches, origin = calibration_batches(exported.model, "fashion-mnist", samples=args.samples)
    else:
        batches, origin = seeded_batches(exported.model, args.samples), "seeded normal"
    isa = detect()
    start = time.perf_counter()
    ours, report = quantize(exported.model, batches, tune=args.tune, tune_batch=32, isa=isa)
    ours_s = time.perf_counter() - start
    save_model(ours, files["ours-int8"])
    start = time.perf_counter()
    ours_ov, report_ov = quantize(
        exported.model, batches, tune=args.tune, tune_batch=32, isa=isa, provider="openvino"
    )
    ours_ov_s = time.perf_counter() - start
    save_model(ours_ov, files["ours-int8-ov"])
    stock_quantize(files["plain"], files["stock-int8"], batches, isa.reduce_range)
    nncf_s = nncf_quantize(files["plain"], files["nncf-int8"], batches)
    recorded = read_preprocess(exported.model)
    if recorded is not None:  # the plain export records no preprocessing: add it
        import onnx

        for key in ("plain", "stock-int8"):
            proto = onnx.load(files[key])
            write_preprocess(proto, recorded)
            onnx.save(proto, files[key])
    return {
        "files": files,
        "calibration": f"{origin}, {report.samples} samples",
        "ours_form": report.to_dict().get("form"),
        "ours_openvino_form": report_ov.to_dict().get("form"),
        "quantize_s": {
            "ours": round(ours_s, 1),
            "ours_openvino": round(ours_ov_s, 1),
            "nncf": round(nncf_s, 1),
        },
        "source": source,
    }


# --- running the rows ---------------------------------------------------------------------


class PeerOpenVino:
    """An OpenVINO peer configuration the runner does not offer: an IR or ONNX file at
    OpenVINO's default precision (no INFERENCE_PRECISION_HINT), with the same threads,
    one stream and the latency hint, compiled per input shape."""

    def __init__(self, path: Path, threads: int) -> None:
        import openvino as ov

        self.core = ov.Core()
        self.model = self.core.read_model(str(path))
        self.name = self.model.inputs[0].get_any_name()
        self.config = {
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": "1",
            "INFERENCE_NUM_THREADS": str(threads),
        }
        self.compiled: dict[tuple[int, ...], Any] = {}
        self.precision = ""

    def _request(self, shape: tuple[int, ...]) -> Any:
        import openvino as ov

        if shape not in self.compiled:
            model = self.model.clone()
            model.reshape({self.name: ov.PartialShape(list(shape))})
            compiled = self.core.compile_model(model, "CPU", self.config)
            self.precision = compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
            self.compiled[shape] = compiled.create_infer_request()
        return self.compiled[shape]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The first output for ``x``."""
        return np.array(self._request(x.shape).infer({self.name: x})[0], copy=True)

    def timed_call(self, x: np.ndarray) -> Callable[[], None]:
        """A function that runs ``x`` once (inputs shared, outputs left in place)."""
        request = self._request(x.shape)
        data = {self.name: np.ascontiguousarray(x)}
        return lambda: request.infer(data, share_inputs=True, share_outputs=True)


class Ours:
    """A file on one of our runners (provider cpu or openvino, at a precision)."""

    def __init__(self, path: Path, provider: str, precision: str, threads: int) -> None:
        from linkedonnx.runners.providers import load_runner

        self.runner = load_runner(provider, path, precision=precision, threads=threads)
        self.name = self.runner.input_names[0]
        self.precision = precision

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The first output for ``x``."""
        return self.runner.run({self.name: x})[0]

    def timed_call(self, x: np.ndarray) -> Callable[[], None]:
        """A function that runs ``x`` once, as ``linkedonnx bench`` times it."""
        from linkedonnx.runtime.bench import runner_call

        return runner_call(self.runner, {self.name: x})


def load_rows(files: dict[str, Path], threads: int, bf16: bool) -> dict[str, Any]:
    """Each row's loaded model (rows needing bf16 only where the CPU has it)."""
    rows: dict[str, Any] = {
        "ort plain-f32": Ours(files["plain"], "cpu", "f32", threads),
        "ov plain-f32": Ours(files["plain"], "openvino", "f32", threads),
        "ov plain-default": PeerOpenVino(files["plain"], threads),
        "ort ours-f32": Ours(files["ours-f32"], "cpu", "f32", threads),
        "ov ours-f32": Ours(files["ours-f32"], "openvino", "f32", threads),
        "ov nncf-int8": PeerOpenVino(files["nncf-int8"], threads),
        "ort stock-int8": Ours(files["stock-int8"], "cpu", "f32", threads),
        "ort ours-int8": Ours(files["ours-int8"], "cpu", "f32", threads),
        "ov ours-int8": Ours(files["ours-int8-ov"], "openvino", "f32", threads),
        "ov ours-int8-cpu": Ours(files["ours-int8"], "openvino", "f32", threads),
    }
    if bf16:
        rows["ov ours-bf16"] = Ours(files["ours-f32"], "openvino", "bf16", threads)
        rows["ov ours-int8-bf16"] = Ours(files["ours-int8-ov"], "openvino", "bf16", threads)
    return {name: rows[name] for name in ROWS if name in rows}


def accuracies(rows: dict[str, Any], args: argparse.Namespace, model: Any) -> dict[str, Any]:
    """Top-1 accuracy of each row on the first ``args.test_samples`` Fashion-MNIST test
    images, and each row's mean |logit - f32 logit| / std(f32 logits)."""
    from linkedonnx.arrays.labelled import model_data

    _, labelled = model_data(model, "fashion-mnist", split="test", limit=args.test_samples)
    x_all, labels = labelled.images.astype(np.float32), labelled.labels
    outputs = {}
    for name, row in rows.items():
        parts = [row.predict(x_all[i : i + 100]) for i in range(0, len(x_all), 100)]
        outputs[name] = np.concatenate(parts)
    base = outputs["ort plain-f32"]
    return {
        name: {
            "top1": float(np.mean(out.argmax(1) == labels)),
            "logit_error": float(np.mean(np.abs(out - base)) / base.std()),
        }
        for name, out in outputs.items()
    } | {"samples": len(labels)}


def timings(rows: dict[str, Any], model: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Median ms of each row per batch: interleaved, one process, the same seeded input."""
    from linkedonnx.runtime.bench import interleave, summarize
    from linkedonnx.runtime.inputs import data_inputs

    sig = data_inputs(model)[0]
    medians: dict[str, Any] = {}
    for batch in args.batches:
        shape = (batch, *(d if isinstance(d, int) else 1 for d in sig.dims[1:]))
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        calls = [row.timed_call(x) for row in rows.values()]
        runs = args.runs * (4 if batch == 1 else 1)
        times = interleave(calls, args.warmup, runs)
        medians[str(batch)] = {
            name: summarize(name, t, batch).median_ms for name, t in zip(rows, times, strict=True)
        }
    return medians


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Our best row (fastest file of ours) against the best peer at each batch; accuracy
    gap of that row to the peer where trained."""
    checks = []
    for batch, medians in result["medians"].items():
        ours = {k: v for k, v in medians.items() if k not in PEERS}
        best = min(ours, key=ours.get)
        speedup = medians[BEST_PEER] / ours[best]
        check = {"what": f"{result['model']} b={batch}: {best} vs {BEST_PEER}",
                 "value": speedup, "target": SPEED_TARGET, "met": speedup >= SPEED_TARGET}  # fmt: skip
        if result.get("accuracy"):
            gap = 100 * (result["accuracy"][BEST_PEER]["top1"] - result["accuracy"][best]["top1"])
            check["accuracy_gap_points"] = gap
            check["met"] = check["met"] and gap <= MAX_GAP + 1e-9
        checks.append(check)
    return checks


def table(results: list[dict[str, Any]]) -> str:
    """One Markdown table: model, row, precision OpenVINO compiled at, accuracy, medians."""
    headers = ["model", "row", "top-1", "logit err", *(f"b={b} ms" for b in BATCHES)]
    body = []
    for r in results:
        for name in r["medians"][str(BATCHES[0])]:
            acc = r.get("accuracy", {}).get(name)
            body.append(
                [
                    r["model"],
                    name,
                    f"{100 * acc['top1']:.2f}" if acc else "-",
                    f"{acc['logit_error']:.4f}" if acc else "-",
                    *(
                        f"{r['medians'][str(b)][name]:.3f}"
                        for b in BATCHES
                        if str(b) in r["medians"]
                    ),
                ]
            )
    return markdown_table(headers, body)


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="allcnn/lk-relu trained on Fashion-MNIST")
    parser.add_argument("--max-steps", type=int, default=200, help="training without --checkpoint")
    parser.add_argument("--image-size", type=int, default=None, help="training image size")
    parser.add_argument("--image-size-zoo", type=int, default=32)
    parser.add_argument("--speed-models", default="zoo:allcnn/lk-relu,zoo:resnet/lk-relu")
    parser.add_argument("--samples", type=int, default=512, help="calibration samples")
    parser.add_argument("--test-samples", type=int, default=10000)
    parser.add_argument("--tune", action="store_true", help="ours-int8 with --tune")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--runs", type=int, default=20, help="timed runs at batch 32 (x4 at 1)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: untrained, 16x16, 2 runs, no claims"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    args.batches = BATCHES
    if args.quick:
        args.runs, args.warmup, args.samples = 2, 1, 32
        args.image_size_zoo, args.test_samples = 16, 100
        args.speed_models = ""  # the Fashion-MNIST model's path covers the rows
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    args = parse(argv)
    need_nncf()
    import nncf
    import onnxruntime
    import openvino

    from linkedonnx.onnx_io import load_model
    from linkedonnx.quantize.isa import cpu_flags
    from linkedonnx.runners.openvino_runner import bf16_supported, capabilities

    start = time.perf_counter()
    bf16 = bf16_supported()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-runtimes-") as tmp:
        work = Path(tmp)
        if args.quick:  # no training: an untrained AllCNN-C, the Fashion-MNIST path only
            checkpoint, first = "zoo:allcnn/lk-relu", {"in_channels": 1, "image_size": 16}
        else:
            checkpoint, first = args.checkpoint or str(train_checkpoint(args, work)), {}
        zoo = {"image_size": args.image_size_zoo}
        sources = [(checkpoint, True, first)] + [
            (s, False, zoo) for s in args.speed_models.split(",") if s
        ]
        for i, (source, trained, geometry) in enumerate(sources):
            built = build(source, args, work / f"m{i}", trained, geometry)
            model = load_model(built["files"]["ours-f32"])
            rows = load_rows(built["files"], args.threads, bf16)
            label = "allcnn/lk-relu fashion-mnist" if trained else source.removeprefix("zoo:")
            result: dict[str, Any] = {
                "model": label,
                **{k: v for k, v in built.items() if k != "files"},
            }
            if trained:
                result["accuracy"] = accuracies(rows, args, model)
            result["medians"] = timings(rows, model, args)
            result["compiled_precision"] = {  # what OpenVINO compiled at (after the runs)
                n: [r.precision]
                if isinstance(r, PeerOpenVino)
                else r.runner.settings().get("compiled_precision", ["f32"])
                for n, r in rows.items()
            }
            result["targets"] = targets(result)
            results.append(result)
            print(f"{label}: done ({time.perf_counter() - start:.0f} s)", flush=True)
    flags = sorted(cpu_flags() & {"avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16",
                                  "amx_int8", "avx_vnni", "fma"})  # fmt: skip
    data = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu_model(),
        "isa_flags": flags,
        "openvino_capabilities": capabilities(),
        "machine": machine(),
        "platform": platform.platform(),
        "load_average": list(os.getloadavg()),
        "versions": {
            "onnxruntime": onnxruntime.__version__,
            "openvino": openvino.get_version(),
            "nncf": nncf.__version__,
        },
        "threads": args.threads,
        "runs": args.runs,
        "quick": args.quick,
        "checkpoint": checkpoint
        if args.checkpoint or args.quick
        else f"trained here, {args.max_steps} steps",
        "results": results,
        "table": table(results),
    }
    data["wall_s"] = round(time.perf_counter() - start, 1)
    print(data["table"])
    print(f"\nCPU {data['cpu']}; ISA {' '.join(flags)}; load average {data['load_average']}")
    for r in results:
        for c in r["targets"]:
            gap = c.get("accuracy_gap_points")
            tail = f", accuracy gap {gap:+.2f} points" if gap is not None else ""
            print(f"target {c['what']}: {c['value']:.2f}x (target {c['target']}x){tail} "
                  f"{'met' if c['met'] else 'MISSED'}")  # fmt: skip
    write_json(args.out, data)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
