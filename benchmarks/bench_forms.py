"""Which lowering form optimize's default picks, against every single form, ``--tune``,
the function-form export and the plain export (issue 27), in one interleaved table.

For each zoo family (width, depth, params, allcnn, resnet) and linked kind (default
``lk-relu``; ``--kinds relu,prelu,selu,swish`` for the paper's others): the model is
exported with linked functions (``linkedonnx.export``) and plainly
(``torch.onnx.export``), optimized by the default (timed on this machine, with a fresh
cache folder, so it measures), by ``--tune``, and with each form forced
(``--form split|dw|stacked|inline``). Every contender runs in ORT CPU at
ORT_ENABLE_ALL, ``--threads`` intra-op threads, spinning off, timed interleaved
round-robin on one seeded input (optimize's own timing helper, ``tuning.time_models``):
each figure is the median over rounds of the contender's time / the function form's in
the same round, times the function form's median ms (paired rounds: a contended
machine's slow drifts cancel). Targets, per family and batch: the default
is at least 0.98x the function-form export and within 3% of the best single form.

Prints the table, writes JSON (default ``benchmarks/results/forms.json``) with the
CPU model and ISA flags, and rewrites its section of ``benchmarks/RESULTS.md``
(``--no-results-md``: not; ``--from-json PATH``: only that, from a saved run). Usage:
``python benchmarks/bench_forms.py [--runs 30] [--batches 1 32] [--families ...]
[--kinds relu] [--image-size 8 --channels 1]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from _results_md import replace_marked_section
from rich.console import Console
from rich.table import Table

from linkedonnx.atomic import write_text_atomic
from linkedonnx.export import export_model, export_plain
from linkedonnx.passes.form_cache import this_machine
from linkedonnx.passes.optimize import optimize
from linkedonnx.passes.site_search import DEFAULT_BATCH
from linkedonnx.passes.tuning import time_models
from linkedonnx.runtime.bench import machine_description
from linkedonnx.runtime.inputs import session_inputs
from linkedonnx.runtime.session import make_session
from linkedonnx.zoo import ModelSpec, build

FAMILIES = ("width", "depth", "params", "allcnn", "resnet")
SINGLE_FORMS = ("split", "dw", "stacked", "inline")
#: The targets of issue 27: default vs the function-form export, and vs the best form.
MIN_VS_FUNCTION = 0.98
MAX_VS_BEST_FORM = 1.03
console = Console()


def contenders(name: str, size: int, channels: int) -> tuple[dict[str, onnx.ModelProto], dict]:
    """name -> model of every contender for zoo model ``name``, and notes on the
    default's and --tune's choice (seconds, forms, how)."""
    torch.manual_seed(0)
    spec = ModelSpec(name, image_size=size, in_channels=channels)
    module = build(spec).eval()
    function_form = export_model(module, spec, batch=2).model
    models = {"function form": function_form}  # first: the reference of paired timing
    models["plain export"] = export_plain(module, spec.input_shape(2))
    notes = {}
    for label, options in (("default", {}), ("--tune", {"tune": True})):
        start = time.perf_counter()
        models[label], report = optimize(function_form, **options)
        step = next(s for s in report.steps if s.name == "ChooseForms")
        meta = {p.key: p.value for p in models[label].metadata_props}
        notes[label] = {
            "seconds": round(time.perf_counter() - start, 2),
            "choose_seconds": round(step.seconds, 2),
            "forms": json.loads(meta["linkedonnx.lowered_forms"]),
            "choice": json.loads(meta["linkedonnx.form_choice"]),
        }
    for form in SINGLE_FORMS:
        models[form] = optimize(function_form, form=form)[0]
    return models, notes


def max_error(a: onnx.ModelProto, b: onnx.ModelProto, batch: int) -> float:
    """Max |a - b| over the outputs on seeded inputs (ORT CPU)."""
    sa, sb = make_session(a, threads=1), make_session(b, threads=1)
    ya, yb = sa.run(None, session_inputs(sa, batch)), sb.run(None, session_inputs(sb, batch))
    return max(float(np.abs(x - y).max()) for x, y in zip(ya, yb, strict=True))


BEGIN, END = "<!-- bench_forms:begin -->", "<!-- bench_forms:end -->"
HEADING = "## optimize's measured default vs every form (issue 27)"


def results_section(results: dict) -> str:
    """The RESULTS.md section of a run (between the bench_forms markers)."""
    st = results["settings"]
    lines = [
        BEGIN,
        f"`python benchmarks/bench_forms.py --runs {st['runs']}` ({st['date']}) → "
        f"`results/forms.json`. CPU: {st['cpu']}, ISA flags {' '.join(st['isa'])}; "
        f"{st['machine']}; onnxruntime {st['ort']}; {st['threads']} intra-op threads, "
        f"spinning off, {st['runs']} interleaved rounds after {st['warmup']} warm-up, "
        "ms = the median per-round ratio to the function form times its median; "
        f"zoo models at {st['image_size']}×{st['image_size']}×"
        f"{st['channels']} (the digits geometry). The default was timed at batch "
        f"{st['default_batch']} with an empty cache; --tune likewise, without time box. "
        f"Load average (1, 5, 15 min) {st.get('load_average_start')} at the start and "
        f"{st.get('load_average_end')} at the end: other jobs "
        "shared the machine, so the figures are contended; compare ratios within a row.",
        "",
        "| model | batch | plain export | function form | split | dw | stacked | inline "
        "| --tune | default | default vs function | default vs best form | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in results["rows"]:
        ms = row["median_ms"]
        cells = [ms[c] for c in ("plain export", "function form", *SINGLE_FORMS, "--tune")]
        lines.append(
            f"| {row['model']} | {row['batch']} | "
            + " | ".join(f"{v:.3f}" for v in cells)
            + f" | {ms['default']:.3f} | {row['default_vs_function']:.3f}× | "
            f"{row['default_vs_best_form']:.3f} ({row['best_single_form']}) | "
            f"{'met' if row['met'] else 'missed'} |"
        )
    lines += ["", "Choices (default / --tune: forms, seconds spent choosing):", ""]
    for name, notes in results["choices"].items():
        d, t = notes["default"], notes["--tune"]
        lines.append(
            f"- {name}: default {d['forms']} in {d['choose_seconds']} s; "
            f"--tune {t['forms']} in {t['choose_seconds']} s"
        )
    lines.append(END)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    parser.add_argument("--kinds", default="relu", help="linked kinds, comma-separated")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--image-size", type=int, default=8, help="8: the digits geometry")
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=30, help="timed rounds per table row")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", default="benchmarks/results/forms.json")
    parser.add_argument("--results-md", default="benchmarks/RESULTS.md")
    parser.add_argument("--no-results-md", action="store_true")
    parser.add_argument("--from-json", help="only rewrite RESULTS.md from this saved run")
    args = parser.parse_args(argv)
    if args.from_json:
        section = results_section(json.loads(Path(args.from_json).read_text()))
        replace_marked_section(Path(args.results_md), section, BEGIN, END, HEADING)
        return 0
    torch.set_num_threads(1)
    machine = this_machine()
    results: dict = {
        "settings": {
            "threads": args.threads,
            "runs": args.runs,
            "warmup": args.warmup,
            "image_size": args.image_size,
            "channels": args.channels,
            "batches": args.batches,
            "default_batch": DEFAULT_BATCH,
            "ort": ort.__version__,
            "cpu": machine.cpu,
            "isa": list(machine.isa),
            "machine": machine_description(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "load_average_start": [round(x, 1) for x in os.getloadavg()],
        },
        "rows": [],
        "choices": {},
    }
    table = Table(title=f"median ms, ORT CPU, {args.threads} threads ({machine.describe()})")
    columns = ["model", "batch", "plain export", "function form", *SINGLE_FORMS, "--tune"]
    for col in (*columns, "default", "vs function", "vs best form", "target"):
        table.add_column(col, justify="left" if col == "model" else "right")
    with tempfile.TemporaryDirectory(prefix="bench_forms.cache.") as cache:
        os.environ["XDG_CACHE_HOME"] = cache  # the default measures, as on a first run
        for kind in args.kinds.split(","):
            for family in args.families:
                name = f"{family}/lk-{kind}"
                models, notes = contenders(name, args.image_size, args.channels)
                results["choices"][name] = notes
                console.print(f"{name}: default {notes['default']}")
                for batch in args.batches:
                    ms = time_models(
                        models, batch, args.runs, threads=args.threads, warmup=args.warmup
                    )
                    best_form = min(SINGLE_FORMS, key=lambda f: ms[f])
                    vs_function = ms["function form"] / ms["default"]
                    vs_best = ms["default"] / ms[best_form]
                    met = vs_function >= MIN_VS_FUNCTION and vs_best <= MAX_VS_BEST_FORM
                    err = max_error(models["function form"], models["default"], batch)
                    results["rows"].append(
                        {
                            "model": name,
                            "batch": batch,
                            "median_ms": ms,
                            "best_single_form": best_form,
                            "default_vs_function": vs_function,
                            "default_vs_best_form": vs_best,
                            "default_vs_plain": ms["plain export"] / ms["default"],
                            "met": met,
                            "max_abs_error_default_vs_function": err,
                        }
                    )
                    table.add_row(
                        name,
                        str(batch),
                        *(f"{ms[c]:.3f}" for c in columns[2:]),
                        f"{ms['default']:.3f}",
                        f"{vs_function:.3f}x",
                        f"{vs_best:.3f} ({best_form})",
                        "met" if met else "missed",
                    )
    console.print(table)
    results["settings"]["load_average_end"] = [round(x, 1) for x in os.getloadavg()]
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, json.dumps(results, indent=2) + "\n")
    console.print(f"wrote {out}")
    if not args.no_results_md:
        section = results_section(results)
        replace_marked_section(Path(args.results_md), section, BEGIN, END, HEADING)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
