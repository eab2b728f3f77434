"""Where measured lowering choices are kept (no torch here): one small JSON file per
(model structure, CPU model, ISA flags, ONNX Runtime version, batch, checked batches,
threads) in the
user's cache folder (``$XDG_CACHE_HOME/linkedonnx/forms``, else ``~/.cache/...``), so a
second optimize of the same model on the same machine does no timing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import onnx
import onnxruntime as ort

from linkedonnx.atomic import write_text_atomic
from linkedonnx.cpu import cpu_flags, cpu_model

#: The flags that decide ORT's float32 kernels (NCHWc convolutions, GEMM).
FLOAT_FLAGS = ("sse4_1", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "asimd", "sve")

#: Raised when the search or the file's fields change meaning (old entries are ignored).
#: 2: the choice passed the whole-model check at the checked batches. 3: timed in blocks of
#: fresh sessions, each round in a random order (a 2's timings put the incumbent first,
#: which measured it 2-6% slow at batch 1).
CACHE_VERSION = 3


@dataclass(frozen=True)
class Machine:
    """What a measurement holds for: CPU model, its float ISA flags, logical CPUs, ORT."""

    cpu: str
    isa: tuple[str, ...]
    cpus: int
    ort: str

    def describe(self) -> str:
        """One line, e.g. 'AMD EPYC (avx avx2 fma avx512f), 2 CPUs, onnxruntime 1.22.0'."""
        flags = " ".join(self.isa) or "no flags read"
        return f"{self.cpu} ({flags}), {self.cpus} CPUs, onnxruntime {self.ort}"


def this_machine() -> Machine:
    """The :class:`Machine` this process runs on."""
    flags = cpu_flags()
    return Machine(
        cpu_model(),
        tuple(f for f in FLOAT_FLAGS if f in flags),
        os.cpu_count() or 1,
        ort.__version__,
    )


def cache_folder() -> Path:
    """``$XDG_CACHE_HOME/linkedonnx/forms`` (``~/.cache`` when unset or not absolute)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "linkedonnx" / "forms"


def structure_hash(model: onnx.ModelProto) -> str:
    """SHA-256 of ``model`` without its weights' values (names, shapes and types kept):
    two models that differ only in weights time alike and share a cache entry."""
    skeleton = onnx.ModelProto()
    skeleton.CopyFrom(model)
    skeleton.ClearField("metadata_props")
    skeleton.ClearField("doc_string")
    skeleton.ClearField("producer_name")
    skeleton.ClearField("producer_version")
    for tensor in skeleton.graph.initializer:
        for name in ("raw_data", "float_data", "int32_data", "int64_data", "double_data"):
            tensor.ClearField(name)
    return hashlib.sha256(skeleton.SerializeToString(deterministic=True)).hexdigest()


def cache_key(
    model: onnx.ModelProto,
    machine: Machine,
    batch: int,
    threads: int | None,
    provider: str = "cpu",
    *,
    checked_at: Sequence[int] = (),
) -> str:
    """The file stem of ``model``'s entry for ``machine``, ``batch`` (the search's),
    ``threads``, the ``provider`` that timed it (cpu adds nothing to the key) and the
    batches ``checked_at`` (the whole-model check's)."""
    parts: list = [
        CACHE_VERSION,
        structure_hash(model),
        machine.cpu,
        machine.isa,
        machine.cpus,
        machine.ort,
        batch,
        threads,
        *([] if provider == "cpu" else [provider]),
        sorted(set(checked_at)),
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def load_entry(key: str) -> dict | None:
    """The cached entry named ``key`` (a JSON object), or None when there is none or it
    cannot be read (a damaged entry is measured again)."""
    try:
        data = json.loads((cache_folder() / f"{key}.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == CACHE_VERSION else None


def store_entry(key: str, entry: dict) -> None:
    """Write ``entry`` under ``key`` atomically; a cache folder that cannot be written
    only costs the next run a measurement."""
    folder = cache_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(folder / f"{key}.json", json.dumps({"version": CACHE_VERSION, **entry}))
    except OSError:
        return
