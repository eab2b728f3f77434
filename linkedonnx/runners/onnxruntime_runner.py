"""The ONNX Runtime runner (providers cpu and cuda)."""

from __future__ import annotations

import os
import time
from typing import Any, ClassVar

import numpy as np
import onnx

from linkedonnx.errors import BadInputError
from linkedonnx.runners.base import Runner
from linkedonnx.runtime.session import make_session


class OnnxRuntimeRunner(Runner):
    """``model`` (path, bytes or ModelProto) in an ONNX Runtime InferenceSession on
    ``provider`` ("cpu" or "cuda"), ``threads`` intra-op threads (None: ORT's default),
    graph ``optimization`` level ("disable", "basic", "extended", "all"); ``precision``
    "f32" only (a model runs in the precision it is written in; bf16 is OpenVINO's).
    Raises BadInputError when ONNX Runtime cannot load the model or for another
    precision, and MissingDependencyError when the provider is missing."""

    runtime: ClassVar[str] = "onnxruntime"

    def __init__(
        self,
        model: str | os.PathLike[str] | bytes | onnx.ModelProto,
        *,
        provider: str = "cpu",
        threads: int | None = None,
        optimization: str = "all",
        precision: str = "f32",
    ) -> None:
        if precision != "f32":
            raise BadInputError(
                f"--precision {precision} needs --provider openvino: ONNX Runtime runs a "
                "model in the precision its file is written in"
            )
        start = time.perf_counter()
        self.session = make_session(model, provider, threads=threads, optimization=optimization)
        self.load_seconds = time.perf_counter() - start
        self.provider = provider
        self.threads = threads
        self.optimization = optimization

    @property
    def title(self) -> str:
        return "ONNX Runtime"

    @property
    def input_names(self) -> list[str]:
        return [i.name for i in self.session.get_inputs()]

    @property
    def output_names(self) -> list[str]:
        return [o.name for o in self.session.get_outputs()]

    def run_impl(self, feeds: dict[str, np.ndarray], outputs: list[str] | None) -> list[Any]:
        return self.session.run(outputs, feeds)

    def settings(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime,
            "provider": self.provider,
            "execution_providers": self.session.get_providers(),
            "threads": self.threads,
            "optimization": self.optimization,
        }
