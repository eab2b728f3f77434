"""INT8 quality (issue 25): our INT8 against NNCF's on a Fashion-MNIST-trained AllCNN-C.

For the checkpoint given, on the first ``--test-samples`` of the Fashion-MNIST test split:
the float32 model (our optimized file in ONNX Runtime) is the reference; each INT8 model
gets its top-1 drop (points) and its mean |logit - float32 logit| / std(float32 logits).
INT8 models: NNCF's post-training INT8 of the plain export (defaults: min-max ranges,
fast bias correction) in OpenVINO, and ours (linkedonnx quantize) with each calibration
method, per channel and per tensor, with and without bias correction, in quantize's
default lowering form and in the stacked form, in ONNX Runtime.
Every model is calibrated on the same first ``--samples`` train images. For ours,
min-max per channel, each Conv/Gemm output's error on the first ``--layer-samples``
test images is listed too (mean |INT8 - float| / std(float), and the part of it that
is a per-channel mean offset). Writes JSON (default
benchmarks/results/int8_quality.json) and prints the tables.

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

#: (calibration method, per channel, bias correction, lowering form: None = quantize's
#: default)
VARIANTS: list[tuple[str, bool, bool, str | None]] = [
    ("minmax", True, False, None),
    ("minmax", True, True, None),
    ("minmax", True, False, "stacked"),
    ("minmax", True, True, "stacked"),
    ("minmax", False, False, None),
    ("minmax", False, True, None),
    ("entropy", True, True, None),
    ("percentile", True, True, None),
]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "int8_quality.json"


def logits(predict: Any, x: np.ndarray) -> np.ndarray:
    """``predict`` over ``x`` in batches of 100."""
    return np.concatenate([predict(x[i : i + 100]) for i in range(0, len(x), 100)])


def layer_errors(model: Any, quantized: Any, x: np.ndarray) -> dict[str, dict[str, float]]:
    """Per corrected-able layer (Conv/Gemm with an int32 bias) of our INT8 ``quantized``
    model of the float ``model``: mean |INT8 - float| / std(float) of its output over
    ``x`` ('error'), and the part of it that is a per-channel mean offset ('offset':
    mean over channels of |mean difference| / std(float))."""
    from linkedonnx.quantize.bias_correction import bias_sites
    from linkedonnx.quantize.static import concat_z, lower_for_int8
    from linkedonnx.runners.providers import load_runner
    from linkedonnx.runtime.dead_units import expose_outputs

    lowered, counts = lower_for_int8(model, None)
    lowered = concat_z(lowered) if counts else lowered
    sites = bias_sites(quantized, lowered)
    mine = load_runner("cpu", expose_outputs(quantized, [s.output for s in sites]))
    theirs = load_runner("cpu", expose_outputs(lowered, [s.reference for s in sites]))
    name = mine.input_names[0]
    got = mine.run({name: x})[-len(sites) :]
    want = theirs.run({name: x})[-len(sites) :]
    errors = {}
    for site, q, f in zip(sites, got, want, strict=True):
        diff = np.moveaxis(q - f, site.axis, 0).reshape(q.shape[site.axis], -1)
        errors[site.output] = {
            "error": float(np.mean(np.abs(q - f)) / f.std()),
            "offset": float(np.mean(np.abs(diff.mean(1))) / f.std()),
        }
    return errors


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--samples", type=int, default=512, help="calibration samples")
    parser.add_argument("--test-samples", type=int, default=10000)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--layer-samples", type=int, default=500, help="test images of the per-layer errors"
    )
    parser.add_argument(
        "--variants", type=int, default=len(VARIANTS), help="run the first N of VARIANTS"
    )
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
    layers: dict[str, dict[str, dict[str, float]]] = {}
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
        for method, per_channel, corrected, form in VARIANTS[: args.variants]:
            ours, _ = quantize(
                exported.model,
                batches,
                method=method,
                per_channel=per_channel,
                bias_correction=corrected,
                form=form,
            )
            runner = load_runner("cpu", ours)
            label = (
                f"ours INT8 {method} {'per-channel' if per_channel else 'per-tensor'}"
                f"{' + bias correction' if corrected else ''}{f', {form} form' if form else ''}"
                " (ORT)"
            )
            rows[label] = logits(lambda b, r=runner: r.run({name: b})[0], x)
            if method == "minmax" and per_channel and form is None:
                layers[label] = layer_errors(exported.model, ours, x[: args.layer_samples])
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
    names = list(next(iter(layers.values()), {}))
    layer_table = markdown_table(
        ["layer output", *(f"{k}: error / offset" for k in layers)],
        [
            [n, *(f"{v[n]['error']:.4f} / {v[n]['offset']:.4f}" for v in layers.values())]
            for n in names
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
        "layers": layers,
        "layer_table": layer_table,
        "wall_s": round(time.perf_counter() - start, 1),
    }
    print(table)
    print(layer_table)
    write_json(args.out, data)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
