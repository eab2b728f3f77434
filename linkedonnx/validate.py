"""Parity validation: the same seeded inputs through the model in ONNX Runtime and
through a reference, compared output by output (Polygraphy's split).

- loaders: the model file (:func:`linkedonnx.onnx_io.load_model`), the inputs
  (:mod:`linkedonnx.runtime.inputs`) and the reference;
- runners (:mod:`linkedonnx.runners`): the model on the ``--provider``'s runner; the
  reference (:class:`linkedonnx.runtime.reference.Reference`) on the ONNX reference
  evaluator (the default: an independent implementation), another .onnx file on ONNX
  Runtime's CPU runner, or a PyTorch model from a SOURCE (``zoo:NAME`` or a
  checkpoint): the torch side (:mod:`linkedonnx.reference_torch`, imported only then)
  hands arrays over, so this module never imports torch, the zoo or the exporter;
- comparators: :mod:`linkedonnx.runtime.compare` for the final outputs and
  :mod:`linkedonnx.runtime.layers` for the per-layer rows (``per_layer``).

Every input the model declares is driven: initializers that are graph inputs are fed
their own values, and one extra seeded round feeds perturbed values to fail a model
that ignores an input it declares.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from linkedonnx.errors import BadInputError, guarded
from linkedonnx.onnx_io import file_if_large, load_model
from linkedonnx.report_json import JsonReport
from linkedonnx.runners.providers import get_provider, load_runner, runner_label
from linkedonnx.runners.reference_runner import ReferenceEvaluatorRunner
from linkedonnx.runtime.compare import (
    OutputComparison,
    compare,
    compute_dtype,
    nothing_compared,
)
from linkedonnx.runtime.inputs import (
    InputSignature,
    batch_of,
    complete_feeds,
    load_inputs,
    perturbed_initializers,
    signature,
)
from linkedonnx.runtime.layers import LayerReport, compare_layers, onnx_trace
from linkedonnx.runtime.points import capture, find_points
from linkedonnx.runtime.reference import Reference
from linkedonnx.source_ref import parse_source

REFERENCE_EVALUATOR = ReferenceEvaluatorRunner.runtime

#: Runs the model on feeds: input name -> array, to its outputs.
RunFeeds = Callable[[dict[str, np.ndarray]], list[np.ndarray]]


@dataclass
class ValidationReport(JsonReport):
    """The outcome of one validation: what ran against what, on which inputs, and one
    OutputComparison per output. ``passed`` is True when every output passed."""

    model: str
    runner: str
    reference: str
    batch: int | None
    seed: int | None
    inputs: list[str]
    outputs: list[OutputComparison]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    perturbed: list[OutputComparison] = field(default_factory=list)
    ignored_inputs: list[str] = field(default_factory=list)
    layers: LayerReport | None = None

    @property
    def nothing_compared(self) -> bool:
        """True when no output had a finite element on both sides (or no output)."""
        return nothing_compared(self.outputs)

    @property
    def passed(self) -> bool:
        """True when every output is within tolerance, something was compared, the
        perturbed-initializer round agrees and no declared input is ignored. The
        per-layer rows inform; they do not decide."""
        return (
            bool(self.outputs)
            and all(o.passed for o in self.outputs)
            and all(o.passed for o in self.perturbed)
            and not self.ignored_inputs
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "model": self.model,
            "runner": self.runner,
            "reference": self.reference,
            "batch": self.batch,
            "seed": self.seed,
            "inputs": self.inputs,
            "passed": self.passed,
            "outputs": [o.to_dict() for o in self.outputs],
            "perturbed_initializers": [o.to_dict() for o in self.perturbed],
            "ignored_inputs": self.ignored_inputs,
            **({"layers": self.layers.to_dict()} if self.layers is not None else {}),
            "notes": self.notes,
            "seconds": round(self.seconds, 3),
        }

    def summary(self) -> str:
        """One line: PASS/FAIL, model vs reference, worst error."""
        verdict = "PASS" if self.passed else "FAIL"
        worst = max((o.max_abs for o in self.outputs), default=float("nan"))
        failed = [o.name for o in self.outputs if not o.passed]
        tail = f"; failed: {', '.join(failed)}" if failed else ""
        if self.nothing_compared:
            why = next((o.reason for o in self.outputs if o.reason), "the model has no output")
            tail += f"; nothing was compared ({why.removeprefix('nothing compared: ')})"
        if self.ignored_inputs:
            names = ", ".join(map(repr, self.ignored_inputs))
            tail += f"; the model ignores input(s) it declares: {names}"
        elif any(not o.passed for o in self.perturbed):
            tail += "; outputs differ from the reference's when initializer inputs are perturbed"
        if self.layers is not None and self.layers.first_drift is not None:
            tail += f"; first layer over tolerance: {self.layers.first_drift.label}"
        return (
            f"{verdict}: {self.model} ({self.runner}) vs {self.reference}: "
            f"{len(self.outputs)} output(s), max abs error {worst:.3g}{tail}"
        )


def _onnx_reference(path: str) -> Reference:
    """Another .onnx file, run by ONNX Runtime on the CPU."""
    other = load_model(path)
    runner = get_provider("cpu").load(file_if_large(other, path))
    return Reference(
        label=f"{path} ({runner.runtime} cpu)",
        runner=runner,
        inputs=signature(other),
        precision=compute_dtype(other),
        tracer=functools.partial(onnx_trace, other),
    )


def load_reference(
    reference: str | os.PathLike[str] | None,
    model: onnx.ModelProto,
    inputs: list[InputSignature],
    seed: int = 0,
) -> Reference:
    """Resolve ``reference``: None -> the ONNX reference evaluator on ``model`` itself;
    a path ending in .onnx -> that model in ONNX Runtime (CPU); ``zoo:NAME`` or a
    checkpoint path -> the PyTorch model (zoo weights from ``seed``), loaded by the
    torch side (:func:`linkedonnx.reference_torch.torch_reference`, imported only
    then). Raises BadInputError for an unknown or unreadable reference."""
    if reference is None:
        return Reference(
            label=f"{REFERENCE_EVALUATOR} (ONNX reference evaluator)",
            runner=ReferenceEvaluatorRunner(model),
            precision=compute_dtype(model),
            tracer=functools.partial(onnx_trace, model, load=ReferenceEvaluatorRunner),
        )
    text = os.fspath(reference)
    kind = parse_source(text).kind
    if kind == "onnx":
        return _onnx_reference(text)
    if kind == "zoo" or Path(text).is_file():
        from linkedonnx.reference_torch import torch_reference  # the torch side, on demand

        return torch_reference(text, model, inputs, seed)
    raise BadInputError(
        f"unknown reference {text!r}: expected zoo:NAME, a checkpoint file or an .onnx file"
    )


#: The dtype a runner ``precision`` computes in, for the default tolerances.
PRECISION_DTYPES: dict[str, tuple[str, ...]] = {"f32": (), "bf16": ("bfloat16",)}


def _pair_names(model_names: list[str], reference: Reference, count: int) -> list[str]:
    """Reference output order matched to the model's: by name when both sides name the
    same set, else by position."""
    if reference.output_names and sorted(reference.output_names) == sorted(model_names):
        return reference.output_names
    return model_names if count == len(model_names) else []


def validate(
    model_path: str | os.PathLike[str],
    reference: str | os.PathLike[str] | None = None,
    *,
    provider: str = "cpu",
    batch: int = 1,
    atol: float | None = None,
    rtol: float | None = None,
    seed: int = 0,
    inputs: str | os.PathLike[str] | None = None,
    optimization: str = "all",
    per_layer: bool = False,
    perturb: bool = True,
    precision: str = "f32",
    cache_dir: str | os.PathLike[str] | None = None,
) -> ValidationReport:
    """Validate the ONNX model at ``model_path`` against ``reference``.

    Inputs: every input the model declares. The .npz file ``inputs`` may hold any
    subset of them (checked against the signature); the rest are seeded data
    (``seed``) with dynamic dims set to ``batch`` (or to the size the file binds), and
    initializers that are graph inputs get their own values. The model runs in ONNX
    Runtime on ``provider`` ('cpu' or 'cuda') at graph ``optimization`` level, or in
    OpenVINO ('openvino') at ``precision`` ('f32', or 'bf16': refused elsewhere and
    on a CPU without bf16; ``cache_dir``: its compiled-model cache); the reference as
    described in :func:`load_reference`, on the same data cast to the float types it
    takes. ``atol``/``rtol`` default to the tolerance of the lowest precision involved
    (the outputs' dtypes, both models' compute precision and the runner's: float32
    1e-5, float16 1e-3, bfloat16 1e-2; see
    :data:`linkedonnx.runtime.compare.DEFAULT_TOLERANCES`). With ``perturb`` (the default) and initializers among
    the inputs, one more seeded round feeds them perturbed values: the outputs must
    change with each of them and, where the reference takes them too, still match.
    ``per_layer`` adds a :class:`~linkedonnx.runtime.layers.LayerReport` (each point
    of :mod:`linkedonnx.runtime.points` against the reference's; the verdict stays with
    the final outputs of the unmodified model). Returns a ValidationReport (check
    ``.passed``). Raises BadInputError for bad files, inputs, options or reference and
    MissingDependencyError when the provider is not installed.
    """
    start = time.perf_counter()
    if batch < 1:
        raise BadInputError(f"batch must be at least 1, got {batch}")
    for name, value in (("atol", atol), ("rtol", rtol)):
        if value is not None and not (np.isfinite(value) and value >= 0):
            raise BadInputError(f"{name} must be a non-negative number, got {value}")
    model = load_model(model_path)
    sig = signature(model)
    given = load_inputs(inputs, sig) if inputs is not None else {}
    feeds = complete_feeds(given, sig, batch, seed)
    real = [s for s in sig if not s.overridable]
    used_batch = batch_of(feeds, real)
    used_seed = seed if any(s.name not in given for s in real) else None
    ref = load_reference(reference, model, real, seed)
    runner = load_runner(
        provider, file_if_large(model, model_path), optimization, precision, cache_dir
    )
    if per_layer and runner.runtime != "onnxruntime":
        raise BadInputError(
            "--per-layer captures layers in ONNX Runtime: use --provider cpu or cuda"
        )
    model_names = runner.output_names
    compute = [compute_dtype(model), ref.precision, *PRECISION_DTYPES.get(precision, ())]

    def run_model(data: dict[str, np.ndarray]) -> list[np.ndarray]:
        return guarded(runner.title, lambda: runner.run(data))

    def outputs_against_reference(
        data: dict[str, np.ndarray], actual: list[np.ndarray]
    ) -> list[OutputComparison]:
        expected = guarded("the reference", lambda: ref.run(data))
        names = _pair_names(model_names, ref, len(expected))
        if not names:
            raise BadInputError(
                f"the model has {len(actual)} output(s) and the reference {len(expected)}; "
                "cannot pair them"
            )
        by_name = dict(zip(names, expected, strict=True))
        return [
            compare(name, got, by_name[name], atol, rtol, compute)
            for name, got in zip(model_names, actual, strict=True)
        ]

    actual = run_model(feeds)
    outputs = outputs_against_reference(feeds, actual)
    report = ValidationReport(
        model=os.fspath(model_path),
        runner=runner_label(runner),
        reference=ref.label,
        batch=used_batch,
        seed=used_seed,
        inputs=_describe_inputs(sig, feeds),
        outputs=outputs,
        notes=list(ref.notes),
    )
    overridable = [s.name for s in sig if s.overridable]
    if perturb and overridable:
        _perturbed_round(
            report, sig, feeds, actual, seed, ref, run_model, outputs_against_reference
        )
    if per_layer:
        report.layers = _per_layer(model, feeds, ref, provider, optimization, atol, rtol, compute)
        if report.layers.unmatched:
            report.notes.append(
                f"{len(report.layers.unmatched)} point(s) of the model have no counterpart "
                "in the reference: "
                + ", ".join(report.layers.unmatched[:8])
                + (" ..." if len(report.layers.unmatched) > 8 else "")
            )
    report.seconds = time.perf_counter() - start
    return report


def _describe_inputs(sig: list[InputSignature], feeds: dict[str, np.ndarray]) -> list[str]:
    """'name dtype[shape]' per real input, then a count of initializer inputs."""
    lines = [
        f"{s.name} {feeds[s.name].dtype}{list(feeds[s.name].shape)}"
        for s in sig
        if not s.overridable
    ]
    count = sum(s.overridable for s in sig)
    if count:
        lines.append(f"{count} initializer(s) that are graph inputs")
    return lines


def _perturbed_round(
    report: ValidationReport,
    sig: list[InputSignature],
    feeds: dict[str, np.ndarray],
    actual: list[np.ndarray],
    seed: int,
    ref: Reference,
    run_model: RunFeeds,
    against_reference: Callable[[dict[str, np.ndarray], list[np.ndarray]], list[OutputComparison]],
) -> None:
    """One seeded round with every float initializer input perturbed: each must change
    the model's outputs on its own (else it is named in ``ignored_inputs``), and where
    the reference takes them all, the outputs must still match it (``perturbed``)."""
    new = perturbed_initializers(sig, seed)
    if not new:
        return
    for name, value in new.items():
        changed = run_model({**feeds, name: value})
        if all(np.array_equal(a, b, equal_nan=True) for a, b in zip(actual, changed, strict=True)):
            report.ignored_inputs.append(name)
    if ref.takes is None or set(new) <= ref.takes:
        data = {**feeds, **new}
        report.perturbed = against_reference(data, run_model(data))
    else:
        report.notes.append(
            "the reference does not take the model's initializer inputs; the perturbed "
            "round checks only that the model's outputs follow them"
        )


def _per_layer(
    model: onnx.ModelProto,
    feeds: dict[str, np.ndarray],
    ref: Reference,
    provider: str,
    optimization: str,
    atol: float | None,
    rtol: float | None,
    precision: list[str | None],
) -> LayerReport:
    """Capture the model's points in a marked copy and compare them with the
    reference's trace (see :func:`linkedonnx.runtime.layers.compare_layers`)."""
    ref.require_tracer()  # before any work
    points = find_points(model)
    values = guarded("ONNX Runtime", lambda: capture(model, points, feeds, provider, optimization))
    trace = guarded("the reference", lambda: ref.trace(feeds))
    return compare_layers(model, values, trace, atol, rtol, precision)
