"""The Predictor: an ONNX classifier on a runner (ONNX Runtime or OpenVINO) that takes images as their data
set stores them, applies the preprocessing the model records (``linkedonnx.preprocess``,
through the one :func:`linkedonnx.arrays.apply` that ``validate --data`` and quantize's
calibration use) and returns labels, probabilities or logits (no torch).
"""

from __future__ import annotations

import os
from typing import Literal

import numpy as np
import onnx

from linkedonnx.arrays.preprocess import Preprocess, apply, read_preprocess
from linkedonnx.errors import BadInputError
from linkedonnx.runtime.accuracy import padded

Layout = Literal["NHWC", "NCHW"]
Output = Literal["labels", "probs", "logits"]
LAYOUTS = ("NHWC", "NCHW")
OUTPUTS = ("labels", "probs", "logits")


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis of ``logits`` (max subtracted first), in float32."""
    x = np.asarray(logits, dtype=np.float32)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class Predictor:
    """Run an ONNX image classifier on raw or prepared images.

    ``model``: a path or an ONNX ModelProto with one NCHW image input; ``provider``:
    'cpu', 'cuda' or 'openvino'; ``threads``: intra-op threads (None: the runtime's
    default); ``precision`` 'f32' or 'bf16' and ``cache_dir`` (compiled models) for
    OpenVINO. Raises BadInputError for a model that does not load or has not one 4-D
    input, or an option the provider does not take; MissingDependencyError for a missing
    provider. Thread-safe: several threads may call :meth:`predict` at once (ONNX Runtime
    sessions are; the OpenVINO runner serializes its runs).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | onnx.ModelProto,
        provider: str = "cpu",
        threads: int | None = None,
        precision: str = "f32",
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        from linkedonnx.onnx_io import load_model, needs_external_data
        from linkedonnx.runners.providers import load_runner
        from linkedonnx.runtime.inputs import data_inputs

        proto = model if isinstance(model, onnx.ModelProto) else load_model(model)
        inputs = data_inputs(proto)
        if len(inputs) != 1 or len(inputs[0].dims) != 4:
            described = ", ".join(s.describe() for s in inputs) or "no input"
            raise BadInputError(
                f"the Predictor feeds one NCHW image input; the model has {described}"
            )
        source = (
            model
            if needs_external_data(proto) and not isinstance(model, onnx.ModelProto)
            else proto
        )
        self.runner = load_runner(
            provider, source, precision=precision, cache_dir=cache_dir, threads=threads
        )
        self.input = inputs[0]
        self.output_name = self.runner.output_names[0]
        #: (name, ONNX element type, dims: int or None) of each model output.
        self.outputs: list[tuple[str, int, tuple[int | None, ...]]] = [
            (
                o.name,
                o.type.tensor_type.elem_type,
                tuple(
                    d.dim_value if d.HasField("dim_value") else None
                    for d in o.type.tensor_type.shape.dim
                ),
            )
            for o in proto.graph.output
        ]
        self.preprocess: Preprocess | None = read_preprocess(proto)
        batch = self.input.dims[0]
        self.fixed_batch: int | None = batch if isinstance(batch, int) else None

    @property
    def input_name(self) -> str:
        """The model's image input name."""
        return self.input.name

    def prepare(
        self, images: np.ndarray, *, prepared: bool = False, layout: str = "NHWC"
    ) -> np.ndarray:
        """``images`` (one image [H, W, C] / [C, H, W] or a batch [N, ...] in ``layout``)
        as float32 model input [N, C, H, W]: raw images get the recorded preprocessing,
        ``prepared`` ones are only checked and cast. Raises BadInputError for a wrong
        layout name, shape, dtype, a shape that does not fit the model, or raw images
        for a model that records no preprocessing."""
        if layout not in LAYOUTS:
            raise BadInputError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
        x = np.asarray(images)
        if x.dtype.kind not in "uif":
            raise BadInputError(f"images must be integers or floats, got dtype {x.dtype}")
        if prepared and x.dtype.kind != "f":
            raise BadInputError(f"prepared images must be floats, got dtype {x.dtype}")
        if x.ndim == 3:
            x = x[None]
        if x.ndim != 4:
            raise BadInputError(
                f"expected one image (3-D) or a batch (4-D) in layout {layout}, "
                f"got shape {list(np.shape(images))}"
            )
        if layout == "NHWC":
            x = x.transpose(0, 3, 1, 2)
        channels = self.input.dims[1]
        if isinstance(channels, int) and x.shape[1] != channels:
            raise BadInputError(
                f"images of shape {list(np.shape(images))} have {x.shape[1]} channel(s) in "
                f"layout {layout}; the model takes {channels} (check the layout)"
            )
        if prepared:
            x = np.ascontiguousarray(x, dtype=self.input.dtype)
        else:
            if self.preprocess is None:
                raise BadInputError(
                    "the model records no preprocessing (linkedonnx.preprocess); "
                    "pass prepared=True with model-ready float arrays"
                )
            x = apply(x, self.preprocess).astype(self.input.dtype, copy=False)
        for axis, (got, want) in enumerate(zip(x.shape[1:], self.input.dims[1:], strict=True)):
            if isinstance(want, int) and got != want:
                expected = [d if isinstance(d, int) else "N" for d in self.input.dims]
                raise BadInputError(
                    f"images come to shape {list(x.shape)} (NCHW) but the model takes {expected} "
                    f"(axis {axis + 1}); check layout={layout!r}"
                )
        return x

    def run(self, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """The first output of the model for prepared NCHW input ``x``, in batches of
        ``batch_size`` (the model's own when it fixes one; short batches padded)."""
        if batch_size < 1:
            raise BadInputError(f"batch size must be at least 1, got {batch_size}")
        step = self.fixed_batch or batch_size
        parts = []
        for start in range(0, len(x), step):
            chunk = x[start : start + step]
            feed = padded(chunk, self.fixed_batch) if self.fixed_batch else chunk
            out = self.runner.run({self.input.name: feed}, [self.output_name])[0]
            parts.append(np.asarray(out)[: len(chunk)])
        if not parts:
            raise BadInputError("no images given")
        return np.concatenate(parts)

    def predict(
        self,
        images: np.ndarray,
        *,
        prepared: bool = False,
        layout: str = "NHWC",
        output: str = "labels",
        batch_size: int = 64,
    ) -> np.ndarray:
        """Classify ``images`` (see :meth:`prepare`). Returns int64 labels [N], float32
        probabilities [N, classes] (softmax of the logits) or the model's first output
        [N, ...] as ``output`` says. Raises BadInputError for bad images or options."""
        if output not in OUTPUTS:
            raise BadInputError(f"unknown output {output!r}; expected one of {', '.join(OUTPUTS)}")
        logits = self.run(self.prepare(images, prepared=prepared, layout=layout), batch_size)
        if output == "logits":
            return logits
        if logits.ndim != 2:
            raise BadInputError(
                f"{output} need class scores [N, classes]; the model gives {list(logits.shape)}"
            )
        return softmax(logits) if output == "probs" else logits.argmax(axis=1).astype(np.int64)
