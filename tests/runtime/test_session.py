"""Provider selection and session options, checked on the CPU."""

from __future__ import annotations

import pytest

from linkedonnx.errors import BadInputError, MissingDependencyError
from linkedonnx.runtime.session import resolve_providers, session_options


def test_cpu_always_resolves() -> None:
    assert resolve_providers("cpu") == ["CPUExecutionProvider"]


def test_cuda_missing_is_a_clear_error() -> None:
    with pytest.raises(MissingDependencyError, match="onnxruntime-gpu"):
        resolve_providers("cuda", available=["CPUExecutionProvider"])


def test_cuda_present_falls_back_to_cpu_for_unsupported_nodes() -> None:
    available = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert resolve_providers("cuda", available=available) == available


def test_unknown_provider_and_bad_threads() -> None:
    with pytest.raises(BadInputError):
        resolve_providers("tpu")
    with pytest.raises(BadInputError):
        session_options(threads=0)
    with pytest.raises(BadInputError):
        session_options(optimization="max")


def test_spinning_is_off_by_default() -> None:
    opts = session_options(threads=2)
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert opts.intra_op_num_threads == 2
