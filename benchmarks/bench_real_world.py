"""Real-world ONNX files (issue 22): the whole corpus of exporter-made models the onnx
package ships (``onnx/backend/test/data``: pytorch-converted, pytorch-operator, simple,
light) through ``convert`` and ``optimize`` as given, then ``validate OPT --reference
SRC``; and the speed of the 9 light ImageNet CNNs (seeded random weights in place of
their ``ConstantOfShape(0.02)`` fills, batch 1): the source against the optimized model
in ONNX Runtime, interleaved runs, thread pools not spinning.

Prints a summary per family and a table of the light CNNs, writes JSON (default
benchmarks/results/real_world.json) and rewrites its section of benchmarks/RESULTS.md
(between ``<!-- bench_real_world:begin -->`` / ``end``; not for --quick).

Usage:
    python benchmarks/bench_real_world.py                 # the whole set (minutes)
    python benchmarks/bench_real_world.py --quick         # the CI subset, no timing
    python benchmarks/bench_real_world.py --runs 30 --light light_squeezenet
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

from _corpus import FAMILIES, LIGHT_CNNS, corpus_models, run_model  # noqa: E402
from _results_md import replace_marked_section, results_md_target  # noqa: E402
from _timing import cpu_model, machine, markdown_table, write_json  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "real_world.json"
DEFAULT_RESULTS_MD = ROOT / "benchmarks" / "RESULTS.md"
MD_BEGIN = "<!-- bench_real_world:begin -->"
MD_END = "<!-- bench_real_world:end -->"
#: The issue's speed goal: median (source ms / optimized ms) over the 9 CNNs.
MIN_MEDIAN_RATIO = 0.97
#: Light CNNs in --quick (the CI subset).
QUICK_LIGHT = ("light_squeezenet", "light_shufflenet")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", default=",".join(FAMILIES), help="corpus folders to run")
    parser.add_argument("--light", default=",".join(LIGHT_CNNS), help="light CNNs to run")
    parser.add_argument("--runs", type=int, default=40, help="timed runs per contender")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up runs per contender")
    parser.add_argument("--threads", type=int, default=None, help="ORT intra-op threads")
    parser.add_argument("--quick", action="store_true", help="the CI subset, no timing")
    parser.add_argument("--note", default="", help="a note on the machine's load for the table")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output")
    parser.add_argument("--results-md", type=Path, default=None, help="Markdown file to rewrite")
    parser.add_argument("--no-results-md", action="store_true", help="write no Markdown")
    return parser.parse_args(argv)


def speed(row: dict[str, Any], runs: int, warmup: int, threads: int | None) -> dict[str, Any]:
    """Median ms of the source and the optimized model (interleaved, batch 1, same
    seeded inputs) and their ratio source/optimized (> 1: the optimized is faster)."""
    from linkedonnx.runtime.bench import bench_sessions
    from linkedonnx.runtime.session import make_session

    files = row["files"]
    sessions = [
        (name, make_session(files[key], "cpu", threads=threads))
        for name, key in (("source", "source"), ("optimized", "optimize"))
    ]
    source, optimized = bench_sessions(sessions, batch=1, warmup=warmup, runs=runs)
    return {
        "source_ms": round(source.median_ms, 3),
        "optimized_ms": round(optimized.median_ms, 3),
        "ratio": round(optimized.speedup, 3),
    }


def family_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """One summary line per family: models, ORT runs, convert/optimize exit 0, outputs
    equal, validate passed, upgraded, IR < 4, exit 3 anywhere."""
    table = []
    for family in dict.fromkeys(r["model"].split("/")[0] for r in rows):
        mine = [r for r in rows if r["model"].startswith(family + "/")]
        runs = [r for r in mine if r["runs"]]

        def ok(r: dict[str, Any], command: str) -> bool:
            return r.get(command, {}).get("exit") == 0

        table.append(
            [
                family,
                len(mine),
                len(runs),
                sum(ok(r, "convert") for r in runs),
                sum(ok(r, "optimize") for r in runs),
                sum(bool(r.get("outputs_equal")) for r in runs),
                sum(r.get("validate") == "passed" for r in runs),
                sum(r["opset"] < 13 for r in runs),
                sum(r["ir"] < 4 for r in runs),
                sum(r.get(c, {}).get("exit") == 3 for r in runs for c in ("convert", "optimize")),
            ]
        )
    return table


FAMILY_HEADER = [
    "family",
    "models",
    "ORT runs",
    "convert ok",
    "optimize ok",
    "outputs equal",
    "validate passed",
    "opset < 13",
    "IR < 4",
    "exit 3",
]
LIGHT_HEADER = [
    "model",
    "convert / optimize exit",
    "linked nodes",
    "max diff (convert, optimize)",
    "validate",
    "source ms",
    "optimized ms",
    "ratio",
]


def light_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """One line per light CNN."""
    table = []
    for r in rows:
        if not r["model"].startswith("light/") or not r["runs"]:
            continue
        c, o, s = r.get("convert", {}), r.get("optimize", {}), r.get("speed", {})
        linked = ", ".join(f"{k} x{v}" for k, v in c.get("linked", {}).items()) or "none"
        table.append(
            [
                r["model"].split("/")[1],
                f"{c.get('exit')} / {o.get('exit')}",
                linked,
                f"{c.get('max_diff', float('nan')):.1e}, {o.get('max_diff', float('nan')):.1e}",
                r.get("validate"),
                s.get("source_ms", "-"),
                s.get("optimized_ms", "-"),
                f"{s['ratio']:.3f}" if "ratio" in s else "-",
            ]
        )
    return table


def main(argv: list[str] | None = None) -> int:
    """Run the corpus, print the tables, write JSON and RESULTS.md; return 0."""
    import onnx
    import onnxruntime

    from linkedonnx.quantize.isa import detect

    args = parse_args(argv)
    families = tuple(args.families.split(","))
    light = set(QUICK_LIGHT if args.quick else args.light.split(","))
    models = [m for m in corpus_models(families) if m.family != "light" or m.name in light]
    rows = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="linkedonnx.real_world.") as tmp:
        for model in models:
            began = time.perf_counter()
            row = run_model(model, Path(tmp) / model.family / model.name)
            if model.family == "light" and row["runs"] and not args.quick and "optimize" in row:
                row["speed"] = speed(row, args.runs, args.warmup, args.threads)
            row["seconds"] = round(time.perf_counter() - began, 2)
            row.pop("files", None)
            rows.append(row)
            print(f"{model.label}: {row['seconds']} s", file=sys.stderr, flush=True)
    ratios = [r["speed"]["ratio"] for r in rows if "speed" in r]
    median = statistics.median(ratios) if ratios else None
    isa = detect()
    data = {
        "date": datetime.date.today().isoformat(),
        "cpu": cpu_model(),
        "isa": list(isa.flags),
        "machine": machine(),
        "note": args.note,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "runs": args.runs,
        "warmup": args.warmup,
        "threads": args.threads,
        "seconds": round(time.perf_counter() - start, 1),
        "median_ratio": median,
        "rows": rows,
    }
    write_json(args.out, data)
    fam = markdown_table(FAMILY_HEADER, family_rows(rows))
    cnn = markdown_table(LIGHT_HEADER, light_rows(rows))
    goal = (
        f"median ratio over {len(ratios)} CNNs: **{median:.3f}** (goal ≥ {MIN_MEDIAN_RATIO}: "
        f"{'met' if median >= MIN_MEDIAN_RATIO else 'missed'})"
        if median is not None
        else "no timing (--quick)"
    )
    print(fam, cnn, goal, sep="\n\n")
    target = results_md_target(
        args.results_md, quick=args.quick, off=args.no_results_md, default=DEFAULT_RESULTS_MD
    )
    if target is not None:
        section = "\n".join(
            [
                MD_BEGIN,
                f"`python benchmarks/bench_real_world.py` ({data['seconds']:.0f} s, "
                f"{data['date']}) → `results/real_world.json`. CPU: {data['cpu']}; 8-bit ISA "
                f"flags: {' '.join(data['isa']) or 'none read'}; {args.note or 'load not noted'}. "
                f"onnx {data['onnx']}, onnxruntime {data['onnxruntime']}. Light CNNs: seeded "
                f"random weights, batch 1, {args.runs} interleaved runs per contender after "
                f"{args.warmup} warm-up, ratio = source ms / optimized ms.",
                "",
                fam,
                "",
                cnn,
                "",
                goal,
                MD_END,
            ]
        )
        replace_marked_section(
            target, section, MD_BEGIN, MD_END, heading="## Real-world ONNX files (issue 22)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
