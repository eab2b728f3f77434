"""``inspect SOURCE``: dead units per layer of a checkpoint, a zoo model or an ONNX file.

Torch is imported only inside the functions, so that the report module stays usable
from the ONNX world (:mod:`linkedonnx.runtime.dead_units`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from linkedonnx.errors import BadInputError
from linkedonnx.inspect.report import DeadUnitReport

if TYPE_CHECKING:
    from linkedonnx.data import ImageData

ZOO_PREFIX = "zoo:"

#: The note a report carries when its counts come from synthetic images.
SYNTHETIC_NOTE = (
    "counts come from synthetic data, which say nothing about trained behaviour; "
    "pass --data with the data set the model was trained on"
)


def _batches(data: ImageData, batches: int | None, batch_size: int) -> Iterator:
    """The first ``batches`` (None: all) prepared train batches, fixed order."""
    images = data.train_images
    limit = len(images) if batches is None else min(len(images), batches * batch_size)
    for start in range(0, limit, batch_size):
        yield data.prepare(images[start : min(start + batch_size, limit)])


def _onnx_geometry(model) -> tuple[int | None, int | None]:
    """(channels, side) of the ONNX model's data input when static, else None."""
    from linkedonnx.runtime.dead_units import data_input_name

    name = data_input_name(model)
    value = next(i for i in model.graph.input if i.name == name)
    dims = [
        d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim
    ]
    if len(dims) != 4:
        raise BadInputError(f"expected an NCHW image input, found rank {len(dims)}")
    return dims[1], dims[3]


def _load_data(
    data: str | None,
    recorded: str | None,
    channels: int | None,
    side: int | None,
    standardize: bool,
    data_dir: str | Path | None,
    notes: list[str],
) -> tuple[str, ImageData]:
    """The dataset to run: ``data`` when given; else ``recorded`` (the one the model was
    trained on) when it loads; else digits for a one-channel model, synthetic images of
    the model's geometry otherwise (with a note in ``notes``). Returns (name, data)."""
    from linkedonnx import data as data_mod

    if data is None and recorded:
        try:
            loaded = data_mod.load(
                recorded, image_size=side, standardize=standardize, data_dir=data_dir
            )
        except BadInputError as exc:
            notes.append(f"the model was trained on {recorded}, which cannot be read here ({exc})")
        else:
            return recorded, loaded
    if data is None:
        data = "digits" if channels in (None, 1) else "synthetic"
    loaded = data_mod.load(
        data, image_size=side, standardize=standardize, data_dir=data_dir, in_channels=channels
    )
    if data == "synthetic":
        notes.append(SYNTHETIC_NOTE)
    return data, loaded


def _check_takes(module, channels: int, side: int, source: str) -> None:
    """Raise BadInputError unless the torch ``module`` runs on one ``side``×``side`` image."""
    import torch

    try:
        with torch.no_grad():
            module.eval()(torch.zeros(1, channels, side, side))
    except (RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInputError(f"{source} does not take {side}×{side} images ({first})") from None


def inspect_source(
    source: str,
    data: str | None = None,
    *,
    batches: int | None = 8,
    batch_size: int = 128,
    image_size: int | None = None,
    standardize: bool = False,
    data_dir: str | Path | None = None,
    seed: int = 0,
    init: str = "keras",
    provider: str = "cpu",
) -> DeadUnitReport:
    """Count dead units of SOURCE on the first ``batches`` train batches of ``data``.

    SOURCE is a checkpoint file, ``zoo:NAME`` (freshly initialised from ``seed`` by the
    ``init`` scheme: 'keras', the trainer's Glorot setting, or 'torch' defaults) or an
    ``.onnx`` file (run in ONNX Runtime on ``provider``). ``data`` None picks the data
    set recorded with the model (metadata ``linkedonnx.data`` or the checkpoint's
    training config), else digits for a one-channel model and synthetic images of the
    model's geometry otherwise; the report's ``notes`` say when counts come from
    synthetic data. Raises BadInputError for a missing or unreadable source, an unknown
    model or dataset, data whose channels do not fit the model, or an ``image_size``
    the model does not take.
    """
    from linkedonnx import data as data_mod

    notes: list[str] = []
    if batches is not None and batches < 1:
        raise BadInputError(f"--batches must be at least 1, got {batches}")
    if batch_size < 1:
        raise BadInputError(f"batch size must be at least 1, got {batch_size}")
    if source.endswith(".onnx"):
        from linkedonnx.onnx_io import load_model
        from linkedonnx.runtime.dead_units import count_dead_units_onnx

        model = load_model(source)
        channels, side = _onnx_geometry(model)
        if image_size is not None and side is not None and image_size != side:
            raise BadInputError(
                f"{source} takes {side}×{side} images, not {image_size}×{image_size}"
            )
        recorded = {p.key: p.value for p in model.metadata_props}.get("linkedonnx.data")
        data, dataset = _load_data(
            data, recorded, channels, image_size or side, standardize, data_dir, notes
        )
        if channels is not None and channels != dataset.in_channels:
            raise BadInputError(
                f"{source} takes {channels} channels but {data} has {dataset.in_channels}"
            )
        arrays = (np.asarray(x.numpy()) for x in _batches(dataset, batches, batch_size))
        report = count_dead_units_onnx(model, arrays, provider=provider, source=source)
        report.data, report.notes = data, notes
        return report

    import torch

    from linkedonnx.train.dead_units import count_dead_units
    from linkedonnx.train.init import initialize
    from linkedonnx.zoo import ModelSpec, build

    if source.startswith(ZOO_PREFIX):
        name = source[len(ZOO_PREFIX) :]
        data = data or "digits"
        dataset = data_mod.load(
            data, image_size=image_size, standardize=standardize, data_dir=data_dir
        )
        if data == "synthetic":
            notes.append(SYNTHETIC_NOTE)
        spec = ModelSpec(name, dataset.in_channels, dataset.image_size, dataset.num_classes)
        torch.manual_seed(seed)
        module = initialize(build(spec), init)
    else:
        from linkedonnx.checkpoint import load_model

        module, ckpt = load_model(source)
        spec = ckpt.spec
        recorded = (ckpt.info.get("config") or {}).get("data")
        side = image_size or spec.image_size
        data, dataset = _load_data(
            data, recorded, spec.in_channels, side, standardize, data_dir, notes
        )
        if dataset.in_channels != spec.in_channels:
            raise BadInputError(
                f"{source} takes {spec.in_channels} channels but {data} has {dataset.in_channels}"
            )
        if side != spec.image_size:
            _check_takes(module, spec.in_channels, side, source)
    report = count_dead_units(module, _batches(dataset, batches, batch_size), source=source)
    report.data, report.notes = data, notes
    return report
