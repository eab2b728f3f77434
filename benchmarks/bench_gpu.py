"""GPU benchmark: PyTorch eager, torch.compile and CUDA-graph inference, training steps,
and ONNX Runtime's CUDA EP (IO binding) where onnxruntime-gpu is installed.

Models: allcnn/lk-relu, resnet/lk-relu-nobn vs resnet/relu-bn (3x32x32), batch 1/32/128.
Timing uses CUDA events around each call (synchronized before reading), after warm-up.
A time budget keeps the run short: the cheap rows (eager, CUDA graph, training) come
first for every model and batch; torch.compile and ORT rows follow while the budget lasts,
and the ones left out are listed as skipped.

Usage (a bare GPU machine with torch and this repository):
    PYTHONPATH=. python benchmarks/bench_gpu.py            # full run, ~3-4 minutes
    PYTHONPATH=. python benchmarks/bench_gpu.py --quick    # smoke run
    python benchmarks/bench_gpu.py --device cpu --quick --no-compile   # dry run, no GPU
Exits 0 with "no CUDA device" when there is none (and --device is cuda).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from _timing import markdown_table, stats, time_cuda, time_host, write_json  # noqa: E402

from linkedonnx.errors import first_line  # noqa: E402

MODELS = ["allcnn/lk-relu", "resnet/lk-relu-nobn", "resnet/relu-bn"]
BATCHES = [1, 32, 128]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "gpu.json"


def build_model(name: str, image_size: int, device: torch.device) -> torch.nn.Module:
    """A freshly seeded zoo model ``name`` for 3-channel ``image_size`` images on ``device``."""
    from linkedonnx.zoo import ModelSpec, build

    torch.manual_seed(0)
    return build(ModelSpec(name, in_channels=3, image_size=image_size)).to(device)


class Clock:
    """Times a callable on ``device``: CUDA events on CUDA, perf_counter elsewhere."""

    def __init__(self, device: torch.device, warmup: int, runs: int) -> None:
        self.device, self.warmup, self.runs = device, warmup, runs

    def __call__(self, fn: Callable[[], Any]) -> list[float]:
        if self.device.type == "cuda":
            return time_cuda(fn, self.warmup, self.runs)
        return time_host(fn, self.warmup, self.runs)


def infer_eager(model: torch.nn.Module, x: torch.Tensor) -> Callable[[], Any]:
    """Eager inference (eval mode, inference_mode)."""
    model.eval()

    def run() -> Any:
        with torch.inference_mode():
            return model(x)

    return run


def infer_compiled(model: torch.nn.Module, x: torch.Tensor) -> Callable[[], Any]:
    """torch.compile inference (default mode, static shapes); compiles on the first call."""
    model.eval()
    compiled = torch.compile(model, dynamic=False)

    def run() -> Any:
        with torch.no_grad():
            return compiled(x)

    with torch.no_grad():
        run()  # compile now, outside the timed region
    return run


def infer_cuda_graph(model: torch.nn.Module, x: torch.Tensor) -> Callable[[], Any]:
    """Capture one eval forward into a CUDA graph (static input) and return its replay."""
    model.eval()
    static_x = x.clone()
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream), torch.no_grad():
        for _ in range(3):  # warm up on a side stream before capture, as the docs ask
            model(static_x)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.no_grad(), torch.cuda.graph(graph):
        static_y = model(static_x)

    def run() -> Any:
        graph.replay()
        return static_y

    return run


def train_step(model: torch.nn.Module, x: torch.Tensor) -> Callable[[], Any]:
    """One eager SGD training step (forward, cross-entropy, backward, update)."""
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    target = torch.randint(0, 10, (x.shape[0],), device=x.device)
    loss_fn = torch.nn.CrossEntropyLoss()

    def run() -> Any:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), target)
        loss.backward()
        opt.step()
        return loss

    return run


def _first_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (at most 200 characters)."""
    return f"{type(exc).__name__}: {first_line(exc, '')[:200]}"


def ort_cuda_status() -> str | None:
    """None when ONNX Runtime's CUDA EP is usable here, else why it is not."""
    try:
        import onnxruntime as ort
    except ImportError:
        return "onnxruntime is not installed"
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return "onnxruntime-gpu is not installed (this onnxruntime has no CUDA EP)"
    return None


def ort_cuda_rows(
    model: torch.nn.Module, x: torch.Tensor, warmup: int, runs: int, tmp: Path
) -> list[float]:
    """Export ``model`` plainly (dynamo), run it on ORT's CUDA EP with IO binding, time it."""
    from linkedonnx.runtime.bench import bench_sessions
    from linkedonnx.runtime.session import make_session

    model.eval()
    path = tmp / "model.onnx"
    torch.onnx.export(model.cpu(), (x.cpu(),), str(path), dynamo=True)
    model.to(x.device)
    session = make_session(path, "cuda")
    (timing,) = bench_sessions(
        [("ort-cuda", session)], batch=x.shape[0], warmup=warmup, runs=runs, device="cuda"
    )
    return timing.times_ms


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--batches", default=",".join(str(b) for b in BATCHES))
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--budget-s", type=float, default=170.0, help="wall budget for the run")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile rows")
    parser.add_argument("--quick", action="store_true", help="smoke run: few runs, batch 1/32")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: nothing to time (bench_gpu.py needs a GPU; --device cpu dry-runs)")
        return 0
    if args.quick:
        args.warmup, args.runs = 2, 5
        if args.batches == ",".join(str(b) for b in BATCHES):
            args.batches = "1,32"
    device = torch.device(args.device)
    models = [m for m in args.models.split(",") if m]
    batches = [int(b) for b in args.batches.split(",") if b]
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        gpu = torch.cuda.get_device_name(0)
    else:
        gpu = "none (CPU dry run)"
    clock = Clock(device, args.warmup, args.runs)
    start = time.perf_counter()
    results: list[dict[str, Any]] = []
    skipped: list[str] = []
    ort_missing = ort_cuda_status() if device.type == "cuda" else "CPU dry run"

    def record(model: str, batch: int, mode: str, times: list[float], **extra: Any) -> None:
        row = {"model": model, "batch": batch, "mode": mode, **stats(times, batch), **extra}
        results.append(row)
        print(f"  {model:22s} b={batch:<4d} {mode:18s} {row['median_ms']:9.3f} ms", flush=True)

    def x_for(batch: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(batch)
        return torch.randn(batch, 3, args.image_size, args.image_size, generator=gen).to(device)

    print(f"GPU: {gpu}; torch {torch.__version__}, CUDA {torch.version.cuda}", flush=True)
    # Pass 1: cheap rows for every model and batch.
    for name in models:
        for batch in batches:
            model, x = build_model(name, args.image_size, device), x_for(batch)
            record(name, batch, "eager", clock(infer_eager(model, x)))
            if device.type == "cuda":
                record(name, batch, "cuda-graph", clock(infer_cuda_graph(model, x)))
            record(name, batch, "train-step eager", clock(train_step(model, x)))
    # Pass 2: compile and ORT rows while the budget lasts.
    for name in models:
        for batch in batches:
            x = x_for(batch)
            if not args.no_compile:
                if time.perf_counter() - start > args.budget_s:
                    skipped.append(f"{name} b={batch} compile: time budget")
                else:
                    try:
                        model = build_model(name, args.image_size, device)
                        t0 = time.perf_counter()
                        run = infer_compiled(model, x)
                        compile_s = time.perf_counter() - t0
                        record(name, batch, "torch.compile", clock(run), compile_s=compile_s)
                    except Exception as exc:  # e.g. no triton / compiler on this machine
                        skipped.append(f"{name} b={batch} compile: {_first_line(exc)}")
            if ort_missing is None:
                if time.perf_counter() - start > args.budget_s:
                    skipped.append(f"{name} b={batch} ort-cuda: time budget")
                else:
                    try:
                        with tempfile.TemporaryDirectory() as tmp:
                            model = build_model(name, args.image_size, device)
                            times = ort_cuda_rows(model, x, args.warmup, args.runs, Path(tmp))
                        record(name, batch, "ort-cuda iobinding", times)
                    except Exception as exc:
                        skipped.append(f"{name} b={batch} ort-cuda: {_first_line(exc)}")

    eager = {(r["model"], r["batch"]): r["median_ms"] for r in results if r["mode"] == "eager"}
    rows = [
        [
            r["model"],
            r["batch"],
            r["mode"],
            f"{r['median_ms']:.3f}",
            f"{r['p90_ms']:.3f}",
            f"{r['throughput']:.0f}",
            f"{eager[(r['model'], r['batch'])] / r['median_ms']:.2f}x"
            if not r["mode"].startswith("train")
            else "",
        ]
        for r in results
    ]
    print()
    print(f"GPU: {gpu}; torch {torch.__version__}; CUDA {torch.version.cuda}; ")
    print(f"warm-up {args.warmup}, runs {args.runs}; ONNX Runtime CUDA EP: {ort_missing or 'yes'}")
    print(
        markdown_table(
            ["model", "batch", "mode", "median ms", "p90 ms", "items/s", "vs eager"], rows
        )
    )
    if skipped:
        print("skipped: " + "; ".join(skipped))
    train = {
        (r["model"], r["batch"]): r["median_ms"] for r in results if r["mode"] == "train-step eager"
    }
    for batch in batches:
        a, b = train.get(("resnet/lk-relu-nobn", batch)), train.get(("resnet/relu-bn", batch))
        if a and b:
            print(f"training step b={batch}: resnet/relu-bn / resnet/lk-relu-nobn = {b / a:.2f}x")
    write_json(
        args.out,
        {
            "gpu": gpu,
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "device": args.device,
            "warmup": args.warmup,
            "runs": args.runs,
            "image_size": args.image_size,
            "ort_cuda": ort_missing or "available",
            "skipped": skipped,
            "wall_s": round(time.perf_counter() - start, 1),
            "results": results,
        },
    )
    print(f"wrote {args.out} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
