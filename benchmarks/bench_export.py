"""Export every zoo model with linked functions and check it: export time (wall and CPU),
inlining time, nodes, linked calls, file size, and parity against PyTorch at batch 1 and
7 (max |ORT - torch float32| and, for scale, max |torch float32 - torch float64|).

This is the full export sweep (all 130 zoo models); CI checks one model per family and
activation kind at a small image size through :func:`measure` (tests/export). A model
fails when parity fails, its inlined form gives other outputs, or its structure is
wrong (the linked calls are not exactly the linked modules' kinds, a function is
missing, the batch dimension is not dynamic, the outputs are too small to test); the
script then exits 1.

    python benchmarks/bench_export.py                    # all zoo models (~5 CPU-minutes)
    python benchmarks/bench_export.py --family allcnn    # one family
    python benchmarks/bench_export.py --quick            # one linked model per family
    python benchmarks/bench_export.py --image-size 8     # smaller inputs (faster parity)

Prints a table and writes JSON (default benchmarks/results/export.json). Timings are
of one process exporting the models one after another (the torchlib registry is built
once, on the first export; that first export is reported separately).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from linkedonnx import DOMAIN, __version__, zoo
from linkedonnx.atomic import write_text_atomic
from linkedonnx.export import export_model, inline_linked_functions, run_torch
from linkedonnx.export.shims import function_kind
from linkedonnx.functions import op_type
from linkedonnx.runtime.compare import compare
from linkedonnx.runtime.session import make_session
from linkedonnx.sources import build_zoo
from linkedonnx.zoo import ModelSpec

ROOT = Path(__file__).resolve().parents[1]
QUICK = [
    "width/lk-prelu",
    "params/lk-relu",
    "allcnn/lk-relu",
    "depth/lk-selu",
    "resnet/lk-swish",
]


def structure_problems(name: str, model: torch.nn.Module, result: Any) -> list[str]:
    """What is wrong with the structure of ``result`` (an ExportResult of zoo model
    ``name`` built as ``model``): empty when every linked module became one call of its
    function, the functions are attached and the batch dimension is dynamic."""
    proto = result.model
    expected = {op_type(k) for k in map(function_kind, model.modules()) if k is not None}
    problems = []
    if set(result.calls) != expected:
        problems.append(f"calls {sorted(result.calls)} != linked modules {sorted(expected)}")
    if bool(expected) != (zoo.parse_name(name).form == "linked"):
        problems.append("linked calls do not match the model's form")
    functions = {f.name for f in proto.functions if f.domain == DOMAIN}
    if functions != expected:
        problems.append(f"functions {sorted(functions)} != {sorted(expected)}")
    if proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param != "batch":
        problems.append("the batch dimension is not dynamic")
    return problems


def measure(name: str, batches: tuple[int, ...], image_size: int | None = None) -> dict[str, Any]:
    """Export ``name`` (seed 0, at ``image_size`` when given) and check it; return one
    row of the report (``ok`` says whether every check passed)."""
    spec = ModelSpec(name) if image_size is None else ModelSpec(name, image_size=image_size)
    model = build_zoo(spec, seed=0)
    wall, cpu = time.perf_counter(), time.process_time()
    result = export_model(model, spec, source=f"zoo:{name} seed=0")
    export_wall, export_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall = time.perf_counter()
    inlined = inline_linked_functions(result.model)
    inline_s = time.perf_counter() - wall
    session = make_session(result.model, "cpu", threads=1)
    flat = make_session(inlined, "cpu", threads=1)
    row: dict[str, Any] = {
        "model": name,
        "export_s": export_wall,
        "export_cpu_s": export_cpu,
        "inline_s": inline_s,
        "nodes": result.node_count,
        "calls": result.calls,
        "bytes": result.model.ByteSize(),
        "passed": True,
        "inlined_equal": True,
        "problems": structure_problems(name, model, result),
    }
    for batch in batches:
        x = np.random.default_rng([0, batch]).standard_normal(spec.input_shape(batch))
        x = x.astype(np.float32)
        got = session.run(None, {"input": x})[0]
        want = run_torch(model, [x])[0]
        want64 = run_torch(model, [x], dtype=torch.float64)[0]
        verdict = compare("output", got, want)
        if not np.abs(want).max() > 1e-3:
            row["problems"].append(f"batch {batch}: outputs too small for atol 1e-5 to bite")
        row[f"err_b{batch}"] = verdict.max_abs
        row[f"torch32_vs_64_b{batch}"] = float(np.abs(want - want64).max())
        row[f"ort_vs_64_b{batch}"] = float(np.abs(got - want64).max())
        row["passed"] &= verdict.passed
        row["inlined_equal"] &= bool(np.array_equal(flat.run(None, {"input": x})[0], got))
    row["ok"] = row["passed"] and row["inlined_equal"] and not row["problems"]
    return row


def main(argv: list[str] | None = None) -> int:
    """Run the export benchmark; return 0 when every model passed, 1 otherwise."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=sorted(zoo.FAMILIES), default=None)
    parser.add_argument("--names", nargs="*", default=None, help="explicit zoo names")
    parser.add_argument("--quick", action="store_true", help="one linked model per family")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--image-size", type=int, default=None, help="input side (default: zoo)")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/export.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    names = args.names or (QUICK if args.quick else zoo.names(args.family))
    warm = time.perf_counter()
    export_model(build_zoo(ModelSpec("width/relu"), 0), ModelSpec("width/relu"))
    first_s = time.perf_counter() - warm
    rows = []
    header = f"{'model':28s} {'export s':>8s} {'cpu s':>6s} {'inline s':>8s} {'nodes':>5s} "
    header += f"{'calls':>5s} {'MB':>6s} {'err b1':>8s} {'err b7':>8s} {'t32-t64':>8s}  ok"
    print(f"first export (builds the torchlib registry): {first_s:.2f} s")
    print(header)
    for name in names:
        row = measure(name, (1, 7), args.image_size)
        rows.append(row)
        ok = "yes" if row["ok"] else "NO: " + "; ".join(row["problems"] or ["parity"])
        print(
            f"{name:28s} {row['export_s']:8.2f} {row['export_cpu_s']:6.2f} "
            f"{row['inline_s']:8.3f} {row['nodes']:5d} {sum(row['calls'].values()):5d} "
            f"{row['bytes'] / 1e6:6.2f} {row['err_b1']:8.1e} {row['err_b7']:8.1e} "
            f"{row['torch32_vs_64_b7']:8.1e}  {ok}",
            flush=True,
        )
    total = sum(r["export_s"] for r in rows)
    total_cpu = sum(r["export_cpu_s"] for r in rows)
    print(f"{len(rows)} models: export {total:.1f} s wall, {total_cpu:.1f} s CPU")
    report = {
        "linkedonnx": __version__,
        "torch": torch.__version__,
        "machine": f"{platform.machine()} {platform.processor()} ({platform.system()})",
        "first_export_s": first_s,
        "total_export_s": total,
        "total_export_cpu_s": total_cpu,
        "rows": rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.json, json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
