"""The run's output folder: refuse to reuse it unless told, and write its files atomically.

Files: ``config.json`` (the run's settings), ``metrics.jsonl`` (one JSON object per
epoch), ``checkpoint.safetensors`` (latest weights + resume state) and
``best.safetensors`` (weights of the epoch with the best test accuracy).

Each metrics line holds: ``epoch`` (1-based), ``steps`` (optimizer steps so far),
``loss`` and ``train_accuracy`` (running, over the epoch's batches), ``test_loss``,
``test_accuracy``, ``seconds`` (training time of the epoch, evaluation excluded),
``partial`` (the epoch was cut short) and ``dead_units``: ``samples``, ``units``,
``dead``, ``share``, ``linkages`` and ``dead_linkages`` (over the linked layers: their
linkages, and those with both halves dead; 0 and null for a model without one) and ``layers`` as [name, units, dead] in
execution order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from linkedonnx.atomic import write_text_atomic
from linkedonnx.errors import BadInputError

CONFIG = "config.json"
METRICS = "metrics.jsonl"
CHECKPOINT = "checkpoint.safetensors"
BEST = "best.safetensors"
OWN_FILES = (CONFIG, METRICS, CHECKPOINT, BEST)


def check_output_folder(out: Path, overwrite: bool, resume: bool) -> None:
    """Refuse (BadInputError) an existing ``out`` unless ``overwrite`` or ``resume``;
    refuse a path that is a file. Writes nothing."""
    if out.exists() and not out.is_dir():
        raise BadInputError(f"output {out} exists and is not a folder")
    if out.is_dir() and not (overwrite or resume):
        raise BadInputError(
            f"output folder {out} exists; pass --overwrite to replace it or --resume to continue"
        )


def prepare_output_folder(out: Path, overwrite: bool) -> None:
    """Create ``out``; with ``overwrite``, remove the files a previous run wrote there
    (only this module's own file names, nothing else)."""
    out.mkdir(parents=True, exist_ok=True)
    if overwrite:
        for name in OWN_FILES:
            (out / name).unlink(missing_ok=True)


def write_metrics(out: Path, lines: list[dict[str, Any]]) -> None:
    """Rewrite ``metrics.jsonl`` atomically with one JSON object per line."""
    write_text_atomic(out / METRICS, "".join(json.dumps(m, sort_keys=True) + "\n" for m in lines))


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Read a ``metrics.jsonl`` file (missing: empty). Raises BadInputError when corrupt."""
    if not path.is_file():
        return []
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except json.JSONDecodeError:
        raise BadInputError(f"{path} is not valid JSON lines") from None
