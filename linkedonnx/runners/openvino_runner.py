"""The OpenVINO runner (provider ``openvino``): an ONNX model compiled by OpenVINO's CPU
plugin, with every setting that changes speed or numbers chosen explicitly.

- OpenVINO does not expand ONNX model-local functions, so function-form models are
  inlined first (:func:`linkedonnx.functions.inline.inline_linked_functions`, then any
  other local function).
- ``INFERENCE_NUM_THREADS`` from ``threads``, ``NUM_STREAMS`` 1, ``PERFORMANCE_HINT``
  LATENCY, and ``INFERENCE_PRECISION_HINT`` f32 unless ``precision`` is bf16: without
  it the CPU plugin silently computes in bf16 on CPUs with AVX-512 BF16 or AMX.
- The model is reshaped to the static shape of each feed and compiled once per shape
  (cached in the runner); ``compile_seconds`` records each compilation, apart from the
  reading time in ``load_seconds``.
- ``cache_dir``: OpenVINO's compiled-model cache (``CACHE_DIR``), so a second process
  (the Predictor, serve replicas) skips compilation.

No torch here.
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import onnx
import onnx.inliner
import openvino as ov

from linkedonnx.errors import BadInputError, one_line
from linkedonnx.onnx_io import load_model, needs_external_data
from linkedonnx.runners.base import Runner

#: The precisions ``precision`` may name, and OpenVINO's element type for each.
PRECISIONS: dict[str, str] = {"f32": "f32", "bf16": "bf16"}
#: OpenVINO's device for this runner.
DEVICE = "CPU"

_CORE: ov.Core | None = None


def core() -> ov.Core:
    """The process's one OpenVINO Core (creating one reads the plugins: done once)."""
    global _CORE
    if _CORE is None:
        _CORE = ov.Core()
    return _CORE


def capabilities(device: str = DEVICE) -> list[str]:
    """OpenVINO's OPTIMIZATION_CAPABILITIES of ``device`` (e.g. ['BF16', 'FP32', 'INT8'])."""
    return [str(c) for c in core().get_property(device, "OPTIMIZATION_CAPABILITIES")]


def bf16_supported(device: str = DEVICE) -> bool:
    """True when ``device`` computes bf16 natively (OpenVINO lists BF16 among its
    optimization capabilities: AVX-512 BF16 or AMX on the CPU)."""
    return "BF16" in capabilities(device)


def check_precision(precision: str, device: str = DEVICE) -> None:
    """Raise BadInputError (one line) for a precision OpenVINO does not take, or for
    bf16 on a CPU without native bf16."""
    if precision not in PRECISIONS:
        raise BadInputError(
            f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}"
        )
    if precision == "bf16" and not bf16_supported(device):
        raise BadInputError(
            f"--precision bf16 needs a CPU with native bfloat16 (AVX-512 BF16 or AMX); "
            f"OpenVINO reports {', '.join(capabilities(device))} on this one"
        )


def for_openvino(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with every model-local function inlined (OpenVINO's ONNX frontend does
    not expand them); the model itself when it has none."""
    if not model.functions:
        return model
    from linkedonnx.functions.inline import inline_linked_functions

    try:
        inlined = inline_linked_functions(model)
    except ValueError as exc:
        raise BadInputError(f"cannot inline the model's functions: {one_line(exc)}") from None
    return onnx.inliner.inline_local_functions(inlined) if inlined.functions else inlined


def _proto(model: str | os.PathLike[str] | bytes | onnx.ModelProto) -> onnx.ModelProto:
    """The ModelProto of a path (loaded and checked), bytes or proto."""
    if isinstance(model, onnx.ModelProto):
        return model
    if isinstance(model, bytes):
        try:
            return onnx.load_from_string(model)
        except Exception as exc:
            raise BadInputError(f"not a readable ONNX model ({type(exc).__name__})") from None
    return load_model(model)


def _read(core_: ov.Core, model: onnx.ModelProto, scratch: Path | None) -> ov.Model:
    """Read ``model`` into OpenVINO: from memory, or through a file in ``scratch`` for a
    model too large to serialize in one message."""
    if not needs_external_data(model):
        return core_.read_model(io.BytesIO(model.SerializeToString()))
    if scratch is None:
        raise BadInputError("a model over 2 GB needs a cache directory (--cache-dir)")
    from linkedonnx.onnx_io import save_model

    path = scratch / "inlined.onnx"
    save_model(model, path)
    return core_.read_model(str(path))


class OpenVinoRunner(Runner):
    """``model`` (path, bytes or ModelProto) read by OpenVINO for its CPU device.

    ``threads``: INFERENCE_NUM_THREADS (None: OpenVINO's choice); ``precision``: "f32"
    (the default, set explicitly) or "bf16" (refused on a CPU without native bf16);
    ``cache_dir``: OpenVINO's compiled-model cache directory (None: none). Raises
    BadInputError (one line) for a model OpenVINO cannot read or a bad option."""

    runtime: ClassVar[str] = "openvino"

    def __init__(
        self,
        model: str | os.PathLike[str] | bytes | onnx.ModelProto,
        *,
        provider: str = "openvino",
        threads: int | None = None,
        precision: str = "f32",
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        start = time.perf_counter()
        check_precision(precision)
        if threads is not None and threads < 1:
            raise BadInputError(f"threads must be at least 1, got {threads}")
        proto = for_openvino(_proto(model))
        self.provider = provider
        self.threads = threads
        self.precision = precision
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        if self.cache_dir is not None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        self._input_names = [
            i.name
            for i in proto.graph.input
            if i.name not in {t.name for t in proto.graph.initializer}
        ]
        self._output_names = [o.name for o in proto.graph.output]
        try:
            self.model = _read(core(), proto, self.cache_dir)
        except BadInputError:
            raise
        except Exception as exc:
            raise BadInputError(f"OpenVINO cannot read the model: {one_line(exc)}") from None
        self._compiled: dict[tuple[tuple[int, ...], ...], Any] = {}
        self._lock = threading.Lock()  # an infer request runs one inference at a time
        #: Seconds each compilation took, by input shapes ("1x3x32x32").
        self.compile_seconds: dict[str, float] = {}
        self.load_seconds = time.perf_counter() - start

    @property
    def input_names(self) -> list[str]:
        return list(self._input_names)

    @property
    def output_names(self) -> list[str]:
        return list(self._output_names)

    def config(self) -> dict[str, str]:
        """The compile properties this runner sets (strings, as OpenVINO reports them)."""
        props = {
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": "1",
            "INFERENCE_PRECISION_HINT": PRECISIONS[self.precision],
        }
        if self.threads is not None:
            props["INFERENCE_NUM_THREADS"] = str(self.threads)
        if self.cache_dir is not None:
            props["CACHE_DIR"] = str(self.cache_dir)
        return props

    def compiled(self, shapes: Mapping[str, Sequence[int]]) -> Any:
        """The model compiled for the static input ``shapes`` (name -> shape), compiling
        it on first use (timed into ``compile_seconds``). Raises BadInputError when
        OpenVINO cannot reshape or compile it for them."""
        missing = [n for n in self._input_names if n not in shapes]
        if missing:
            raise BadInputError(f"no data for model inputs {missing}")
        key = tuple(tuple(int(d) for d in shapes[n]) for n in self._input_names)
        found = self._compiled.get(key)
        if found is not None:
            return found
        start = time.perf_counter()
        model = self.model.clone()
        try:
            model.reshape(
                {n: ov.PartialShape(list(s)) for n, s in zip(self._input_names, key, strict=True)}
            )
            compiled = core().compile_model(model, DEVICE, self.config())
        except Exception as exc:
            shown = ", ".join("x".join(map(str, s)) for s in key)
            raise BadInputError(
                f"OpenVINO cannot compile the model for input shape(s) {shown}: {one_line(exc)}"
            ) from None
        request = compiled.create_infer_request()
        named = {name: port for port in compiled.outputs for name in port.get_names()}
        ports = {
            name: named.get(name, compiled.outputs[i]) for i, name in enumerate(self._output_names)
        }
        self._compiled[key] = (compiled, request, ports)
        self.compile_seconds[",".join("x".join(map(str, s)) for s in key)] = (
            time.perf_counter() - start
        )
        return self._compiled[key]

    def timed_call(self, feeds: Mapping[str, np.ndarray]) -> Callable[[], None]:
        """A function of no arguments that runs the model once on ``feeds``: compiled
        now, the inputs shared with OpenVINO, the outputs left in its tensors."""
        _compiled, request, _ports = self.compiled({n: feeds[n].shape for n in feeds})
        data = {n: np.ascontiguousarray(feeds[n]) for n in self._input_names}

        def run_once() -> None:
            request.infer(data, share_inputs=True, share_outputs=True)

        return run_once

    def run(
        self, feeds: Mapping[str, np.ndarray], outputs: Sequence[str] | None = None
    ) -> list[np.ndarray]:
        names = self._output_names if outputs is None else list(outputs)
        unknown = [n for n in names if n not in self._output_names]
        if unknown:
            raise BadInputError(f"the model has no output(s) {unknown}")
        extra = [n for n in feeds if n not in self._input_names]
        if extra:
            raise BadInputError(f"the model has no input(s) {extra}")
        data = {n: np.ascontiguousarray(feeds[n]) for n in self._input_names if n in feeds}
        with self._lock:  # several threads (the Predictor's callers) share the requests
            _compiled, request, ports = self.compiled({n: v.shape for n, v in data.items()})
            try:
                result = request.infer(data)
            except Exception as exc:
                raise BadInputError(f"OpenVINO failed to run the model: {one_line(exc)}") from None
            return [np.array(result[ports[n]], copy=True) for n in names]

    def settings(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime,
            "provider": self.provider,
            "openvino": ov.__version__ if hasattr(ov, "__version__") else ov.get_version(),
            "device": DEVICE,
            "threads": self.threads,
            "precision": self.precision,
            "config": self.config(),
            "load_seconds": round(self.load_seconds, 4),
            "compile_seconds": {k: round(v, 4) for k, v in self.compile_seconds.items()},
            "compiled_precision": sorted(
                {
                    c.get_property("INFERENCE_PRECISION_HINT").to_string()
                    for c, _, _ in self._compiled.values()
                }
            ),
            "cache_dir": None if self.cache_dir is None else str(self.cache_dir),
        }
