"""INT8 quality (issue 25): our INT8 against NNCF's on a Fashion-MNIST-trained AllCNN-C.

For the checkpoint given, on the first ``--test-samples`` of the Fashion-MNIST test split:
the float32 model (our optimized file in ONNX Runtime) is the reference; each INT8 model
gets its top-1 drop (points) and its mean |logit - float32 logit| / std(float32 logits).
INT8 models: NNCF's post-training INT8 of the plain export (defaults: min-max ranges,
fast bias correction) in OpenVINO, and ours (linkedonnx quantize) with each calibration
method, per channel and per tensor, in ONNX Runtime. Every model is calibrated on the
same first ``--samples`` train images. Writes JSON (default
benchmarks/results/int8_quality.json) and prints a table.

Usage:
    python benchmarks/bench_int8_quality.py --checkpoint runs/fm/best.safetensors
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

from _timing import cpu_model, markdown_table, write_json  # noqa: E402
from bench_runtimes import PeerOpenVino, need_nncf, nncf_quantize  # noqa: E402

VARIANTS = [
    ("minmax", True),
    ("minmax", False),
    ("entropy", True),
    ("percentile", True),
]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "int8_quality.json"


def logits(predict: Any, x: np.ndarray) -> np.ndarray:
    """``predict`` over ``x`` in batches of 100."""
    return np.concatenate([predict(x[i : i + 100]) for i in range(0, len(x), 100)])


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--samples", type=int, default=512, help="calibration samples")
    parser.add_argument("--test-samples", type=int, default=10000)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    need_nncf()

    from linkedonnx.arrays.labelled import model_data
    from linkedonnx.export import export_model, export_plain
    from linkedonnx.onnx_io import save_model
    from linkedonnx.passes.optimize import optimize
    from linkedonnx.quantize import calibration_batches, quantize
    from linkedonnx.runners.providers import load_runner
    from linkedonnx.sources import load_source

    start = time.perf_counter()
    resolved = load_source(args.checkpoint)
    torch_model = resolved.model.eval()
    exported = export_model(torch_model, resolved.spec, preprocess=resolved.preprocess)
    batches, origin = calibration_batches(exported.model, "fashion-mnist", samples=args.samples)
    _, labelled = model_data(exported.model, "fashion-mnist", limit=args.test_samples)
    x, labels = labelled.images.astype(np.float32), labelled.labels
    rows: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory(prefix="bench-int8-quality-") as tmp:
        work = Path(tmp)
        optimized, _ = optimize(exported.model, target="cpu", tune=False)
        reference = load_runner("cpu", optimized)
        name = reference.input_names[0]
        rows["float32 (ours, ORT)"] = logits(lambda b: reference.run({name: b})[0], x)
        save_model(export_plain(torch_model, resolved.spec.input_shape(1)), work / "plain.onnx")
        nncf_quantize(work / "plain.onnx", work / "nncf.xml", batches)
        peer = PeerOpenVino(work / "nncf.xml", threads=1)
        rows["NNCF INT8 (OpenVINO)"] = logits(peer.predict, x)
        for method, per_channel in VARIANTS:
            ours, _ = quantize(exported.model, batches, method=method, per_channel=per_channel)
            runner = load_runner("cpu", ours)
            label = f"ours INT8 {method} {'per-channel' if per_channel else 'per-tensor'} (ORT)"
            rows[label] = logits(lambda b, r=runner: r.run({name: b})[0], x)
    base = rows["float32 (ours, ORT)"]
    base_top1 = float(np.mean(base.argmax(1) == labels))
    results = {
        label: {
            "top1": float(np.mean(out.argmax(1) == labels)),
            "drop_points": 100 * (base_top1 - float(np.mean(out.argmax(1) == labels))),
            "logit_error": float(np.mean(np.abs(out - base)) / base.std()),
        }
        for label, out in rows.items()
    }
    table = markdown_table(
        ["model", "top-1 %", "drop (points)", "mean |dlogit| / std"],
        [
            [k, f"{100 * v['top1']:.2f}", f"{v['drop_points']:+.2f}", f"{v['logit_error']:.4f}"]
            for k, v in results.items()
        ],
    )
    data = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu_model(),
        "load_average": list(os.getloadavg()),
        "checkpoint": args.checkpoint,
        "calibration": f"{origin}, {args.samples} samples",
        "test_samples": len(labels),
        "results": results,
        "table": table,
        "wall_s": round(time.perf_counter() - start, 1),
    }
    print(table)
    write_json(args.out, data)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
