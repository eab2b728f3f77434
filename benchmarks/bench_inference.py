"""CPU inference benchmark: our optimized export against the alternatives, in one run.

Contenders, on the same weights and the same seeded inputs:
  eager          PyTorch eager (inference_mode) of the linked model
  compile        torch.compile (inductor, static shapes) of the linked model
  ort-plain      plain torch.onnx.export(dynamo=True) of the linked model, in ONNX Runtime
  ort-linkedonnx linkedonnx.export (functions) -> optimize(target='cpu'), in ONNX Runtime
  ext-eager      the equal-parameter plain extended model (ext-relu), PyTorch eager
  ext-ort        the extended model exported plainly, in ONNX Runtime

Each contender lives in its OWN worker process with its own thread settings (torch
set_num_threads; ORT intra-op threads with thread-pool spinning on, the best setting for
a session alone in its process, ``--no-ort-spinning`` to turn it off); the driver
alternates them (round r: A B C D E F for each batch), each taking an equal slice of wall
time per round, and reports medians over all rounds, p90, throughput, the speed-up of
ours over each (ratio of the medians, and its range over the rounds) and the arithmetic
rate each reaches (the model's conv/dense FLOPs per second), so a ratio can be read
against what the machine can do at all. Outputs are
compared across contenders (max |diff| to eager) so speed is never bought with wrong
answers. Writes JSON (default benchmarks/results/inference.json), prints a Markdown
table and rewrites its section of benchmarks/RESULTS.md (between the
``<!-- bench_inference:begin -->`` / ``end`` markers; not for --quick unless
``--results-md`` is given).

Usage:
    python benchmarks/bench_inference.py                 # full run (est. 8-12 min on 2 quiet cores)
    python benchmarks/bench_inference.py --quick         # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
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

from _results_md import replace_marked_section, results_md_target  # noqa: E402
from _timing import machine, markdown_table, stats, write_json  # noqa: E402

CONTENDERS = ["eager", "compile", "ort-plain", "ort-linkedonnx", "ext-eager", "ext-ort"]
TORCH_CONTENDERS = {"eager", "compile", "ext-eager"}
OURS = "ort-linkedonnx"
MODELS = ["allcnn/lk-relu", "resnet/lk-relu"]
BATCHES = [1, 32]
TARGETS = {"eager": 1.3, "compile": 1.15}
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "inference.json"
DEFAULT_RESULTS_MD = ROOT / "benchmarks" / "RESULTS.md"
MD_BEGIN = "<!-- bench_inference:begin -->"
MD_END = "<!-- bench_inference:end -->"


def extended_name(name: str) -> str:
    """The equal-parameter plain model of a linked zoo name: 'allcnn/lk-relu' -> 'allcnn/ext-relu'."""
    family, rest = name.split("/", 1)
    if not rest.startswith("lk-"):
        raise ValueError(f"{name} is not a linked model name")
    rest = rest[3:].replace("-minmax", "")
    return f"{family}/ext-{rest}"


def input_array(shape: tuple[int, ...], seed: int = 0):
    """The seeded float32 input of ``shape`` that every contender uses."""
    import numpy as np

    return np.random.default_rng([seed, *shape]).standard_normal(shape).astype(np.float32)


# ----------------------------------------------------------------------------- artifacts


def prepare_artifacts(name: str, image_size: int, work: Path, contenders: list[str]) -> dict:
    """Build the seeded linked and extended models, save their checkpoints and the ONNX
    files the ORT contenders need into ``work``; return a description (paths, seconds)."""
    import torch

    from linkedonnx.checkpoint import save_checkpoint
    from linkedonnx.export import export_model, export_plain
    from linkedonnx.onnx_io import save_model
    from linkedonnx.zoo import ModelSpec, build
    from linkedonnx.zoo.stats import count_flops

    info: dict[str, Any] = {"model": name, "extended": extended_name(name)}
    for key, model_name in (("linked", name), ("extended", extended_name(name))):
        spec = ModelSpec(model_name, in_channels=3, image_size=image_size)
        torch.manual_seed(0)
        model = build(spec).eval()
        info[f"{key}_params"] = sum(p.numel() for p in model.parameters())
        info[f"{key}_flops_per_item"] = count_flops(model, spec.input_shape(1))
        save_checkpoint(work / f"{key}.safetensors", spec, model.state_dict())
        plain_needed = ("ort-plain" in contenders) if key == "linked" else ("ext-ort" in contenders)
        if plain_needed:
            start = time.perf_counter()
            save_model(export_plain(model, spec.input_shape(1)), work / f"{key}-plain.onnx")
            info[f"{key}_plain_export_s"] = round(time.perf_counter() - start, 1)
        if key == "linked" and OURS in contenders:
            start = time.perf_counter()
            exported = export_model(model, spec).model
            save_model(optimize_for_cpu(exported), work / "linked-ours.onnx")
            info["ours_export_optimize_s"] = round(time.perf_counter() - start, 1)
    return info


def optimize_for_cpu(model):
    """Our CPU pipeline: linkedonnx.passes.optimize.optimize(model, target='cpu') as a ModelProto."""
    import onnx
    import onnx_ir as ir

    from linkedonnx.passes.optimize import optimize

    result = optimize(model, target="cpu")
    out = result[0] if isinstance(result, tuple) else getattr(result, "model", result)
    if isinstance(out, ir.Model):
        out = ir.serde.serialize_model(out)
    if not isinstance(out, onnx.ModelProto):
        raise TypeError(f"optimize returned {type(out).__name__}")
    return out


# ----------------------------------------------------------------------------- worker


def make_runner(
    contender: str, work: Path, batch: int, image_size: int, threads: int, spinning: bool = True
):
    """Return (run, output) for one contender at ``batch``: ``run()`` does one inference,
    ``output`` is the result on the shared input as a nested list. ORT sessions get
    ``threads`` intra-op threads and thread-pool ``spinning``."""
    shape = (batch, 3, image_size, image_size)
    x = input_array(shape)
    if contender in TORCH_CONTENDERS:
        import torch

        from linkedonnx.checkpoint import load_model

        key = "extended" if contender.startswith("ext") else "linked"
        model, _ = load_model(work / f"{key}.safetensors")
        model.eval()
        xt = torch.from_numpy(x)
        fn = torch.compile(model, dynamic=False) if contender == "compile" else model

        def run() -> Any:
            with torch.inference_mode():
                return fn(xt)

        out = run()  # (compiles here for torch.compile)
        return run, out.numpy().tolist()
    from linkedonnx.runtime.session import make_session

    file = {"ort-plain": "linked-plain", OURS: "linked-ours", "ext-ort": "extended-plain"}
    session = make_session(
        work / f"{file[contender]}.onnx", "cpu", threads=threads, spinning=spinning
    )
    name = session.get_inputs()[0].name
    feeds = {name: x}

    def run_ort() -> Any:
        return session.run(None, feeds)[0]

    return run_ort, run_ort().tolist()


def worker(args: argparse.Namespace) -> int:
    """Serve one contender: prepare every batch, report ready, then answer
    'run BATCH SECONDS MIN_RUNS' with the timed durations (ms) until 'quit'."""
    if args.contender in TORCH_CONTENDERS:
        import torch

        torch.set_num_threads(args.threads)
        torch.set_num_interop_threads(1)
    work = Path(args.work)
    runners = {}
    outputs = {}
    start = time.perf_counter()
    for batch in args.batches:
        run, out = make_runner(
            args.contender, work, batch, args.image_size, args.threads, args.ort_spinning
        )
        for _ in range(args.warmup):
            run()
        runners[batch], outputs[batch] = run, out
    _send({"ready": True, "prepare_s": time.perf_counter() - start, "outputs": outputs})
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            break
        batch, seconds, min_runs = int(parts[1]), float(parts[2]), int(parts[3])
        run = runners[batch]
        times = []
        clock = time.perf_counter
        begin = clock()
        while len(times) < min_runs or clock() - begin < seconds:
            t0 = clock()
            run()
            times.append((clock() - t0) * 1e3)
        _send({"times_ms": times})
    return 0


def _send(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


# ----------------------------------------------------------------------------- driver


class Worker:
    """A contender's process, driven line by line over pipes."""

    def __init__(self, contender: str, work: Path, args: argparse.Namespace) -> None:
        self.contender = contender
        self.log = open(work / f"{contender}.log", "w")  # noqa: SIM115
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE)]))
        env["OMP_NUM_THREADS"] = str(args.threads)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--worker",
                contender,
                "--work",
                str(work),
                "--batches",
                ",".join(str(b) for b in args.batches),
                "--image-size",
                str(args.image_size),
                "--threads",
                str(args.threads),
                "--warmup",
                str(args.warmup),
                "--ort-spinning" if args.ort_spinning else "--no-ort-spinning",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=env,
        )

    def receive(self) -> dict:
        """Read one JSON reply; raise RuntimeError (with the log's tail) if the worker died."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.log.flush()
            tail = Path(self.log.name).read_text().strip().splitlines()[-5:]
            raise RuntimeError(f"worker {self.contender} died: " + " | ".join(tail))
        return json.loads(line)

    def ask(self, command: str) -> dict:
        """Send one command line and return the reply."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.receive()

    def close(self) -> None:
        """Ask the worker to quit and wait for it."""
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
        self.log.close()


def max_abs_diff(a: list, b: list) -> float:
    """Largest |a - b| between two nested lists of equal shape."""
    import numpy as np

    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def bench_model(name: str, args: argparse.Namespace, work: Path) -> dict:
    """Prepare artifacts and workers for one model; alternate rounds; return its results
    (with each row's GFLOP/s)."""
    print(f"\n## {name}: preparing artifacts", flush=True)
    info = prepare_artifacts(name, args.image_size, work, args.contenders)
    workers: list[Worker] = []
    prepare: dict[str, float] = {}
    outputs: dict[str, dict] = {}
    try:
        for contender in args.contenders:  # one at a time, so preparations do not overlap
            w = Worker(contender, work, args)
            workers.append(w)
            ready = w.receive()
            prepare[contender] = round(ready["prepare_s"], 1)
            outputs[contender] = {int(k): v for k, v in ready["outputs"].items()}
            print(f"  {contender:15s} ready in {ready['prepare_s']:.1f} s", flush=True)
        times: dict[tuple[str, int], list[float]] = {}
        round_medians: dict[tuple[str, int], list[float]] = {}
        for r in range(args.rounds):
            for batch in args.batches:
                for w in workers:
                    reply = w.ask(f"run {batch} {args.seconds} {args.min_runs}")
                    times.setdefault((w.contender, batch), []).extend(reply["times_ms"])
                    round_medians.setdefault((w.contender, batch), []).append(
                        statistics.median(reply["times_ms"])
                    )
            print(f"  round {r + 1}/{args.rounds} done", flush=True)
    finally:
        for w in workers:
            w.close()
    rows = []
    for batch in args.batches:
        ref = {c: outputs[c][batch] for c in args.contenders}
        base = {c: ("ext-eager" if c.startswith("ext") else "eager") for c in args.contenders}
        for contender in args.contenders:
            row = {"model": name, "batch": batch, "contender": contender}
            row.update(stats(times[(contender, batch)], batch))
            key = "extended" if contender.startswith("ext") else "linked"
            row["gflops_per_s"] = info[f"{key}_flops_per_item"] * batch / row["median_ms"] / 1e6
            if base[contender] in ref:
                row["max_abs_diff_vs_eager"] = max_abs_diff(ref[contender], ref[base[contender]])
            rows.append(row)
        if OURS in args.contenders:
            ours = next(r for r in rows if r["batch"] == batch and r["contender"] == OURS)
            ours_rounds = round_medians[(OURS, batch)]
            for row in rows:
                if row["batch"] == batch:
                    row["ours_speedup"] = row["median_ms"] / ours["median_ms"]
                    per_round = [
                        c / o
                        for c, o in zip(
                            round_medians[(row["contender"], batch)], ours_rounds, strict=True
                        )
                    ]
                    row["ours_speedup_per_round"] = [round(x, 4) for x in per_round]
    return {"model": name, "info": info, "prepare_s": prepare, "rows": rows}


def versions() -> dict[str, str]:
    """Versions of the libraries being compared."""
    import onnx
    import onnxruntime
    import torch

    return {
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "onnx": onnx.__version__,
    }


def report(results: list[dict], args: argparse.Namespace) -> tuple[str, list[dict]]:
    """The Markdown table of every row, and the target checks (ours vs eager / compile)."""
    header = [
        "model",
        "batch",
        "contender",
        "median ms",
        "p90 ms",
        "items/s",
        "GFLOP/s",
        "ours faster by",
        "over the rounds",
        "max |diff|",
    ]
    rows, checks = [], []
    for res in results:
        for r in res["rows"]:
            per_round = r.get("ours_speedup_per_round") or []
            rows.append(
                [
                    r["model"],
                    r["batch"],
                    r["contender"],
                    f"{r['median_ms']:.3f}",
                    f"{r['p90_ms']:.3f}",
                    f"{r['throughput']:.1f}",
                    f"{r['gflops_per_s']:.1f}",
                    f"{r['ours_speedup']:.2f}x" if "ours_speedup" in r else "",
                    f"{min(per_round):.2f}-{max(per_round):.2f}x" if per_round else "",
                    f"{r['max_abs_diff_vs_eager']:.1e}" if "max_abs_diff_vs_eager" in r else "",
                ]
            )
            target = TARGETS.get(r["contender"])
            if target is not None and "ours_speedup" in r:
                checks.append(
                    {
                        "model": r["model"],
                        "batch": r["batch"],
                        "versus": r["contender"],
                        "speedup": round(r["ours_speedup"], 3),
                        "target": target,
                        "met": r["ours_speedup"] >= target,
                    }
                )
    return markdown_table(header, rows), checks


def results_section(data: dict, command: str) -> str:
    """The Markdown that stands between the markers in RESULTS.md: the command, machine,
    versions, settings, the ms table with ratios and the target checks of ``data``."""
    labels = {
        "eager": "eager",
        "compile": "compile",
        "ort-plain": "ORT plain export",
        OURS: "**ours**",
        "ext-eager": "ext eager",
        "ext-ort": "ext ORT",
    }
    m, v = data["machine"], data["versions"]
    lines = [
        MD_BEGIN,
        f"Written by `{command}` on {data['date']} ({data['wall_s']:.0f} s): "
        f"{m['processor']}, {m['logical_cpus']} logical CPUs; torch {v['torch']}, "
        f"onnxruntime {v['onnxruntime']}, onnx {v['onnx']}. Each contender in its own "
        f"process with {data['threads']} threads (torch set_num_threads; ORT intra-op "
        f"threads, spinning {'on' if data['ort_spinning'] else 'off'}), "
        f"{data['rounds']} alternating rounds of {data['seconds_per_slice']} s each; "
        f"image {data['image_size']}×{data['image_size']}; medians in ms.",
        "",
    ]
    contenders = [
        c
        for c in CONTENDERS
        if any(r["contender"] == c for res in data["results"] for r in res["rows"])
    ]
    header = ["model", "batch", *(labels[c] for c in contenders)]
    header += [f"ours vs {c} (≥{t}×)" for c, t in TARGETS.items() if c in contenders]
    header += ["ours GFLOP/s"] if OURS in contenders else []
    table = []
    for res in data["results"]:
        for batch in data["batches"]:
            by = {r["contender"]: r for r in res["rows"] if r["batch"] == batch}
            row = [res["model"], batch]
            row += [f"{by[c]['median_ms']:.3f}" for c in contenders]
            for c, t in TARGETS.items():
                if c in contenders and "ours_speedup" in by[c]:
                    ratio, per_round = by[c]["ours_speedup"], by[c]["ours_speedup_per_round"]
                    row.append(
                        f"{ratio:.2f}× {'met' if ratio >= t else 'missed'} "
                        f"(rounds {min(per_round):.2f}-{max(per_round):.2f})"
                    )
            if OURS in by:
                row.append(f"{by[OURS]['gflops_per_s']:.0f}")
            table.append(row)
    lines.append(markdown_table(header, table))
    lines += ["", MD_END]
    return "\n".join(lines)


def update_results_md(path: Path, section: str) -> None:
    """Replace the text between the bench_inference markers of ``path`` with ``section``
    (atomically: temp file, then rename). Raises ValueError if the markers are missing."""
    replace_marked_section(path, section, MD_BEGIN, MD_END)


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options of the driver and the worker."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--batches", default=",".join(str(b) for b in BATCHES))
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument(
        "--seconds", type=float, default=1.0, help="time slice per contender per round"
    )
    parser.add_argument("--min-runs", type=int, default=3)
    parser.add_argument(
        "--ort-spinning",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="ORT thread-pool spinning (each session is alone in its process)",
    )
    parser.add_argument(
        "--results-md",
        type=Path,
        default=None,
        help=f"Markdown file whose marked section to rewrite (default {DEFAULT_RESULTS_MD.name}; none for --quick)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 short rounds")
    parser.add_argument(
        "--no-results-md", action="store_true", help="leave RESULTS.md alone (JSON only)"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.batches = [int(b) for b in str(args.batches).split(",") if b]
    args.models = [m for m in args.models.split(",") if m]
    args.contenders = [c for c in args.contenders.split(",") if c]
    unknown = set(args.contenders) - set(CONTENDERS)
    if unknown:
        parser.error(f"unknown contenders {sorted(unknown)}; choose from {CONTENDERS}")
    if args.quick:
        args.rounds, args.seconds, args.min_runs, args.warmup = 2, 0.2, 2, 2
    args.results_md = results_md_target(
        args.results_md, quick=args.quick, off=args.no_results_md, default=DEFAULT_RESULTS_MD
    )
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with --worker, serve one contender); return the exit status."""
    args = parse(argv)
    if args.worker:
        args.contender = args.worker
        return worker(args)
    start = time.perf_counter()
    print(
        f"threads {args.threads}, batches {args.batches}, rounds {args.rounds} x "
        f"{args.seconds} s per contender, warm-up {args.warmup}; {versions()}",
        flush=True,
    )
    results = []
    for name in args.models:
        with tempfile.TemporaryDirectory(prefix="bench-inference-") as tmp:
            results.append(bench_model(name, args, Path(tmp)))
    table, checks = report(results, args)
    print()
    print(table)
    print()
    for c in checks:
        status = "met" if c["met"] else "MISSED"
        print(
            f"target {c['model']} b={c['batch']}: ours {c['speedup']:.2f}x vs {c['versus']} "
            f"(target {c['target']}x) {status}"
        )
    data = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "platform": platform.platform(),
        "versions": versions(),
        "threads": args.threads,
        "batches": args.batches,
        "image_size": args.image_size,
        "rounds": args.rounds,
        "seconds_per_slice": args.seconds,
        "warmup": args.warmup,
        "ort_spinning": args.ort_spinning,
        "quick": args.quick,
        "wall_s": round(time.perf_counter() - start, 1),
        "results": results,
        "targets": checks,
        "table": table,
    }
    write_json(args.out, data)
    print(f"\nwrote {args.out} in {time.perf_counter() - start:.0f} s")
    if args.results_md is not None:
        command = "python benchmarks/bench_inference.py" + "".join(
            f" {a}" for a in (sys.argv[1:] if argv is None else argv)
        )
        update_results_md(args.results_md, results_section(data, command))
        print(f"updated {args.results_md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
