"""ONNX Runtime sessions: provider selection and session options in one place."""

from __future__ import annotations

import os
from typing import Literal

import onnx
import onnxruntime as ort

from linkedonnx.errors import BadInputError, MissingDependencyError, first_line

Provider = Literal["cpu", "cuda"]
PROVIDERS: dict[str, str] = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}
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
    """Map 'cpu' or 'cuda' to the ORT provider list to use (CUDA falls back to CPU for
    unsupported nodes). Raises BadInputError for an unknown name and
    MissingDependencyError when CUDA is asked for but this onnxruntime has no CUDA EP."""
    if provider not in PROVIDERS:
        raise BadInputError(f"unknown provider {provider!r}; expected one of {sorted(PROVIDERS)}")
    available = available_providers() if available is None else available
    wanted = PROVIDERS[provider]
    if wanted not in available:
        raise MissingDependencyError(
            "the CUDA execution provider is not available: install onnxruntime-gpu "
            "(in place of onnxruntime) and a matching CUDA runtime"
            if provider == "cuda"
            else f"{wanted} is not available in this onnxruntime build"
        )
    return [wanted] if provider == "cpu" else [wanted, PROVIDERS["cpu"]]


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
