"""Accuracy on labelled data as a parity rule: a model on a runner and a reference
(another ONNX file, a checkpoint or zoo model, or the ONNX reference evaluator) on the
same prepared split; each one's top-1 accuracy, the share of samples where both predict
the same class, the error statistics of the first output over the whole split, and a
verdict on the accuracy drop in percentage points (no torch here unless the reference
is a PyTorch model).

The data and its preparation come from :mod:`linkedonnx.arrays`: the preprocessing the
model records (``linkedonnx.preprocess``) or the options given for a model without one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from linkedonnx.arrays.labelled import PreprocessOptions, model_data
from linkedonnx.errors import BadInputError, guarded
from linkedonnx.report_json import JsonReport
from linkedonnx.runtime.compare import OutputComparison, compare

#: Default largest allowed accuracy drop of the model below the reference, in points.
DEFAULT_MAX_DROP = 0.5
#: Samples per run when the model's batch dimension is dynamic.
BATCH = 100

Run = Callable[[dict[str, np.ndarray]], list[np.ndarray]]


@dataclass
class AccuracyReport(JsonReport):
    """Both sides' correct predictions on ``samples`` labelled samples of ``data``, how
    often they agree, the first output compared over the split, and the allowed drop
    (percentage points)."""

    model: str
    runner: str
    reference: str
    data: str
    samples: int
    preprocess: dict[str, Any]
    model_correct: int
    reference_correct: int
    agreed: int
    output: OutputComparison
    max_accuracy_drop: float = DEFAULT_MAX_DROP
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def model_accuracy(self) -> float:
        """The model's top-1 accuracy (0..1)."""
        return self.model_correct / self.samples

    @property
    def reference_accuracy(self) -> float:
        """The reference's top-1 accuracy (0..1)."""
        return self.reference_correct / self.samples

    @property
    def agreement(self) -> float:
        """Share of samples where model and reference predict the same class (0..1)."""
        return self.agreed / self.samples

    @property
    def drop(self) -> float:
        """How far the model's accuracy is below the reference's, in percentage points
        (negative when the model does better)."""
        return 100.0 * (self.reference_correct - self.model_correct) / self.samples

    @property
    def passed(self) -> bool:
        """True when the drop is within ``max_accuracy_drop`` points."""
        return self.drop <= self.max_accuracy_drop + 1e-9

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "model": self.model,
            "runner": self.runner,
            "reference": self.reference,
            "data": self.data,
            "samples": self.samples,
            "preprocess": self.preprocess,
            "model_accuracy": self.model_accuracy,
            "reference_accuracy": self.reference_accuracy,
            "agreement": self.agreement,
            "accuracy_drop_points": self.drop,
            "max_accuracy_drop_points": self.max_accuracy_drop,
            "passed": self.passed,
            "output": self.output.to_dict(),
            "notes": self.notes,
            "seconds": round(self.seconds, 3),
        }

    def summary(self) -> str:
        """One line: PASS/FAIL, both accuracies, the drop against the allowed one."""
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"{verdict}: {self.model} top-1 {self.model_accuracy:.2%} vs reference "
            f"{self.reference_accuracy:.2%} on {self.samples} samples of {self.data}: "
            f"drop {self.drop:+.2f} points (allowed {self.max_accuracy_drop:g}), "
            f"agreement {self.agreement:.2%}"
        )


def padded(x: np.ndarray, batch: int) -> np.ndarray:
    """``x`` filled up to ``batch`` rows by repeating its last row (fixed-batch models)."""
    if len(x) == batch:
        return x
    return np.concatenate([x, np.repeat(x[-1:], batch - len(x), axis=0)])


def predict_both(
    run_model: Run,
    run_reference: Run,
    input_name: str,
    batches: Iterable[np.ndarray],
    fixed_batch: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The first output of each runner over ``batches`` of images (each padded to
    ``fixed_batch`` rows when the model's batch size is fixed); returns the (model,
    reference) outputs for the real rows, concatenated."""
    ours, theirs = [], []
    for x in batches:
        feeds = {input_name: padded(x, fixed_batch) if fixed_batch else x}
        ours.append(np.asarray(run_model(feeds)[0])[: len(x)])
        theirs.append(np.asarray(run_reference(feeds)[0])[: len(x)])
    return np.concatenate(ours), np.concatenate(theirs)


def validate_accuracy(
    model_path: str | os.PathLike[str],
    reference: str | os.PathLike[str] | None,
    data: str | os.PathLike[str] | None,
    *,
    split: str = "test",
    max_accuracy_drop: float = DEFAULT_MAX_DROP,
    options: PreprocessOptions | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    provider: str = "cpu",
    seed: int = 0,
    precision: str = "f32",
    cache_dir: str | os.PathLike[str] | None = None,
) -> AccuracyReport:
    """Top-1 accuracy of the ONNX model at ``model_path`` (on ``provider``; OpenVINO's
    ``precision`` and ``cache_dir`` as in :func:`linkedonnx.validate.validate`)
    and of ``reference`` (see :func:`linkedonnx.validate.load_reference`; ``seed`` for
    a zoo reference's weights) on ``split`` of ``data`` (a data set name or an .npz;
    None: the data set the model records), the first ``limit`` samples (None: all),
    prepared as the model records or as ``options`` say. Returns an AccuracyReport
    (check ``.passed``: drop <= ``max_accuracy_drop`` points). Raises BadInputError for
    bad files, data, options or reference, LinkedOnnxError when a runner fails."""
    from linkedonnx.onnx_io import load_model
    from linkedonnx.runners.providers import load_runner, runner_label
    from linkedonnx.runtime.inputs import data_inputs
    from linkedonnx.validate import load_reference

    start = time.perf_counter()
    if not (np.isfinite(max_accuracy_drop) and max_accuracy_drop >= 0):
        raise BadInputError(
            f"--max-accuracy-drop must be a non-negative number of points, got {max_accuracy_drop}"
        )
    model = load_model(model_path)
    what = os.fspath(model_path)
    input_name, labelled = model_data(
        model,
        data,
        split=split,
        options=options,
        data_dir=data_dir,
        limit=limit,
        what=what,
    )
    sig = data_inputs(model)
    dtype, batch_dim = sig[0].dtype, sig[0].dims[0]
    ref = load_reference(reference, model, sig, seed)
    runner = load_runner(provider, model, precision=precision, cache_dir=cache_dir)
    output_name = runner.output_names[0]
    notes = list(ref.notes)
    if len(runner.output_names) > 1:
        notes.append(f"the model has several outputs; classes are read from {output_name!r}")
    fixed = batch_dim if isinstance(batch_dim, int) else None
    ours, theirs = predict_both(
        lambda feeds: guarded(runner.title, lambda: runner.run(feeds)),
        lambda feeds: guarded("the reference", lambda: ref.run(feeds)),
        input_name,
        (x.astype(dtype) for x, _ in labelled.batches(fixed or BATCH)),
        fixed,
    )
    if ours.ndim != 2 or ours.shape != theirs.shape:
        raise BadInputError(
            f"expected class scores [N, classes] from both sides, got {list(ours.shape)} "
            f"and {list(theirs.shape)}"
        )
    labels = labelled.labels
    if labels.size and int(labels.max()) >= ours.shape[1]:
        raise BadInputError(
            f"labels go up to {int(labels.max())} but the model scores {ours.shape[1]} classes"
        )
    predicted, expected = ours.argmax(axis=1), theirs.argmax(axis=1)
    return AccuracyReport(
        model=what,
        runner=runner_label(runner),
        reference=ref.label,
        data=labelled.source,
        samples=len(labels),
        preprocess=labelled.preprocess.to_dict(),
        model_correct=int(np.count_nonzero(predicted == labels)),
        reference_correct=int(np.count_nonzero(expected == labels)),
        agreed=int(np.count_nonzero(predicted == expected)),
        output=compare(output_name, ours, theirs),
        max_accuracy_drop=float(max_accuracy_drop),
        notes=notes,
        seconds=time.perf_counter() - start,
    )
