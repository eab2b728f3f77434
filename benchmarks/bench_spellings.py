"""How the torch spelling of LK-ReLU's first half shapes the plain export's speed.

The same linked AllCNN-C weights, exported flat by ``torch.onnx.export(dynamo=True)``
with the first half written three ways, plus linkedonnx's optimized export:

  clamp      ``clamp(z, min=0)``            (linkedonnx.nn: derivative 1 at z = 0)
  relu       ``relu(z)``                    (the naive CReLU ``cat([relu(z), relu(-z)])``)
  where      ``where(z < 0, zeros_like(z), z)`` (linkedonnx.nn before this benchmark)
  optimized  linkedonnx.export + optimize(target='cpu')

For each: op counts, ORT's own profile (share of kernel time outside Conv/Gemm), and
medians of interleaved runs in one process with thread-pool spinning off (the
hygiene of design-notes.md). Prints a Markdown table; writes JSON
(default benchmarks/results/spellings.json).

    python benchmarks/bench_spellings.py [--batch 32] [--runs 20] [--threads 2]
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
from pathlib import Path

import onnx
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _timing import machine, markdown_table, write_json  # noqa: E402

from linkedonnx.export import export_model, export_plain  # noqa: E402
from linkedonnx.nn import modules  # noqa: E402
from linkedonnx.onnx_io import save_model  # noqa: E402
from linkedonnx.passes.optimize import optimize  # noqa: E402
from linkedonnx.runtime.bench import bench_models  # noqa: E402
from linkedonnx.runtime.profile import profile_model  # noqa: E402
from linkedonnx.zoo import ModelSpec, build  # noqa: E402

SPELLINGS = {
    "clamp": None,  # linkedonnx.nn's own forward
    "relu": lambda self, z: torch.cat([F.relu(z), F.relu(-z)], self.axis),
    "where": lambda self, z: torch.cat(
        [torch.where(z < 0, torch.zeros_like(z), z), F.relu(-z)], self.axis
    ),
}


def exports(model: torch.nn.Module, spec: ModelSpec, folder: Path) -> dict[str, Path]:
    """Write the flat export of each spelling and the optimized export; return name -> path."""
    paths: dict[str, Path] = {}
    original = modules.LinkedReLU.forward
    try:
        for name, forward in SPELLINGS.items():
            modules.LinkedReLU.forward = forward or original
            paths[name] = save_model(
                export_plain(model, spec.input_shape(1)), folder / f"{name}.onnx"
            )
    finally:
        modules.LinkedReLU.forward = original
    exported = export_model(model, spec)
    optimized, _ = optimize(exported.model, target="cpu")
    paths["optimized"] = save_model(optimized, folder / "optimized.onnx")
    return paths


def main() -> None:
    """Run the comparison and write the table and JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="allcnn/lk-relu")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=HERE / "results" / "spellings.json")
    args = parser.parse_args()

    torch.manual_seed(0)
    spec = ModelSpec(args.model)
    model = build(spec).eval()
    with tempfile.TemporaryDirectory(prefix="linkedonnx-spellings-") as tmp:
        paths = exports(model, spec, Path(tmp))
        report = bench_models(
            list(paths.values()), batch=args.batch, threads=args.threads, warmup=3, runs=args.runs
        )
        rows, results = [], []
        base = report.timings[0].median_ms
        for (name, path), timing in zip(paths.items(), report.timings, strict=True):
            ops = collections.Counter(n.op_type for n in onnx.load(str(path)).graph.node)
            prof = profile_model(path, batch=args.batch, threads=args.threads, runs=5)
            rows.append(
                [
                    name,
                    f"{timing.median_ms:.1f}",
                    f"{base / timing.median_ms:.3f}x",
                    f"{100 * prof.outside_conv_gemm:.1f}%",
                    ", ".join(f"{k} {v}" for k, v in sorted(ops.items())),
                ]
            )
            results.append(
                {
                    "name": name,
                    "median_ms": timing.median_ms,
                    "speedup_vs_clamp": base / timing.median_ms,
                    "outside_conv_gemm": prof.outside_conv_gemm,
                    "ops": dict(ops),
                }
            )
    header = ["export", "median ms", "vs clamp", "kernel time outside Conv/Gemm", "ops"]
    print(f"{args.model}, batch {args.batch}, {args.threads} threads, ORT CPU EP, ORT_ENABLE_ALL")
    print(markdown_table(header, rows))
    write_json(
        args.json,
        {
            "machine": machine(),
            "model": args.model,
            "batch": args.batch,
            "threads": args.threads,
            "runs": args.runs,
            "results": results,
        },
    )
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
