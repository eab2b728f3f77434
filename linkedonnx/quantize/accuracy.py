"""Top-1 accuracy of an ONNX model on a labelled split, in ONNX Runtime (no torch here):
how an INT8 model is judged against its float original."""

from __future__ import annotations

import os

import numpy as np
import onnx

from linkedonnx.arrays.labelled import PreprocessOptions, model_data


def top1_accuracy(
    model: onnx.ModelProto | str | os.PathLike[str],
    data: str | os.PathLike[str],
    *,
    split: str = "test",
    options: PreprocessOptions | None = None,
    preprocess_from: onnx.ModelProto | None = None,
    batch_size: int = 64,
) -> tuple[float, np.ndarray]:
    """Top-1 accuracy of ``model`` (ModelProto or path) on ``split`` of ``data`` (name or
    .npz), prepared as ``preprocess_from`` (default: the model itself) records or as
    ``options`` say; returns (accuracy, predicted classes). Raises BadInputError for
    bad data or missing preprocessing."""
    from linkedonnx.runtime.session import make_session

    proto = model if isinstance(model, onnx.ModelProto) else onnx.load_model(os.fspath(model))
    name, prepared = model_data(
        preprocess_from or proto, data, split=split, options=options or PreprocessOptions()
    )
    session = make_session(proto, "cpu")
    predictions = [
        np.argmax(session.run(None, {name: images})[0], axis=-1)
        for images, _ in prepared.batches(batch_size)
    ]
    predicted = np.concatenate(predictions) if predictions else np.zeros(0, np.int64)
    return float(np.mean(predicted == prepared.labels)), predicted
