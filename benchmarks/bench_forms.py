"""Which lowering form optimize's default picks, against every single form, ``--tune``,
the function-form export and the plain export (issue 27), in one interleaved table.

For each zoo family (width, depth, params, allcnn, resnet) with LK-ReLU, and the
paper's other linked kinds (relu-minmax, selu, swish, prelu; ``--kinds``) on
``--other-families`` (default depth, params and resnet: the whole grid would not fit
in ~10 minutes on 2 cores): the model is exported with linked functions
(``linkedonnx.export``) and plainly (``torch.onnx.export``), optimized by the default
(searched at batch 6, checked as whole models at batches 1 and 32, with a fresh cache
folder so it measures), by ``--tune``, and with each form forced (``--form
split|dw|stacked|inline``; a form the kind cannot take is left out: '—'). Every
contender runs in ORT CPU at ORT_ENABLE_ALL, ``--threads`` intra-op threads, spinning
off, timed interleaved on one seeded input (optimize's own timing helper,
``tuning.time_models``) in ``--blocks`` blocks, each with every session loaded afresh
in a random order and each round in a random order, at least ``--min-seconds`` of
timed rounds per row: each figure is the median over blocks of the block's median
over rounds of the contender's time / the function form's in the same round, times
the function form's median ms (paired rounds: a contended machine's slow drifts
cancel). A second session of the function form (the A/A control) is timed with them:
its ratio to the function form, ideally 1, is the row's noise floor. Targets, per model
and batch: the default is at least 0.98x the function-form export and within 3% of the
best single form.

Prints the table, writes JSON (default ``benchmarks/results/forms.json``; ``--quick``:
in the temp folder) with the CPU model and ISA flags, and rewrites its section of
``benchmarks/RESULTS.md`` (not for ``--quick`` unless ``--results-md`` is given;
``--no-results-md``: not; ``--from-json PATH``: only that, from a saved run). Usage:
``python benchmarks/bench_forms.py [--runs 30] [--batches 1 32] [--families ...]
[--kinds relu,selu] [--other-families depth resnet] [--quick]``.
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
from _results_md import replace_marked_section, results_md_target
from rich.console import Console
from rich.table import Table

from linkedonnx.atomic import write_text_atomic
from linkedonnx.export import export_model, export_plain
from linkedonnx.kinds import KINDS
from linkedonnx.passes.form_cache import structure_hash, this_machine
from linkedonnx.passes.form_check import CHECK_BATCHES
from linkedonnx.passes.optimize import optimize
from linkedonnx.passes.site_search import DEFAULT_BATCH
from linkedonnx.passes.tuning import time_models
from linkedonnx.runtime.bench import machine_description
from linkedonnx.runtime.inputs import session_inputs
from linkedonnx.runtime.session import make_session
from linkedonnx.zoo import ModelSpec, build

FAMILIES = ("width", "depth", "params", "allcnn", "resnet")
#: The paper's linked kinds (registry names): LK-ReLU (mirror and min-max), LK-SELU,
#: LK-Swish, LK-PReLU; each takes at least two forms (stacked and inline).
PAPER_KINDS = ("relu", "relu-minmax", "selu", "swish", "prelu")
#: The families the kinds other than relu run on by default.
OTHER_FAMILIES = ("depth", "params", "resnet")
SINGLE_FORMS = ("split", "dw", "stacked", "inline")
#: --quick: a smoke run of the code paths (no claims).
QUICK = {"families": ["width"], "kinds": "relu,swish", "other_families": ["width"],
         "runs": 4, "warmup": 1, "blocks": 2, "min_seconds": 0.0}  # fmt: skip
#: The A/A control: a second session of the function form, timed with the contenders.
TWIN = "function form (A/A)"
#: The targets of issue 27: default vs the function-form export, and vs the best form.
MIN_VS_FUNCTION = 0.98
MAX_VS_BEST_FORM = 1.03
console = Console(width=None if sys.stdout.isatty() else 200)  # a log keeps every column


def zoo_name(family: str, kind: str) -> str:
    """The zoo model of ``family`` with linked ``kind`` (a registry name), e.g.
    'depth/lk-relu-minmax'. Raises SystemExit for a kind not in the registry."""
    if kind not in KINDS:
        raise SystemExit(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    k = KINDS[kind]
    return f"{family}/lk-{k.zoo_name}" + (f"-{k.zoo_policy}" if k.zoo_policy else "")


def lowered_forms(model: onnx.ModelProto) -> dict[str, int]:
    """The ``linkedonnx.lowered_forms`` record of an optimized model."""
    meta = {p.key: p.value for p in model.metadata_props}
    return json.loads(meta["linkedonnx.lowered_forms"])


def contenders(name: str, size: int, channels: int) -> tuple[dict[str, onnx.ModelProto], dict]:
    """name -> model of every contender for zoo model ``name`` (a forced form the kind
    cannot take on any site is left out), and notes on the default's and --tune's choice
    (seconds, forms, how, the whole-model check)."""
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
        forced = optimize(function_form, form=form)[0]
        if any(key.endswith(f":{form}") for key in lowered_forms(forced)):
            models[form] = forced
    notes["forms left out"] = [f for f in SINGLE_FORMS if f not in models]
    # the same graph as a single form: a gap between the two columns is timing noise
    default = structure_hash(models["default"])
    notes["default same as"] = [
        f for f in SINGLE_FORMS if f in models and structure_hash(models[f]) == default
    ]
    return models, notes


def max_error(a: onnx.ModelProto, b: onnx.ModelProto, batch: int) -> float:
    """Max |a - b| over the outputs on seeded inputs (ORT CPU)."""
    sa, sb = make_session(a, threads=1), make_session(b, threads=1)
    ya, yb = sa.run(None, session_inputs(sa, batch)), sb.run(None, session_inputs(sb, batch))
    return max(float(np.abs(x - y).max()) for x, y in zip(ya, yb, strict=True))


BEGIN, END = "<!-- bench_forms:begin -->", "<!-- bench_forms:end -->"
HEADING = "## optimize's measured default vs every form (issue 27)"


def _cell(ms: dict[str, float], column: str, timed_as: dict[str, str] | None = None) -> str:
    """A table cell: the contender's ms ("(≡ X)" when it is the same graph as contender
    X and shares X's timing), or '—' for a form left out."""
    if column not in ms:
        return "—"
    same = (timed_as or {}).get(column)
    return f"{ms[column]:.3f}" + (f" (≡ {same})" if same else "")


def _check_note(choice: dict) -> str:
    """The default's whole-model check, in words: the candidate kept and the ms per
    checked batch of each candidate timed at all of them."""
    whole = choice.get("whole_model")
    if not whole:
        return ""
    timed = [
        f"{name} {'/'.join(f'{v:.3f}' for v in row)}"
        for name, row in whole["ms"].items()
        if None not in row
    ]
    batches = "/".join(str(b) for b in whole["batches"])
    text = f"kept {whole['chosen']} (incumbent {whole['incumbent']}"
    if timed:
        text += f"; ms at batch {batches}: " + ", ".join(timed)
    if whole["dropped"]:
        text += f"; dropped {', '.join(whole['dropped'])}"
    if whole.get("slower_than_reference"):
        text += f"; slower than inline: {', '.join(whole['slower_than_reference'])}"
    return text + ")"


def _protocol(st: dict) -> str:
    """The timing protocol of a run's settings, in words (older runs: one block)."""
    blocks = st.get("blocks", 1)
    text = f"{st['runs']} interleaved rounds"
    if blocks > 1:
        text += (
            f" in {blocks} blocks (each: every session loaded afresh in a random order, "
            f"{st['warmup']} warm-up rounds, each round in a random order)"
        )
    else:
        text += f" after {st['warmup']} warm-up"
    if st.get("min_seconds"):
        text += f", raised to span at least {st['min_seconds']} s per row"
    how = "the median over blocks of the block's median" if blocks > 1 else "the median"
    return f"{text}, ms = {how} per-round ratio to the function form times its median"


def _aa(row: dict) -> str:
    """The A/A control's ratio to the function form, or '—' (a run without one)."""
    aa = row.get("aa_ratio")
    return "—" if aa is None else f"{aa:.3f}"


def results_section(results: dict) -> str:
    """The RESULTS.md section of a run (between the bench_forms markers)."""
    st = results["settings"]
    rows = results["rows"]
    met = sum(r["met"] for r in rows)
    search = st.get("default_search_batch", st.get("default_batch"))
    checked = "/".join(str(b) for b in st.get("default_check_batches", []))
    command = st.get("command", "--runs " + str(st["runs"]))
    lines = [
        BEGIN,
        f"`python benchmarks/bench_forms.py {command}` "
        f"({st['date']}) → `results/forms.json`. CPU: {st['cpu']}, ISA flags "
        f"{' '.join(st['isa'])}; {st['machine']}; onnxruntime {st['ort']}; {st['threads']} "
        f"intra-op threads, spinning off, {_protocol(st)}; zoo models at {st['image_size']}×{st['image_size']}×"
        f"{st['channels']} (the digits geometry). The default searched per-site forms "
        f"at batch {search}"
        + (f" and checked them as whole models at batches {checked}" if checked else "")
        + " with an empty cache; --tune likewise, without time box. "
        f"Load average (1, 5, 15 min) {st.get('load_average_start')} at the start and "
        f"{st.get('load_average_end')} at the end. '—': a form the kind cannot take; "
        "'(≡ X)': the same graph as contender X (structure hash), timed once with it; "
        "A/A: a second session of the function form timed with the contenders, its "
        "ratio to the function form (ideally 1: the row's noise floor). "
        f"Targets met in {met} of {len(rows)} rows.",
        "",
        "| model | batch | plain export | function form | split | dw | stacked | inline "
        "| --tune | default | default vs function | default vs best form | target | A/A |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for row in rows:
        ms = row["median_ms"]
        same = row.get("timed_as", {})
        cells = [_cell(ms, c, same) for c in ("plain export", "function form", *SINGLE_FORMS)]
        lines.append(
            f"| {row['model']} | {row['batch']} | "
            + " | ".join(cells)
            + f" | {_cell(ms, '--tune', same)} | {_cell(ms, 'default', same)} | "
            f"{row['default_vs_function']:.3f}× | "
            f"{row['default_vs_best_form']:.3f} ({row['best_single_form']}) | "
            f"{'met' if row['met'] else 'missed'} | {_aa(row)} |"
        )
    lines += [
        "",
        "Choices (default / --tune: forms, seconds spent choosing; the default's "
        "whole-model check):",
        "",
    ]
    for name, notes in results["choices"].items():
        d, t = notes["default"], notes["--tune"]
        lines.append(
            f"- {name}: default {d['forms']} in {d['choose_seconds']} s; "
            f"--tune {t['forms']} in {t['choose_seconds']} s"
            + (f"; check: {_check_note(d['choice'])}" if _check_note(d["choice"]) else "")
            + (
                f"; the default is the same graph as --form {notes['default same as'][0]}"
                if notes.get("default same as")
                else ""
            )
        )
    lines.append(END)
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line (``--quick`` fills in its settings)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), help="for relu")
    parser.add_argument(
        "--kinds",
        default=",".join(PAPER_KINDS),
        help=f"linked kinds, comma-separated (registry names; default {','.join(PAPER_KINDS)})",
    )
    parser.add_argument(
        "--other-families",
        nargs="+",
        default=list(OTHER_FAMILIES),
        help="families for the kinds other than relu",
    )
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--image-size", type=int, default=8, help="8: the digits geometry")
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=30, help="timed rounds per table row")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up rounds per block")
    parser.add_argument(
        "--blocks",
        type=int,
        default=4,
        help="blocks of rounds, each with every session loaded afresh (default 4)",
    )
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=1.0,
        help="raise a row's rounds until they span this many seconds (tiny models)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: width only, relu and swish, 4 rounds in 2 blocks; JSON in the temp folder",
    )
    parser.add_argument("--json", help="default benchmarks/results/forms.json")
    parser.add_argument("--results-md", type=Path, help="default benchmarks/RESULTS.md")
    parser.add_argument("--no-results-md", action="store_true")
    parser.add_argument("--from-json", help="only rewrite RESULTS.md from this saved run")
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    if args.json is None:
        quick = Path(tempfile.gettempdir()) / "bench_forms.quick.json"
        args.json = str(quick) if args.quick else "benchmarks/results/forms.json"
    args.results_md = results_md_target(
        args.results_md,
        quick=args.quick,
        off=args.no_results_md,
        default=Path("benchmarks/RESULTS.md"),
    )
    return args


def models_to_run(args: argparse.Namespace) -> list[str]:
    """The zoo models of the run: relu on ``families``, the other kinds on
    ``other_families``."""
    kinds = [k for k in args.kinds.split(",") if k]
    return [
        zoo_name(family, kind)
        for kind in kinds
        for family in (args.families if kind == "relu" else args.other_families)
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or only rewrite RESULTS.md); return the exit status."""
    args = parse_args(argv)
    if args.from_json:
        if args.results_md is None:
            raise SystemExit("--from-json rewrites RESULTS.md; drop --no-results-md")
        section = results_section(json.loads(Path(args.from_json).read_text()))
        replace_marked_section(args.results_md, section, BEGIN, END, HEADING)
        return 0
    names = models_to_run(args)
    torch.set_num_threads(1)
    machine = this_machine()
    results: dict = {
        "settings": {
            "command": " ".join(sys.argv[1:] if argv is None else argv),
            "quick": args.quick,
            "models": names,
            "threads": args.threads,
            "runs": args.runs,
            "warmup": args.warmup,
            "blocks": args.blocks,
            "min_seconds": args.min_seconds,
            "image_size": args.image_size,
            "channels": args.channels,
            "batches": args.batches,
            "default_search_batch": DEFAULT_BATCH,
            "default_check_batches": list(CHECK_BATCHES),
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
    started = time.perf_counter()
    table = Table(title=f"median ms, ORT CPU, {args.threads} threads ({machine.describe()})")
    columns = ["model", "batch", "plain export", "function form", *SINGLE_FORMS, "--tune"]
    for col in (*columns, "default", "vs function", "vs best form", "target", "A/A"):
        table.add_column(col, justify="left" if col == "model" else "right")
    old_cache = os.environ.get("XDG_CACHE_HOME")
    with tempfile.TemporaryDirectory(prefix="bench_forms.cache.") as cache:
        os.environ["XDG_CACHE_HOME"] = cache  # the default measures, as on a first run
        try:
            for name in names:
                models, notes = contenders(name, args.image_size, args.channels)
                results["choices"][name] = notes
                console.print(f"{name}: default {notes['default']['forms']}; "
                              f"{_check_note(notes['default']['choice'])}")  # fmt: skip
                for batch in args.batches:
                    row = table_row(name, models, batch, args)
                    results["rows"].append(row)
                    ms = row["median_ms"]
                    table.add_row(
                        name,
                        str(batch),
                        *(_cell(ms, c, row["timed_as"]) for c in columns[2:]),
                        _cell(ms, "default", row["timed_as"]),
                        f"{row['default_vs_function']:.3f}x",
                        f"{row['default_vs_best_form']:.3f} ({row['best_single_form']})",
                        "met" if row["met"] else "missed",
                        _aa(row),
                    )
        finally:
            if old_cache is None:
                os.environ.pop("XDG_CACHE_HOME", None)
            else:
                os.environ["XDG_CACHE_HOME"] = old_cache
    console.print(table)
    met = sum(r["met"] for r in results["rows"])
    console.print(f"targets met in {met} of {len(results['rows'])} rows")
    results["settings"]["load_average_end"] = [round(x, 1) for x in os.getloadavg()]
    results["settings"]["seconds"] = round(time.perf_counter() - started, 1)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, json.dumps(results, indent=2) + "\n")
    console.print(f"wrote {out} ({results['settings']['seconds']} s)")
    if args.results_md is not None:
        replace_marked_section(args.results_md, results_section(results), BEGIN, END, HEADING)
    return 0


def same_graphs(models: dict[str, onnx.ModelProto]) -> dict[str, str]:
    """Each name of ``models`` -> the first name (in order) whose model has the same
    :func:`structure_hash` (itself when none before it has)."""
    first: dict[str, str] = {}
    out = {}
    for name, model in models.items():
        out[name] = first.setdefault(structure_hash(model), name)
    return out


def table_row(
    name: str, models: dict[str, onnx.ModelProto], batch: int, args: argparse.Namespace
) -> dict:
    """One interleaved timing of ``models`` at ``batch`` and the targets' verdict. Models
    with the same graph (:func:`structure_hash`: only weights may differ) are timed once,
    as the first of them, and share that figure: timing one graph twice measures noise,
    not a difference (measured: the default and the single form it equals came out up
    to 4.7% apart at batch 1, more than the 3% the target judges). A second session of
    the function form (:data:`TWIN`) is timed with them as the row's A/A control."""
    timed_as = same_graphs(models)
    distinct = {name: m for name, m in models.items() if timed_as[name] == name}
    distinct[TWIN] = models["function form"]
    timed = time_models(
        distinct,
        batch,
        args.runs,
        threads=args.threads,
        warmup=args.warmup,
        blocks=args.blocks,
        min_seconds=args.min_seconds,
        seed=batch,
    )
    ms = {name: timed[timed_as[name]] for name in models}
    forms = [f for f in SINGLE_FORMS if f in ms]
    best_form = min(forms, key=lambda f: ms[f])
    vs_function = ms["function form"] / ms["default"]
    vs_best = ms["default"] / ms[best_form]
    return {
        "model": name,
        "batch": batch,
        "median_ms": ms,
        "best_single_form": best_form,
        "default_vs_function": vs_function,
        "default_vs_best_form": vs_best,
        "default_vs_plain": ms["plain export"] / ms["default"],
        "met": vs_function >= MIN_VS_FUNCTION and vs_best <= MAX_VS_BEST_FORM,
        "aa_ratio": timed[TWIN] / timed["function form"],
        "timed_as": {name: first for name, first in timed_as.items() if name != first},
        "max_abs_error_default_vs_function": max_error(
            models["function form"], models["default"], batch
        ),
    }


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
