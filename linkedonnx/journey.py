"""The whole journey in one call: train a linked model briefly on the embedded data,
export it with functions, convert and optimize it, validate parity against the
checkpoint, and bench it against the plain export of the same checkpoint.

Public API: :class:`JourneyConfig`, :class:`JourneySummary`, :func:`run_journey`,
:data:`STAGES`. The output folder holds every artifact:

    train/                 the training run (config.json, metrics.jsonl, checkpoints)
    model.functions.onnx   linkedonnx.export: linked activations as model-local functions
    model.plain.onnx       plain torch.onnx.export of the same checkpoint (the baseline)
    model.converted.onnx   the plain export after ``convert`` (flat spellings recognized)
    model.optimized.onnx   optimize(target='cpu') of the function form
    model.int8.onnx        linked-aware INT8 (QDQ) of the function form, calibrated on train
    parity_inputs.npz      the test images parity is validated on (linkedonnx validate --inputs)
    summary.json           the summary below
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from linkedonnx.atomic import atomic_open, write_text_atomic
from linkedonnx.errors import BadInputError

#: The journey's stages, in order (what the progress callback is told).
STAGES = ("train", "export", "convert", "optimize", "validate", "bench", "quantize")

#: Files of a journey folder (``--overwrite`` removes only these and ``train/``).
FUNCTIONS_ONNX = "model.functions.onnx"
PLAIN_ONNX = "model.plain.onnx"
CONVERTED_ONNX = "model.converted.onnx"
OPTIMIZED_ONNX = "model.optimized.onnx"
INT8_ONNX = "model.int8.onnx"
SUMMARY_JSON = "summary.json"
PARITY_INPUTS = "parity_inputs.npz"
TRAIN_DIR = "train"
OWN_FILES = (
    FUNCTIONS_ONNX,
    PLAIN_ONNX,
    CONVERTED_ONNX,
    OPTIMIZED_ONNX,
    INT8_ONNX,
    PARITY_INPUTS,
    SUMMARY_JSON,
)

#: Parity tolerance (max absolute difference of logits, float32 end to end).
PARITY_ATOL = 1e-5  # atol = rtol = 1e-5: linkedonnx.validate's float32 default (Polygraphy's)


@dataclass
class JourneyConfig:
    """One journey: the zoo ``model`` trained on ``data`` for ``epochs`` (or ``max_steps``)
    into folder ``out``; bench at ``batches`` with ``runs`` timed runs each."""

    out: str | os.PathLike[str]
    model: str = "params/lk-relu"
    data: str = "digits"
    epochs: int = 2
    max_steps: int | None = None
    image_size: int | None = None
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0
    batches: Sequence[int] = (1, 32)
    warmup: int = 10
    runs: int = 200
    threads: int | None = None
    parity_samples: int = 64
    overwrite: bool = False

    def validate(self) -> None:
        """Raise BadInputError for settings that cannot run."""
        if self.epochs < 1:
            raise BadInputError(f"epochs must be at least 1, got {self.epochs}")
        if self.max_steps is not None and self.max_steps < 1:
            raise BadInputError(f"max steps must be at least 1, got {self.max_steps}")
        if not self.batches or any(b < 1 for b in self.batches):
            raise BadInputError(f"bench batches must be at least 1, got {list(self.batches)}")
        if self.runs < 1 or self.warmup < 0:
            raise BadInputError("runs must be at least 1 and warmup at least 0")
        if self.parity_samples < 1:
            raise BadInputError("parity samples must be at least 1")
        if self.threads is not None and self.threads < 1:
            raise BadInputError(f"threads must be at least 1, got {self.threads}")
        if "/lk-" not in self.model:
            raise BadInputError(f"the journey needs a linked model (NAME/lk-...), got {self.model}")


@dataclass
class BenchPoint:
    """Plain export vs optimized model at one batch size (ONNX Runtime, interleaved)."""

    batch: int
    plain_ms: float
    optimized_ms: float
    speedup: float


@dataclass
class Int8Row:
    """The INT8 model: test accuracy of float32 and INT8 (same ORT, same test split) and,
    per batch, its speed-up against the plain export and against our optimized float32."""

    float_accuracy: float
    int8_accuracy: float
    form: str | None
    vnni: bool
    speedup_vs_plain: dict[int, float] = field(default_factory=dict)
    speedup_vs_optimized: dict[int, float] = field(default_factory=dict)


@dataclass
class JourneySummary:
    """What the journey measured, and where its artifacts are."""

    model: str
    data: str
    image_size: int
    in_channels: int
    epochs: int
    steps: int
    test_accuracy: float
    linked_calls: dict[str, int]
    converted_calls: dict[str, int]
    parity_max_error_checkpoint: float
    parity_max_error_function: float
    parity_atol: float
    parity_passed: bool
    bench: list[BenchPoint]
    threads: int | None
    ort_version: str
    seconds: dict[str, float] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    int8: Int8Row | None = None

    def speedup(self, batch: int) -> float | None:
        """Optimized vs plain export speed-up at ``batch`` (None if not benched)."""
        return next((p.speedup for p in self.bench if p.batch == batch), None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


ProgressFn = Callable[[str, str], None]


def prepare_folder(out: Path, overwrite: bool) -> None:
    """Create ``out``, or empty an existing folder of the journey's own output.

    A folder holding nothing but the journey's files (a previous run's output, or
    nothing) is replaced, so running the demo again just works; a folder holding
    anything else is refused (BadInputError) unless ``overwrite``, which then removes
    only the journey's own files. A path that is a file is refused."""
    if out.exists() and not out.is_dir():
        raise BadInputError(f"output {out} exists and is not a folder")
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in (*OWN_FILES, TRAIN_DIR))
        if foreign and not overwrite:
            raise BadInputError(
                f"output folder {out} exists and holds files the demo did not write "
                f"({', '.join(foreign[:3])}); pass --overwrite to replace the demo's files in it"
            )
        for name in OWN_FILES:
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / TRAIN_DIR, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


def run_journey(config: JourneyConfig, progress: ProgressFn | None = None) -> JourneySummary:
    """Run every stage of :data:`STAGES` and write the artifacts and ``summary.json``.

    ``progress(stage, status)`` is told 'start' and 'done' (or a detail line) per stage.
    Returns the JourneySummary. Raises BadInputError for bad settings or an existing
    folder without ``overwrite``; a parity failure is reported in the summary
    (``parity_passed`` False), not raised.
    """
    import onnxruntime as ort

    from linkedonnx.checkpoint import load_model as load_checkpoint_model
    from linkedonnx.export import export_model, export_plain
    from linkedonnx.functions import count_linked_nodes
    from linkedonnx.onnx_io import save_model
    from linkedonnx.passes.convert import convert
    from linkedonnx.passes.optimize import optimize
    from linkedonnx.runtime.bench import bench_models
    from linkedonnx.train import TrainConfig, train
    from linkedonnx.validate import validate
    from linkedonnx.zoo import parse_name

    config.validate()
    parse_name(config.model)  # BadInputError for an unknown model, before any file is written
    tell = progress or (lambda stage, status: None)
    out = Path(config.out)
    prepare_folder(out, config.overwrite)
    seconds: dict[str, float] = {}
    clock = time.perf_counter

    tell("train", "start")
    start = clock()
    result = train(
        TrainConfig(
            model=config.model,
            data=config.data,
            epochs=config.epochs,
            batch_size=config.batch_size,
            lr=config.lr,
            seed=config.seed,
            device="cpu",
            out=out / TRAIN_DIR,
            image_size=config.image_size,
            max_steps=config.max_steps,
            progress=False,
        )
    )
    seconds["train"] = clock() - start
    accuracy = float(result.final.get("test_accuracy", 0.0))
    checkpoint = out / TRAIN_DIR / "checkpoint.safetensors"
    tell("train", f"test accuracy {accuracy:.3f} after {result.steps} steps")

    tell("export", "start")
    start = clock()
    model, ckpt = load_checkpoint_model(checkpoint)
    spec = ckpt.spec
    exported = export_model(
        model, spec, out / FUNCTIONS_ONNX, source=str(checkpoint), preprocess=ckpt.preprocess
    )
    save_model(export_plain(model, spec.input_shape(1)), out / PLAIN_ONNX)
    seconds["export"] = clock() - start
    tell("export", f"{sum(exported.calls.values())} linked function calls")

    tell("convert", "start")
    start = clock()
    converted, _ = convert(out / PLAIN_ONNX)
    save_model(converted, out / CONVERTED_ONNX)
    converted_calls = count_linked_nodes(converted)
    seconds["convert"] = clock() - start
    tell("convert", f"{sum(converted_calls.values())} linked activations recognized")

    tell("optimize", "start")
    start = clock()
    optimized, _ = optimize(exported.model, target="cpu")
    save_model(optimized, out / OPTIMIZED_ONNX)
    seconds["optimize"] = clock() - start
    tell("optimize", "done")

    tell("validate", "start")
    start = clock()
    inputs = out / PARITY_INPUTS
    with atomic_open(inputs, "wb") as handle:
        np.savez(handle, arr_0=parity_inputs(config, spec))
    vs_checkpoint = validate(out / OPTIMIZED_ONNX, str(checkpoint), inputs=inputs, atol=PARITY_ATOL)
    vs_functions = validate(
        out / OPTIMIZED_ONNX, str(out / FUNCTIONS_ONNX), inputs=inputs, atol=PARITY_ATOL
    )
    err_ckpt = max(o.max_abs for o in vs_checkpoint.outputs)
    err_fn = max(o.max_abs for o in vs_functions.outputs)
    passed = vs_checkpoint.passed and vs_functions.passed
    seconds["validate"] = clock() - start
    tell("validate", f"max error {max(err_ckpt, err_fn):.1e} ({'pass' if passed else 'FAIL'})")

    tell("bench", "start")
    start = clock()
    points = []
    for batch in config.batches:
        report = bench_models(
            [out / PLAIN_ONNX, out / OPTIMIZED_ONNX],
            batch=batch,
            threads=config.threads,
            warmup=config.warmup,
            runs=config.runs,
            seed=config.seed,
        )
        plain, opt = report.timings
        points.append(BenchPoint(batch, plain.median_ms, opt.median_ms, opt.speedup))
        tell("bench", f"batch {batch}: {opt.speedup:.2f}x")
    seconds["bench"] = clock() - start

    summary = JourneySummary(
        model=config.model,
        data=config.data,
        image_size=spec.image_size,
        in_channels=spec.in_channels,
        epochs=len(result.metrics),  # the epochs run (the last partial when steps ran out)
        steps=result.steps,
        test_accuracy=accuracy,
        linked_calls=dict(exported.calls),
        converted_calls=converted_calls,
        parity_max_error_checkpoint=err_ckpt,
        parity_max_error_function=err_fn,
        parity_atol=PARITY_ATOL,
        parity_passed=passed,
        bench=points,
        threads=config.threads,
        ort_version=ort.__version__,
        seconds={k: round(v, 2) for k, v in seconds.items()},
        artifacts={
            "checkpoint": str(checkpoint),
            "functions": str(out / FUNCTIONS_ONNX),
            "plain": str(out / PLAIN_ONNX),
            "converted": str(out / CONVERTED_ONNX),
            "optimized": str(out / OPTIMIZED_ONNX),
            "summary": str(out / SUMMARY_JSON),
        },
    )
    tell("bench", "done")
    summary.int8 = quantize_stage(config, out, tell, seconds)
    summary.seconds = {k: round(v, 2) for k, v in seconds.items()}
    summary.artifacts["int8"] = str(out / INT8_ONNX)
    write_text_atomic(out / SUMMARY_JSON, json.dumps(summary.to_dict(), indent=2) + "\n")
    return summary


def quantize_stage(
    config: JourneyConfig, out: Path, tell: ProgressFn, seconds: dict[str, float]
) -> Int8Row:
    """Quantize the function-form export to INT8 (calibrated on the train split), then
    measure float32 and INT8 test accuracy and bench INT8 against the plain export and
    the optimized float32 model."""
    from linkedonnx.quantize import quantize_file
    from linkedonnx.runtime.accuracy import validate_accuracy
    from linkedonnx.runtime.bench import bench_models

    tell("quantize", "start")
    start = time.perf_counter()
    # the function-form export records the training's preprocessing: no options needed
    _, report = quantize_file(out / FUNCTIONS_ONNX, out / INT8_ONNX, config.data)
    accuracy = validate_accuracy(out / INT8_ONNX, str(out / FUNCTIONS_ONNX), config.data)
    float_acc, int8_acc = accuracy.reference_accuracy, accuracy.model_accuracy
    row = Int8Row(float_acc, int8_acc, report.form, report.isa.vnni)
    for batch in config.batches:
        timings = bench_models(
            [out / PLAIN_ONNX, out / OPTIMIZED_ONNX, out / INT8_ONNX],
            batch=batch,
            threads=config.threads,
            warmup=config.warmup,
            runs=config.runs,
            seed=config.seed,
        ).timings
        row.speedup_vs_plain[batch] = timings[0].median_ms / timings[2].median_ms
        row.speedup_vs_optimized[batch] = timings[1].median_ms / timings[2].median_ms
    seconds["quantize"] = time.perf_counter() - start
    tell("quantize", f"accuracy {float_acc:.3f} -> {int8_acc:.3f} (INT8)")
    return row


def parity_inputs(config: JourneyConfig, spec: Any) -> np.ndarray:
    """The first ``parity_samples`` test images of the journey's data, prepared as the
    model sees them (float32 NCHW)."""
    from linkedonnx import data as data_mod

    data = data_mod.load(config.data, image_size=spec.image_size)
    images, _ = data.split(train=False)
    return data.prepare(images[: config.parity_samples]).numpy().astype(np.float32)
