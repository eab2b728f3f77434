"""Serving benchmark: `linkedonnx serve` (Ray Serve, Open Inference Protocol) under a
bounded loopback load, against a bare in-process ONNX Runtime loop (the ceiling).

Models: AllCNN-C with LK-ReLU (zoo:allcnn/lk-relu, 1x16x16 digits-sized input, seeded
weights: speed only) optimized for the CPU (float32), and its INT8 model
(linkedonnx quantize, digits calibration); or the files given with --f32 / --int8.

One local Ray (its CPUs: all cores) serves one configuration at a time through Ray
Serve's HAProxy ingress (as `serve` does), one replica with --threads ORT threads:
float32 with dynamic batching (--max-batch-size), float32 unbatched (max batch 1), INT8
batched. The load generator runs in this process on the same cores (it competes with the
server: the figures include that): at each concurrency (1, 8, 32) one
tritonclient.http.aio client keeps that many requests in flight (one coroutine each),
one image per request as binary tensors, until --requests are answered or --time-limit
seconds pass. Figures: images/s (answered requests over the wall time) and p50/p99
latency. The bare loop runs ORT with the same threads at batch 1, 8, 16, 32 and 64 and
reports its best images/s. Writes JSON (default benchmarks/results/serve.json), prints a
Markdown table with the CPU model and ISA flags, and rewrites its section of
benchmarks/RESULTS.md (between ``<!-- bench_serve:begin -->`` / ``end``; not for
--quick).

Usage:
    python benchmarks/bench_serve.py                # build the models, serve, load (minutes)
    python benchmarks/bench_serve.py --quick        # smoke run, no claims
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
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
from _timing import stats  # noqa: E402

DEFAULT_OUT = HERE / "results" / "serve.json"
RESULTS_MD = HERE / "RESULTS.md"
BEGIN, END = "<!-- bench_serve:begin -->", "<!-- bench_serve:end -->"
HEADING = "## Serving (bench_serve, issue 24)"
CONCURRENCY = (1, 8, 32)
BARE_BATCHES = (1, 8, 16, 32, 64)


def cpu_description() -> dict[str, Any]:
    """CPU model, logical CPUs and the SIMD flags that matter, from /proc/cpuinfo."""
    model, flags = platform.processor() or "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("unknown", "", "x86_64"):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = ("sse4_1", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8")
    return {"model": model, "cpus": os.cpu_count(), "isa": [f for f in wanted if f in flags]}


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "linkedonnx_cli", *args], check=True, capture_output=True)


def build_models(work: Path, quick: bool) -> dict[str, Path]:
    """The optimized float32 AllCNN-C and its INT8 model, written under ``work``."""
    exported, f32, int8 = work / "allcnn.onnx", work / "allcnn-f32.onnx", work / "allcnn-int8.onnx"
    _cli("export", "zoo:allcnn/lk-relu", "-o", str(exported), "--in-channels", "1",
         "--image-size", "16")  # fmt: skip
    _cli("optimize", str(exported), "-o", str(f32))
    _cli("quantize", str(exported), "-o", str(int8), "--data", "digits", "--no-standardize",
         "--samples", "32" if quick else "256")  # fmt: skip
    return {"f32": f32, "int8": int8}


def bare_loop(model: Path, threads: int, seconds: float) -> dict[str, Any]:
    """Images/s of ORT alone at each batch size (``seconds`` of runs each); the best."""
    import numpy as np

    from linkedonnx.runtime.session import make_session

    session = make_session(model, "cpu", threads=threads)
    name = session.get_inputs()[0].name
    shape = [d if isinstance(d, int) else 1 for d in session.get_inputs()[0].shape]
    per_batch = {}
    for batch in BARE_BATCHES:
        x = np.random.default_rng(0).standard_normal((batch, *shape[1:])).astype(np.float32)
        session.run(None, {name: x})
        times, stop = [], time.perf_counter() + seconds
        while time.perf_counter() < stop or len(times) < 3:
            start = time.perf_counter()
            session.run(None, {name: x})
            times.append((time.perf_counter() - start) * 1e3)
        per_batch[batch] = round(batch * 1e3 / stats(times, batch)["median_ms"], 1)
    best = max(per_batch, key=per_batch.__getitem__)
    return {"images_per_s": per_batch[best], "batch": best, "per_batch": per_batch}


def load(
    url: str, name: str, input_name: str, image, concurrency: int, requests: int, limit_s: float
) -> dict:
    """Keep ``concurrency`` one-image binary requests in flight until ``requests`` are
    answered or ``limit_s`` passes; images/s, p50/p99 latency (ms, submit to answer),
    answered and failed counts. The client is tritonclient's asyncio one
    (tritonclient.http.aio: ``concurrency`` coroutines over a pool of keep-alive
    connections). Its gevent client (tritonclient.http's async_infer) cannot be the
    load generator: at concurrency 8 it tops out near 90 requests/s even against a
    replica that answers without work (measured: it waits, the CPUs do not bind it)."""
    return asyncio.run(_load(url, name, input_name, image, concurrency, requests, limit_s))


async def _load(
    url: str, name: str, input_name: str, image, concurrency: int, requests: int, limit_s: float
) -> dict:
    import tritonclient.http as httpclient
    import tritonclient.http.aio as aioclient

    client = aioclient.InferenceServerClient(url=url, conn_limit=concurrency, conn_timeout=60)
    tensor = httpclient.InferInput(input_name, list(image.shape), "FP32")
    tensor.set_data_from_numpy(image, binary_data=True)
    latencies: list[float] = []
    errors: list[str] = []
    issued = 0
    start = time.perf_counter()
    deadline = start + limit_s

    async def slot() -> None:
        nonlocal issued
        while issued < requests and time.perf_counter() < deadline:
            issued += 1
            sent = time.perf_counter()
            try:
                await client.infer(name, [tensor])
            except Exception as exc:
                errors.append(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                continue
            latencies.append((time.perf_counter() - sent) * 1e3)

    try:
        await asyncio.gather(*(slot() for _ in range(concurrency)))
    finally:
        await client.close()
    wall = time.perf_counter() - start
    s = stats(latencies, 1) if latencies else {"median_ms": float("nan"), "p99_ms": float("nan")}
    return {
        "concurrency": concurrency,
        "answered": len(latencies),
        "failed": len(errors),
        "seconds": round(wall, 2),
        "images_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(s["median_ms"], 2),
        "p99_ms": round(s["p99_ms"], 2),
        "first_error": errors[0] if errors else None,
    }


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Build (or take) the models, time the bare loop, serve each configuration, load it."""
    import numpy as np
    from ray import serve

    from linkedonnx.deploy.serve import (
        ServeOptions,
        connect,
        deploy,
        free_port,
        stop_ray,
        wait_reachable,
    )
    from linkedonnx.onnx_io import load_model

    models = {"f32": args.f32, "int8": args.int8}
    if args.f32 is None or args.int8 is None:
        built = build_models(work, args.quick)
        models = {k: v or built[k] for k, v in models.items()}
    data: dict[str, Any] = {"cpu": cpu_description(), "threads": args.threads,
                            "max_batch_size": args.max_batch_size, "requests": args.requests,
                            "time_limit_s": args.time_limit, "models": {k: str(v) for k, v in models.items()},
                            "bare": {}, "served": []}  # fmt: skip
    for key, path in models.items():
        data["bare"][key] = bare_loop(path, args.threads, 0.3 if args.quick else 2.0)
    port = free_port("127.0.0.1")
    url = f"127.0.0.1:{port}"
    configs = [("f32", args.max_batch_size), ("f32", 1), ("int8", args.max_batch_size)]
    image = np.random.default_rng(0).standard_normal((1, 1, 16, 16)).astype(np.float32)
    connect(host="127.0.0.1", port=port, log_dir=work / "ray", cpus=os.cpu_count())
    try:
        for key, batch in configs:
            name = f"allcnn-{key}-b{batch}"
            options = ServeOptions(name, threads=args.threads, max_batch_size=batch,
                                   batch_wait_ms=args.batch_wait_ms, timeout_s=60)  # fmt: skip
            model = load_model(models[key])
            deploy(model, options)
            wait_reachable("127.0.0.1", port, name)
            input_name = model.graph.input[0].name
            for concurrency in CONCURRENCY:
                result = load(
                    url, name, input_name, image, concurrency, args.requests, args.time_limit
                )
                result.update(model=key, max_batch_size=batch)
                data["served"].append(result)
                print(json.dumps(result), flush=True)
            serve.delete(name)
    finally:
        stop_ray("", local=True)
    return data


def table(data: dict[str, Any]) -> str:
    """The Markdown table: one row per served configuration and concurrency."""
    rows = ["| model | server max batch | concurrency | images/s | p50 ms | p99 ms | failed | share of bare loop |",
            "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in data["served"]:
        bare = data["bare"][r["model"]]["images_per_s"]
        rows.append(
            f"| {r['model']} | {r['max_batch_size']} | {r['concurrency']} | {r['images_per_s']} "
            f"| {r['p50_ms']} | {r['p99_ms']} | {r['failed']} | {r['images_per_s'] / bare:.0%} |"
        )
    for key, bare in data["bare"].items():
        rows.append(
            f"| {key} bare ORT loop (batch {bare['batch']}) | - | - | {bare['images_per_s']} | - | - | - | 100% |"
        )
    return "\n".join(rows)


def targets(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets at concurrency 32: float32 batched at >= 40% of its bare loop
    (stretch 60%), and at >= 1.5x the unbatched server. The second carries its
    ceiling: the bare loop's images/s at the server's max batch over batch 1 (what
    batching alone can give, with no per-request cost at all)."""
    at32 = {(r["model"], r["max_batch_size"]): r for r in data["served"] if r["concurrency"] == 32}
    batched, single = at32.get(("f32", data["max_batch_size"])), at32.get(("f32", 1))
    if batched is None or single is None:
        return []
    share = batched["images_per_s"] / data["bare"]["f32"]["images_per_s"]
    gain = batched["images_per_s"] / max(single["images_per_s"], 1e-9)
    per_batch = {int(k): v for k, v in data["bare"]["f32"].get("per_batch", {}).items()}
    ceiling = None
    if per_batch.get(1) and data["max_batch_size"] in per_batch:
        ceiling = round(per_batch[data["max_batch_size"]] / per_batch[1], 2)
    return [
        {"what": "f32 batched vs bare loop, c=32", "value": round(share, 3), "target": 0.4, "stretch": 0.6,
         "met": share >= 0.4},
        {"what": "f32 batched vs unbatched server, c=32", "value": round(gain, 2), "target": 1.5,
         "met": gain >= 1.5, "ceiling": ceiling},
    ]  # fmt: skip


def results_section(data: dict[str, Any], command: str) -> str:
    """The RESULTS.md section between the markers."""
    cpu = data["cpu"]
    lines = [
        BEGIN,
        f"Written by `{command}` on {time.strftime('%Y-%m-%d')} ({data['seconds']:.0f} s): "
        f"**{cpu['model']}**, {cpu['cpus']} logical CPUs, ISA flags `{' '.join(cpu['isa'])}`. "
        f"One local Ray (all CPUs), Ray Serve's HAProxy ingress, one replica with "
        f"{data['threads']} ORT threads, "
        f"`--batch-wait-ms {data['batch_wait_ms']:g}`; the load generator (tritonclient.http.aio, "
        f"binary tensors, one image per request, {data['requests']} requests or "
        f"{data['time_limit_s']:g} s per row) runs on the same CPUs. Models: zoo:allcnn/lk-relu "
        "(1×16×16, seeded weights) optimized for the CPU, and its INT8 model.",
        "",
        table(data),
        "",
    ]
    for t in data["targets"]:
        ceiling = (
            f"; the bare loop's own batch {data['max_batch_size']} / batch 1 ratio is "
            f"{t['ceiling']}"
            if "ceiling" in t
            else ""
        )
        lines.append(f"- target {t['what']}: {t['value']} (target {t['target']}) "
                     f"{'met' if t['met'] else 'NOT met'}{ceiling}")  # fmt: skip
    if data.get("note"):
        lines += ["", data["note"]]
    lines += ["", END]
    return "\n".join(lines)


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--f32", type=Path, help="an optimized float32 model (skip building)")
    parser.add_argument("--int8", type=Path, help="its INT8 model (skip building)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--max-batch-size", type=int, default=16)
    parser.add_argument("--batch-wait-ms", type=float, default=2.0)
    parser.add_argument("--requests", type=int, default=400, help="requests per row")
    parser.add_argument("--time-limit", type=float, default=20.0, help="seconds per row at most")
    parser.add_argument("--note", default="", help="a closing note for RESULTS.md")
    parser.add_argument("--quick", action="store_true", help="smoke run: few requests, no claims")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--results-md", type=Path, default=None)
    parser.add_argument("--no-results-md", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.time_limit = 20, 5.0
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; write JSON, print the table, rewrite RESULTS.md's section."""
    args = parse(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lo-bs-") as folder:
        data = run(args, Path(folder))
    data.update(seconds=time.perf_counter() - started, batch_wait_ms=args.batch_wait_ms,
                note=args.note, quick=args.quick)  # fmt: skip
    data["targets"] = targets(data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2) + "\n")
    command = "python benchmarks/bench_serve.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    section = results_section(data, command.strip())
    print(section)
    target = results_md_target(args.results_md, quick=args.quick, off=args.no_results_md,
                               default=RESULTS_MD)  # fmt: skip
    if target is not None:
        replace_marked_section(target, section, BEGIN, END, heading=HEADING)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
