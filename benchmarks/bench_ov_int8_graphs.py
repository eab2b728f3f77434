"""OpenVINO's compiled INT8 graphs side by side (issue 25.5): NNCF's INT8 of the plain
export against linkedonnx's INT8 files, per layer.

For each row it compiles the file on OpenVINO's CPU device (threads, one stream, the
latency hint, PERF_COUNT on) and runs the rows interleaved in one process, recording per
inference the wall time and the process CPU time (all threads: less sensitive to other
processes on a shared machine than wall time), and per layer of the runtime graph its
type, kernel, runtime and output precision and its fastest time. For our ONNX files it
also counts the convolutions that read u8 with a zero point
(:func:`linkedonnx.quantize.openvino_form.asymmetric_conv_inputs`). Rows:
  nncf-int8            NNCF's INT8 IR, OpenVINO's default precision (bf16 on AVX-512 BF16)
  ours-int8-ov f32     linkedonnx quantize --provider openvino, f32 hint (our runner's)
  ours-int8-ov bf16    the same file, bf16 hint (where the CPU has it)
  ours-int8-cpu f32    linkedonnx quantize (ONNX Runtime's form), f32 hint

Usage:
    python benchmarks/bench_ov_int8_graphs.py --checkpoint runs/fm/best.safetensors
    python benchmarks/bench_ov_int8_graphs.py --speed-model zoo:resnet/lk-relu  # 32x32
    python benchmarks/bench_ov_int8_graphs.py --quick      # untrained 16x16, no claims
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

from _timing import cpu_model, machine, markdown_table, write_json  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "ov_int8_graphs.json"
ROWS = {  # row -> (file key, precision hint or None for OpenVINO's default)
    "nncf-int8": ("nncf-int8", None),
    "ours-int8-ov f32": ("ours-int8-ov", "f32"),
    "ours-int8-ov bf16": ("ours-int8-ov", "bf16"),
    "ours-int8-cpu f32": ("ours-int8", "f32"),
}


class Compiled:
    """One file compiled for one batch with PERF_COUNT on."""

    def __init__(self, path: Path, hint: str | None, batch: int, threads: int) -> None:
        import openvino as ov

        core = ov.Core()
        model = core.read_model(str(path))
        self.name = model.inputs[0].get_any_name()
        dims = [d.get_length() for d in list(model.inputs[0].get_partial_shape())[1:]]
        model.reshape({self.name: ov.PartialShape([batch, *dims])})
        config = {
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": "1",
            "INFERENCE_NUM_THREADS": str(threads),
            "PERF_COUNT": "YES",
            **({"INFERENCE_PRECISION_HINT": hint} if hint else {}),
        }
        self.compiled = core.compile_model(model, "CPU", config)
        self.request = self.compiled.create_infer_request()
        rng = np.random.default_rng(0)
        self.feed = {self.name: rng.uniform(0, 1, (batch, *dims)).astype(np.float32)}
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.layers: dict[tuple[str, str, str], list[float]] = defaultdict(list)

    def run(self, record: bool) -> None:
        """Infer once; with ``record``, keep the wall, CPU and per-layer times (ms)."""
        wall, cpu = time.perf_counter(), time.process_time()
        self.request.infer(self.feed, share_inputs=True, share_outputs=True)
        if not record:
            return
        self.wall.append(1e3 * (time.perf_counter() - wall))
        self.cpu.append(1e3 * (time.process_time() - cpu))
        for info in self.request.profiling_info:
            key = (info.node_name, info.node_type, info.exec_type)
            self.layers[key].append(1e3 * info.real_time.total_seconds())

    def precisions(self) -> list[dict[str, str]]:
        """Each executed layer of the runtime graph: name, type, runtime and output
        precision."""
        rows = []
        for op in self.compiled.get_runtime_model().get_ordered_ops():
            rt = op.get_rt_info()

            def get(key: str, info: Any = rt) -> str:
                return info[key].astype(str) if key in info else ""

            if get("layerType") in ("Input", "Output", "Const", "Reshape", "Reorder"):
                continue
            rows.append(
                {
                    "name": op.get_friendly_name(),
                    "type": get("layerType"),
                    "kernel": get("primitiveType"),
                    "runtime": get("runtimePrecision"),
                    "output": get("outputPrecisions"),
                }
            )
        return rows

    def summary(self) -> dict[str, Any]:
        """Medians and minima of the recorded runs, and per-layer-type sums of the
        layers' fastest times."""
        by_type: dict[str, float] = defaultdict(float)
        for (_, kind, _), times in self.layers.items():
            by_type[kind] += float(np.min(times))
        return {
            "wall_median_ms": float(np.median(self.wall)),
            "wall_min_ms": float(np.min(self.wall)),
            "cpu_median_ms": float(np.median(self.cpu)),
            "layer_type_min_ms": {k: round(v, 4) for k, v in sorted(by_type.items()) if v > 0},
        }


def measure(files: dict[str, Path], args: argparse.Namespace, bf16: bool) -> dict[str, Any]:
    """Per batch and row: the summary and (first batch) the runtime precisions."""
    rows = {k: v for k, v in ROWS.items() if bf16 or v[1] != "bf16"}
    result: dict[str, Any] = {}
    for batch in (1, 32):
        compiled = {
            r: Compiled(files[f], hint, batch, args.threads) for r, (f, hint) in rows.items()
        }
        runs = args.runs * (8 if batch == 1 else 1)
        for i in range(args.warmup + runs):
            for c in compiled.values():
                c.run(record=i >= args.warmup)
        result[str(batch)] = {r: c.summary() for r, c in compiled.items()}
        if batch == 32:
            result["layers"] = {r: c.precisions() for r, c in compiled.items()}
    return result


def table(result: dict[str, Any]) -> str:
    """One Markdown row per batch and row: wall and CPU times, per-type layer times."""
    body = []
    for batch in ("1", "32"):
        for row, s in result[batch].items():
            types = s["layer_type_min_ms"]
            body.append(
                [
                    batch,
                    row,
                    f"{s['wall_median_ms']:.3f}",
                    f"{s['wall_min_ms']:.3f}",
                    f"{s['cpu_median_ms']:.3f}",
                    ", ".join(
                        f"{k} {v:.2f}" for k, v in sorted(types.items(), key=lambda kv: -kv[1])
                    ),
                ]
            )
    headers = ["batch", "row", "wall median ms", "wall min ms", "CPU median ms", "layers (min ms)"]
    return markdown_table(headers, body)


def main(argv: list[str] | None = None) -> int:
    """Build the files, measure, print the table, write JSON; return the exit status."""
    import bench_runtimes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="allcnn/lk-relu trained on Fashion-MNIST")
    parser.add_argument(
        "--speed-model", help="a zoo source instead (random weights, seeded calibration)"
    )
    parser.add_argument("--image-size", type=int, default=32, help="with --speed-model")
    parser.add_argument("--samples", type=int, default=512, help="calibration samples")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--runs", type=int, default=60, help="runs at batch 32 (x8 at 1)")
    parser.add_argument("--quick", action="store_true", help="untrained 16x16, 2 runs")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    args.tune = False
    if args.quick:
        args.runs, args.warmup, args.samples = 2, 1, 32
    elif not (args.checkpoint or args.speed_model):
        parser.error("--checkpoint or --speed-model is needed (or --quick)")
    bench_runtimes.need_nncf()
    from linkedonnx.onnx_io import load_model
    from linkedonnx.quantize.openvino_form import asymmetric_conv_inputs
    from linkedonnx.runners.openvino_runner import bf16_supported

    with tempfile.TemporaryDirectory(prefix="bench-ov-int8-") as tmp:
        if args.quick:
            source, trained = "zoo:allcnn/lk-relu", False
            geometry = {"in_channels": 1, "image_size": 16}
        elif args.speed_model:
            source, trained, geometry = args.speed_model, False, {"image_size": args.image_size}
        else:
            source, trained, geometry = args.checkpoint, True, {}
        built = bench_runtimes.build(source, args, Path(tmp), trained, geometry)
        files = built["files"]
        result = measure(files, args, bf16_supported())
        zero_points = {
            key: len(asymmetric_conv_inputs(load_model(files[key])))
            for key in ("ours-int8-ov", "ours-int8")
        }
    data = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu_model(),
        "machine": machine(),
        "load_average": list(os.getloadavg()),
        "threads": args.threads,
        "runs": args.runs,
        "quick": args.quick,
        "source": source,
        "forms": {"ours-int8": built["ours_form"], "ours-int8-ov": built["ours_openvino_form"]},
        "convs_reading_a_zero_point": zero_points,
        **result,
        "table": table(result),
    }
    print(data["table"])
    print(f"\nconvolutions reading u8 with a zero point: {zero_points}")
    print(f"load average {data['load_average']} (contended when above 1 per CPU)")
    write_json(args.out, data)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
