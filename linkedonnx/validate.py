"""Parity validation: the same seeded inputs through the model in ONNX Runtime and
through a reference, compared output by output (Polygraphy's split).

- loaders: the model file (:func:`linkedonnx.onnx_io.load_model`), the inputs
  (:mod:`linkedonnx.runtime.inputs`) and the reference;
- runners: ONNX Runtime (:func:`linkedonnx.runtime.session.make_session`), the ONNX
  reference evaluator (:mod:`linkedonnx.runtime.reference`, the default: an
  independent implementation), another .onnx file in ONNX Runtime on the CPU, or a
  PyTorch model from a SOURCE (``zoo:NAME`` or a checkpoint: torch is imported only
  then, through :mod:`linkedonnx.sources` and :mod:`linkedonnx.export.runner`);
- comparators: :mod:`linkedonnx.runtime.compare`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from linkedonnx.errors import BadInputError, LinkedOnnxError
from linkedonnx.onnx_io import load_model
from linkedonnx.runtime.compare import OutputComparison, compare
from linkedonnx.runtime.inputs import (
    InputSignature,
    batch_of,
    load_inputs,
    seeded_inputs,
    signature,
)
from linkedonnx.runtime.reference import run_reference
from linkedonnx.runtime.session import make_session

REFERENCE_EVALUATOR = "onnx.reference"

Runner = Callable[[dict[str, np.ndarray]], list[np.ndarray]]


@dataclass
class ValidationReport:
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

    @property
    def passed(self) -> bool:
        """True when every output is within tolerance (and there is at least one)."""
        return bool(self.outputs) and all(o.passed for o in self.outputs)

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
            "notes": self.notes,
            "seconds": round(self.seconds, 3),
        }

    def to_json(self) -> str:
        """The report as indented JSON, with ``schema_version``."""
        from linkedonnx.report_json import report_text

        return report_text(self.to_dict())

    def summary(self) -> str:
        """One line: PASS/FAIL, model vs reference, worst error."""
        verdict = "PASS" if self.passed else "FAIL"
        worst = max((o.max_abs for o in self.outputs), default=float("nan"))
        failed = [o.name for o in self.outputs if not o.passed]
        tail = f"; failed: {', '.join(failed)}" if failed else ""
        return (
            f"{verdict}: {self.model} ({self.runner}) vs {self.reference}: "
            f"{len(self.outputs)} output(s), max abs error {worst:.3g}{tail}"
        )


@dataclass
class Reference:
    """A loaded reference: a label for the report and a runner over the feeds."""

    label: str
    run: Runner
    output_names: list[str] | None = None
    notes: list[str] = field(default_factory=list)


def _is_onnx_path(reference: str) -> bool:
    return reference.lower().endswith(".onnx")


def _onnx_reference(path: str) -> Reference:
    """Another .onnx file, run by ONNX Runtime on the CPU."""
    other = load_model(path)
    session = make_session(other, "cpu")
    names = [o.name for o in session.get_outputs()]
    return Reference(
        label=f"{path} (onnxruntime cpu)",
        run=lambda feeds: list(session.run(None, feeds)),
        output_names=names,
    )


def _torch_reference(
    reference: str, seed: int, inputs: list[InputSignature], model: onnx.ModelProto
) -> Reference:
    """A zoo model or checkpoint run by PyTorch (imports torch)."""
    from linkedonnx.export.runner import run_torch
    from linkedonnx.sources import is_zoo, load_source
    from linkedonnx.zoo.spec import ModelSpec

    geometry: dict[str, int] = {}
    recorded_spec = _metadata(model).get("linkedonnx.spec")
    if is_zoo(reference) and recorded_spec:
        try:
            spec = ModelSpec.from_json(recorded_spec)
        except BadInputError:
            spec = None
        if spec is not None and f"zoo:{spec.name}" == reference:
            # the model was exported from this zoo name with its own input geometry
            geometry = {
                "in_channels": spec.in_channels,
                "image_size": spec.image_size,
                "num_classes": spec.num_classes,
            }
    source = load_source(reference, seed=seed, **geometry)
    expected = source.spec.input_shape(1)[1:]
    if len(inputs) != 1:
        raise BadInputError(
            f"the model has {len(inputs)} inputs; a {reference} reference takes one image batch"
        )
    dims = inputs[0].dims
    if len(dims) != len(expected) + 1 or any(
        isinstance(d, int) and d != e for d, e in zip(dims[1:], expected, strict=False)
    ):
        raise BadInputError(
            f"model input {inputs[0].describe()} does not fit reference {source.label} "
            f"(expects [batch,{','.join(map(str, expected))}])"
        )
    notes = []
    recorded = _metadata(model).get("linkedonnx.source", "")
    if is_zoo(reference) and recorded.startswith(reference + " ") and recorded != source.label:
        notes.append(f"the model was exported from {recorded}; the reference is {source.label}")
    torch_model = source.model
    names = [sig.name for sig in inputs]
    return Reference(
        label=f"{source.label} (pytorch cpu)",
        run=lambda feeds: run_torch(torch_model, [feeds[n] for n in names]),
        notes=notes,
    )


def _metadata(model: onnx.ModelProto) -> dict[str, str]:
    return {p.key: p.value for p in model.metadata_props}


def load_reference(
    reference: str | os.PathLike[str] | None,
    model: onnx.ModelProto,
    inputs: list[InputSignature],
    seed: int = 0,
) -> Reference:
    """Resolve ``reference``: None -> the ONNX reference evaluator on ``model`` itself;
    a path ending in .onnx -> that model in ONNX Runtime (CPU); ``zoo:NAME`` or a
    checkpoint path -> the PyTorch model (zoo weights from ``seed``). Raises
    BadInputError for an unknown or unreadable reference."""
    if reference is None:
        return Reference(
            label=f"{REFERENCE_EVALUATOR} (ONNX reference evaluator)",
            run=lambda feeds: run_reference(model, feeds),
        )
    text = os.fspath(reference)
    if _is_onnx_path(text):
        return _onnx_reference(text)
    if text.startswith("zoo:") or Path(text).is_file():
        return _torch_reference(text, seed, inputs, model)
    raise BadInputError(
        f"unknown reference {text!r}: expected zoo:NAME, a checkpoint file or an .onnx file"
    )


def _guarded(what: str, run: Callable[[], list[np.ndarray]]) -> list[np.ndarray]:
    """Run ``run``; turn a runtime failure into a one-line LinkedOnnxError."""
    try:
        return run()
    except LinkedOnnxError:
        raise
    except Exception as exc:
        text = str(exc).strip().splitlines()
        raise LinkedOnnxError(
            f"{what} failed to run the model: {type(exc).__name__}: {text[0] if text else ''}"
        ) from None


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
) -> ValidationReport:
    """Validate the ONNX model at ``model_path`` against ``reference``.

    Inputs: the .npz file ``inputs`` (checked against the model's input signature) or
    seeded data (``seed``) with dynamic dims set to ``batch``. The model runs in ONNX
    Runtime on ``provider`` ('cpu' or 'cuda') at graph ``optimization`` level; the
    reference as described in :func:`load_reference`. ``atol``/``rtol`` default by
    dtype (float32 1e-5, float16 1e-3). Returns a ValidationReport (check
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
    if inputs is not None:
        feeds = load_inputs(inputs, sig)
        used_batch, used_seed = batch_of(feeds, sig), None
    else:
        feeds = seeded_inputs(sig, batch, seed)
        used_batch, used_seed = batch_of(feeds, sig), seed
    ref = load_reference(reference, model, sig, seed)
    session = make_session(model, provider, optimization=optimization)
    model_names = [o.name for o in session.get_outputs()]
    actual = _guarded("ONNX Runtime", lambda: list(session.run(None, feeds)))
    expected = _guarded("the reference", lambda: ref.run(feeds))
    names = _pair_names(model_names, ref, len(expected))
    if not names:
        raise BadInputError(
            f"the model has {len(actual)} output(s) and the reference {len(expected)}; "
            "cannot pair them"
        )
    by_name = dict(zip(names, expected, strict=True))
    outputs = [
        compare(name, got, by_name[name], atol, rtol)
        for name, got in zip(model_names, actual, strict=True)
    ]
    return ValidationReport(
        model=os.fspath(model_path),
        runner=f"onnxruntime {provider}",
        reference=ref.label,
        batch=used_batch,
        seed=used_seed,
        inputs=[f"{s.name} {feeds[s.name].dtype}{list(feeds[s.name].shape)}" for s in sig],
        outputs=outputs,
        notes=ref.notes,
        seconds=time.perf_counter() - start,
    )
