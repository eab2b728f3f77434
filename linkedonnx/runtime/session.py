"""ONNX Runtime sessions, the loader of :mod:`linkedonnx.runners.onnxruntime_runner`:
execution providers (from the provider registry, :mod:`linkedonnx.runners.providers`)
and session options in one place. Code that needs a raw session (IO binding, profiling)
uses :func:`make_session`."""

from __future__ import annotations

import os

import onnx
import onnxruntime as ort

from linkedonnx.errors import BadInputError, MissingDependencyError, first_line
from linkedonnx.runners.providers import get_provider

OPT_LEVELS = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


def available_providers() -> list[str]:
    """Return the execution providers this onnxruntime build offers."""
    return list(ort.get_available_providers())


def resolve_providers(provider: str, available: list[str] | None = None) -> list[str]:
    """Map a ``--provider`` name served by ONNX Runtime ('cpu', 'cuda') to the ORT
    execution providers to use, in order (CUDA falls back to CPU for unsupported
    nodes). Raises BadInputError for an unknown name or one another runtime serves,
    and MissingDependencyError when this onnxruntime build lacks its first provider."""
    entry = get_provider(provider)
    if not entry.execution_providers:
        raise BadInputError(f"--provider {provider} runs on {entry.runtime}, not ONNX Runtime")
    available = available_providers() if available is None else available
    wanted = entry.execution_providers[0]
    if wanted not in available:
        raise MissingDependencyError(
            f"{wanted} is not available in this onnxruntime build: {entry.install}"
        )
    return list(entry.execution_providers)


def session_options(
    threads: int | None = None,
    optimization: str = "all",
    spinning: bool = False,
    profile_prefix: str | None = None,
) -> ort.SessionOptions:
    """Build SessionOptions: intra-op ``threads`` (None: ORT's default), graph
    ``optimization`` level name, thread-pool spinning off by default (so several
    sessions in one process do not disturb each other), optional profiling."""
    if optimization not in OPT_LEVELS:
        raise BadInputError(
            f"unknown optimization level {optimization!r}; expected one of {sorted(OPT_LEVELS)}"
        )
    opts = ort.SessionOptions()
    opts.graph_optimization_level = OPT_LEVELS[optimization]
    if threads is not None:
        if threads < 1:
            raise BadInputError(f"threads must be at least 1, got {threads}")
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "1" if spinning else "0")
    if profile_prefix is not None:
        opts.enable_profiling = True
        opts.profile_file_prefix = profile_prefix
    opts.log_severity_level = 3
    return opts


def make_session(
    model: str | os.PathLike[str] | bytes | onnx.ModelProto,
    provider: str = "cpu",
    *,
    threads: int | None = None,
    optimization: str = "all",
    spinning: bool = False,
    profile_prefix: str | None = None,
) -> ort.InferenceSession:
    """Create an InferenceSession for ``model`` (path, bytes or ModelProto) on ``provider``.

    Raises BadInputError (one line) when ONNX Runtime cannot load the model, and
    MissingDependencyError when the provider is missing.
    """
    providers = resolve_providers(provider)
    opts = session_options(threads, optimization, spinning, profile_prefix)
    source = model.SerializeToString() if isinstance(model, onnx.ModelProto) else model
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    try:
        return ort.InferenceSession(source, sess_options=opts, providers=providers)
    except Exception as exc:
        raise BadInputError(f"ONNX Runtime cannot load the model: {first_line(exc)}") from None
