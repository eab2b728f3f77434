"""Training-step speed: ResNet with LK-ReLU and no BN vs ReLU with BN (and LK-ReLU with BN).

The paper reports that dropping BN with linked units trains about 2x faster on GPU
(LK-ReLU with BN / without: 2.09; ReLU with BN is the usual baseline). One step is
forward + cross-entropy + backward + Adam step on a fixed random batch (train mode, so
BN computes batch statistics). Models are timed interleaved (one step of each in turn,
after warm-up), each step synchronized on CUDA; the table reports the median, p10 and
p90 per model and the ratio of each median to the first model's.

Usage (from the repository root):
    python benchmarks/bench_training.py                  # CPU here, CUDA when present
    python benchmarks/bench_training.py --device cpu --threads 2
    python benchmarks/bench_training.py --quick          # smoke run (seconds)
Writes benchmarks/results/training.json (or --json PATH).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from linkedonnx.atomic import write_text_atomic  # noqa: E402
from linkedonnx.train.distributed import resolve_device  # noqa: E402
from linkedonnx.train.init import initialize  # noqa: E402
from linkedonnx.zoo import ModelSpec, build  # noqa: E402

MODELS = ["resnet/lk-relu-nobn", "resnet/relu-bn", "resnet/lk-relu-bn"]
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "training.json"


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile ``q`` (0..100) of ``values``."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


class Contender:
    """One model with its optimizer and fixed batch; ``step()`` returns its time in ms."""

    def __init__(self, name: str, args: argparse.Namespace, device: torch.device) -> None:
        self.name = name
        self.device = device
        self.amp = args.amp
        spec = ModelSpec(name, in_channels=3, image_size=args.image_size, num_classes=10)
        torch.manual_seed(args.seed)
        self.model = initialize(build(spec), "keras").to(device).train()
        self.parameters = sum(p.numel() for p in self.model.parameters())
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        g = torch.Generator().manual_seed(args.seed)
        self.x = torch.rand((args.batch, 3, args.image_size, args.image_size), generator=g).to(
            device
        )
        self.y = torch.randint(0, 10, (args.batch,), generator=g).to(device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=args.amp and device.type == "cuda")
        self.times: list[float] = []

    def _step(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        dtype = torch.float16 if self.device.type == "cuda" else torch.bfloat16
        with torch.autocast(self.device.type, dtype=dtype, enabled=self.amp):
            loss = F.cross_entropy(self.model(self.x).float(), self.y)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()

    def step(self) -> float:
        """Run one training step; return its wall time in ms (CUDA synchronized)."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        start = time.perf_counter()
        self._step()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return (time.perf_counter() - start) * 1e3


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Time every model interleaved and return the report dict."""
    device = resolve_device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    contenders = [Contender(name, args, device) for name in args.models]
    for _ in range(args.warmup):
        for c in contenders:
            c.step()
    for i in range(args.steps):
        for c in contenders:
            c.times.append(c.step())
        print(f"step {i + 1}/{args.steps}", file=sys.stderr, flush=True)
    base = statistics.median(contenders[0].times)
    rows = []
    for c in contenders:
        median = statistics.median(c.times)
        rows.append(
            {
                "model": c.name,
                "parameters": c.parameters,
                "median_ms": median,
                "p10_ms": percentile(c.times, 10),
                "p90_ms": percentile(c.times, 90),
                "images_per_s": args.batch * 1e3 / median,
                "ratio_to_first": median / base,
                "times_ms": c.times,
            }
        )
    return {
        "benchmark": "training step (forward + backward + Adam step)",
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "image_size": args.image_size,
        "amp": args.amp,
        "warmup": args.warmup,
        "steps": args.steps,
        "interleaved": True,
        "quick": args.quick,
        "rows": rows,
    }


def render(report: dict[str, Any]) -> str:
    """The report as a Markdown table with a settings line."""
    head = (
        f"device {report['device']} ({report['device_name']}), torch {report['torch']}, "
        f"threads {report['threads']}, batch {report['batch']}, "
        f"{report['image_size']}x{report['image_size']}, amp {report['amp']}, "
        f"warm-up {report['warmup']}, {report['steps']} steps each, interleaved\n\n"
        "| model | parameters | median ms | p10 ms | p90 ms | images/s | time vs first |\n"
        "|---|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = [
        f"| `{r['model']}` | {r['parameters']:,} | {r['median_ms']:.1f} | {r['p10_ms']:.1f} "
        f"| {r['p90_ms']:.1f} | {r['images_per_s']:.1f} | {r['ratio_to_first']:.2f}x |"
        for r in report["rows"]
    ]
    return head + "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; ``--quick`` shrinks batch, image and step counts."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated zoo names")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--amp", action="store_true", help="fp16 on CUDA, bf16 on the CPU")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help="report path")
    p.add_argument("--quick", action="store_true", help="smoke run: batch 8, 16x16, 2 steps")
    args = p.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    if args.quick:
        args.batch, args.image_size, args.warmup, args.steps = 8, 16, 1, 2
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON report; return the exit code."""
    args = parse_args(argv)
    report = run(args)
    print(render(report))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.json, json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
