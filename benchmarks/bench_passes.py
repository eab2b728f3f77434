"""Speed of the optimize passes in ONNX Runtime (CPU EP), side by side in one run.

Contenders (every one at ORT_ENABLE_ALL, ``--threads`` intra-op threads, thread-pool
spinning off, timed interleaved round-robin on the same seeded input; medians):

- ``allcnn``: zoo ``allcnn/lk-relu`` exported flat by ``torch.onnx.export(dynamo=True)``
  vs exported with linked functions and run through ``optimize`` (target 1.2x at batch
  32, 1.08x at batch 1);
- ``resnet``: the same for ``resnet/lk-relu`` (target 1.1x at batch 32, >= 1.0x at 1);
- ``twobranch``: a naive two-branch LK-ReLU net (each linked conv computed twice from
  separately stored equal weights), flat, as given vs after ``optimize`` (which runs
  convert's recognition and fusion first; target 1.9x);
- ``forms``: every lowering form of the linked AllCNN-C (and of each activation with
  ``--all-kinds``), the measurement behind ``lower_cpu.CPU_PREFERENCE``;
- ``profile``: ORT's own profile of the flat and optimized AllCNN-C at batch 32: the
  share of kernel time outside Conv/Gemm (target <= 5%).

Prints a table and writes JSON (default ``benchmarks/results/passes.json``).
Usage: ``python benchmarks/bench_passes.py [--quick] [--threads 2] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnx_ir as ir
import onnxruntime as ort
import torch
from rich.console import Console
from rich.table import Table
from torch import nn

from linkedonnx.atomic import write_text_atomic
from linkedonnx.export import export_model, export_plain
from linkedonnx.kinds import KINDS
from linkedonnx.passes.convert import convert_passes
from linkedonnx.passes.optimize import lowered_candidates, optimize, prepare
from linkedonnx.runtime.bench import bench_sessions, machine_description
from linkedonnx.runtime.inputs import session_inputs
from linkedonnx.runtime.profile import profile_model
from linkedonnx.runtime.session import make_session
from linkedonnx.zoo import ModelSpec, build

TARGETS = {
    ("allcnn", 32): 1.2,
    ("allcnn", 1): 1.08,
    ("resnet", 32): 1.1,
    ("resnet", 1): 1.0,
    ("twobranch", 32): 1.9,
    ("twobranch", 1): 1.9,
}
console = Console()


class TwoBranch(nn.Module):
    """Naive LK-ReLU: each linked conv computed twice, the copy's weights stored apart.

    Layers: conv(3->c) -> cat([relu(a(x)), relu(-b(x))]) ... with ``b`` a separate
    Conv2d holding a copy of ``a``'s weight and bias, then a 1x1 classifier and GAP."""

    def __init__(self, widths: tuple[int, ...] = (96, 96, 96, 192, 192, 192)) -> None:
        super().__init__()
        self.a, self.b = nn.ModuleList(), nn.ModuleList()
        cin = 3
        for i, w in enumerate(widths):
            stride = 2 if i % 3 == 2 else 1
            a = nn.Conv2d(cin, w, 3, stride=stride, padding=1)
            b = nn.Conv2d(cin, w, 3, stride=stride, padding=1)
            b.load_state_dict(a.state_dict())
            self.a.append(a)
            self.b.append(b)
            cin = 2 * w
        self.head = nn.Conv2d(cin, 10, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for a, b in zip(self.a, self.b, strict=True):
            x = torch.cat([torch.relu(a(x)), torch.relu(-b(x))], dim=1)
        return self.head(x).mean(dim=(2, 3))


def parity(a: onnx.ModelProto, b: onnx.ModelProto, batch: int) -> float:
    """Max |a - b| over the outputs on seeded inputs (ORT CPU)."""
    sa, sb = make_session(a, threads=2), make_session(b, threads=2)
    ya = sa.run(None, session_inputs(sa, batch))
    yb = sb.run(None, session_inputs(sb, batch))
    return max(float(np.abs(x - y).max()) for x, y in zip(ya, yb, strict=True))


def time_pair(
    contenders: dict[str, onnx.ModelProto], batch: int, threads: int, warmup: int, runs: int
) -> dict[str, float]:
    """Median ms of each contender, interleaved, spinning off."""
    sessions = [(n, make_session(m, threads=threads)) for n, m in contenders.items()]
    timings = bench_sessions(sessions, batch=batch, warmup=warmup, runs=runs)
    return {t.name: t.median_ms for t in timings}


def zoo_pair(name: str, size: int) -> tuple[onnx.ModelProto, onnx.ModelProto]:
    """(flat export, linked-function export) of zoo model ``name`` at ``size``."""
    torch.manual_seed(0)
    spec = ModelSpec(name, image_size=size)
    module = build(spec).eval()
    flat = export_plain(module, spec.input_shape(2))
    linked = export_model(module, spec, batch=2).model
    return flat, linked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few runs, small images: a smoke run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=None, help="timed runs per contender")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--all-kinds", action="store_true", help="forms for every activation")
    parser.add_argument("--json", default="benchmarks/results/passes.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    size = 16 if args.quick else 32
    runs = args.runs or (5 if args.quick else 60)
    warmup = 2 if args.quick else 10
    results: dict = {
        "settings": {
            "threads": args.threads,
            "runs": runs,
            "warmup": warmup,
            "image_size": size,
            "batches": args.batches,
            "quick": args.quick,
            "ort": ort.__version__,
            "machine": machine_description(),
            "convert_available": bool(convert_passes()),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
        "ratios": [],
        "forms": [],
        "profile": {},
    }
    models: dict[str, tuple[onnx.ModelProto, onnx.ModelProto]] = {}
    for name in ("allcnn/lk-relu", "resnet/lk-relu"):
        flat, linked = zoo_pair(name, size)
        models[name.split("/")[0]] = (flat, optimize(linked)[0])
    naive = export_plain(TwoBranch().eval(), (2, 3, size, size))
    models["twobranch"] = (naive, optimize(naive)[0])

    table = Table(title=f"optimize vs flat export (ORT CPU, {args.threads} threads, medians)")
    for col in ("model", "batch", "flat ms", "optimized ms", "speed-up", "target", "max |err|"):
        table.add_column(col, justify="right" if col != "model" else "left")
    for batch in args.batches:
        for key, (flat, opt) in models.items():
            err = parity(flat, opt, batch)
            t = time_pair({"flat": flat, "optimized": opt}, batch, args.threads, warmup, runs)
            ratio = t["flat"] / t["optimized"]
            target = TARGETS.get((key, batch))
            results["ratios"].append(
                {
                    "model": key,
                    "batch": batch,
                    "flat_ms": t["flat"],
                    "optimized_ms": t["optimized"],
                    "speedup": ratio,
                    "target": target,
                    "met": None if target is None else ratio >= target,
                    "max_abs_error": err,
                }
            )
            table.add_row(
                key,
                str(batch),
                f"{t['flat']:.3f}",
                f"{t['optimized']:.3f}",
                f"{ratio:.3f}x",
                f"{target}x" if target else "-",
                f"{err:.1e}",
            )
    console.print(table)

    kinds = list(KINDS) if args.all_kinds else ["relu"]
    forms_table = Table(title="lowering forms of linked AllCNN-C (median ms; speed-up vs flat)")
    for col in ("activation", "batch", "form", "ms", "vs flat", "max |err|"):
        forms_table.add_column(col)
    for kind in kinds:
        flat, linked = zoo_pair(f"allcnn/lk-{kind}", size)
        prepared, _ = prepare(linked)
        candidates = {"flat": flat, **lowered_candidates(ir.to_proto(prepared))}
        for batch in args.batches:
            t = time_pair(candidates, batch, args.threads, warmup, runs)
            for form, ms in t.items():
                err = parity(flat, candidates[form], batch)
                results["forms"].append(
                    {
                        "activation": kind,
                        "batch": batch,
                        "form": form,
                        "median_ms": ms,
                        "speedup_vs_flat": t["flat"] / ms,
                        "max_abs_error": err,
                    }
                )
                forms_table.add_row(
                    kind, str(batch), form, f"{ms:.3f}", f"{t['flat'] / ms:.3f}x", f"{err:.1e}"
                )
    console.print(forms_table)

    prof_table = Table(title="ORT profile, AllCNN-C batch 32: kernel time outside Conv/Gemm")
    for col in ("model", "outside Conv/Gemm", "top ops"):
        prof_table.add_column(col)
    flat, opt = models["allcnn"]
    for label, m in (("flat", flat), ("optimized", opt)):
        summary = profile_model(
            m, batch=32, threads=args.threads, warmup=warmup, runs=max(5, runs // 4)
        )
        data = summary.to_dict()
        results["profile"][label] = data
        top = ", ".join(f"{k} {v:.1%}" for k, v in list(data["shares"].items())[:5])
        prof_table.add_row(label, f"{data['outside_conv_gemm']:.1%}", top)
    results["profile"]["target_outside_conv_gemm"] = 0.05
    console.print(prof_table)

    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, json.dumps(results, indent=2) + "\n")
    console.print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
