"""The linkedonnx journey, step by step, with the public API only.

Train a linked model (LK-ReLU) briefly on the embedded digits, export it with its
linked activations kept as ONNX functions, optimize it for the CPU, check it against
the checkpoint in PyTorch, and time it against a plain torch.onnx export.

    python examples/journey.py [OUT_DIR] [--tiny]

(``linkedonnx demo`` runs the same journey from the command line; ``--tiny`` or the
environment variable LINKEDONNX_EXAMPLE_TINY=1 makes it a few-second smoke run.)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from linkedonnx import data
from linkedonnx.checkpoint import load_model
from linkedonnx.export import export_model, export_plain
from linkedonnx.onnx_io import save_model
from linkedonnx.passes.optimize import optimize
from linkedonnx.runtime.bench import bench_models
from linkedonnx.runtime.session import make_session
from linkedonnx.train import TrainConfig, train


def main(out: Path, tiny: bool) -> float:
    """Run the journey into ``out``; return the max parity error."""
    # 1. Train a linked model on the embedded digits (1 channel, 16x16).
    result = train(
        TrainConfig(
            model="params/lk-relu",
            data="digits",
            epochs=1 if tiny else 2,
            max_steps=3 if tiny else None,
            image_size=8 if tiny else None,
            device="cpu",
            out=out / "train",
        )
    )
    print(f"trained {result.steps} steps, test accuracy {result.final['test_accuracy']:.3f}")

    # 2. Export from the checkpoint: each LK-ReLU becomes one linkedonnx::LinkedRelu call.
    model, ckpt = load_model(out / "train" / "checkpoint.safetensors")
    exported = export_model(model, ckpt.spec, out / "model.functions.onnx")
    print(f"exported with functions: {exported.calls}")
    save_model(export_plain(model, ckpt.spec.input_shape(1)), out / "model.plain.onnx")

    # 3. Optimize for ONNX Runtime on the CPU (lowering forms chosen per linked node).
    optimized, report = optimize(exported.model, target="cpu")
    save_model(optimized, out / "model.optimized.onnx")
    print(f"optimized: {report.totals()}")

    # 4. Parity: the optimized model in ONNX Runtime vs the checkpoint in PyTorch.
    digits = data.load("digits", image_size=ckpt.spec.image_size)
    images, _ = digits.split(train=False)
    x = digits.prepare(images[:64]).numpy().astype(np.float32)
    with torch.inference_mode():
        expected = model(torch.from_numpy(x)).numpy()
    session = make_session(out / "model.optimized.onnx")
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    error = float(np.abs(got - expected).max())
    print(f"max |optimized - checkpoint| = {error:.2e}")

    # 5. Speed: optimized vs the plain export, interleaved runs in ONNX Runtime.
    for batch in (1, 32):
        bench = bench_models(
            [out / "model.plain.onnx", out / "model.optimized.onnx"],
            batch=batch,
            warmup=1 if tiny else 10,
            runs=3 if tiny else 200,
        )
        plain, opt = bench.timings
        print(
            f"batch {batch}: plain {plain.median_ms:.3f} ms, optimized {opt.median_ms:.3f} ms "
            f"({opt.speedup:.2f}x)"
        )
    return error


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--tiny"]
    tiny = "--tiny" in sys.argv or os.environ.get("LINKEDONNX_EXAMPLE_TINY") == "1"
    folder = Path(args[0]) if args else Path(tempfile.mkdtemp(prefix="linkedonnx-journey-"))
    max_error = main(folder, tiny)
    print(f"artifacts in {folder}")
    sys.exit(0 if max_error <= 1e-4 else 1)
