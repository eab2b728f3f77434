"""``inspect SOURCE``: dead units per layer of a checkpoint, a zoo model or an ONNX file.

Torch is imported only inside the functions, when SOURCE is a checkpoint or zoo model;
the report type is :mod:`linkedonnx.dead_unit_report` (numpy only, shared with
:mod:`linkedonnx.train.dead_units` and :mod:`linkedonnx.runtime.dead_units`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from linkedonnx.arrays.labelled import PreprocessOptions
from linkedonnx.arrays.preprocess import Preprocess
from linkedonnx.dead_unit_report import DeadUnitReport
from linkedonnx.errors import BadInputError, first_line
from linkedonnx.source_ref import parse_source

if TYPE_CHECKING:
    from linkedonnx.data import ImageData

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


def recorded_batches(
    recorded: Preprocess | None,
    data: str | None,
    options: PreprocessOptions,
    *,
    what: str,
    channels: int | None,
    side: int | None,
    data_dir: str | Path | None,
    batches: int | None,
    batch_size: int,
) -> Iterator[np.ndarray]:
    """Prepared float32 batches of the first ``batches`` (None: all) train batches of
    ``data`` (None: the recorded data set, else digits), prepared as ``recorded`` says
    with ``options`` laid over it; without a record, scaled only unless the options say
    otherwise (torch-free, :mod:`linkedonnx.arrays`). An .npz has only its one split;
    synthetic images get the model's ``channels``. The data is read and checked at the
    call, the batches are made as they are taken.
    Raises BadInputError for unknown data or channels that do not fit the model."""
    from linkedonnx.arrays.labelled import labelled, load_data, resolve_preprocess

    if data is None:
        data = recorded.dataset if recorded is not None and recorded.dataset else "digits"
    if recorded is None and options.mean is None and options.standardize is None:
        options = replace(options, standardize=False)
    size = options.image_size or (recorded.image_size if recorded else side)
    raw = load_data(data, data_dir, image_size=size, in_channels=channels)
    if channels is not None and channels != raw.channels:
        raise BadInputError(f"{what} takes {channels} channels but {data} has {raw.channels}")
    preprocess = resolve_preprocess(recorded, raw, options, model_side=side, what=what)
    split = "train" if len(raw.train_labels) else "test"
    limit = None if batches is None else batches * batch_size
    return (x for x, _ in labelled(raw, preprocess, split, limit).batches(batch_size))


def _data_batches(
    recorded: Preprocess | None,
    recorded_name: str | None,
    data: str | None,
    options: PreprocessOptions,
    notes: list[str],
    **where: Any,
) -> tuple[str, Iterator[np.ndarray]]:
    """The data set to run and its batches (:func:`recorded_batches`, ``where`` its
    keywords): ``data`` when given; else ``recorded_name`` (the data set the model was
    trained on) when it can be read here; else digits for a one-channel model, synthetic
    images of the model's geometry otherwise. ``notes`` is told when the counts come
    from synthetic data or the recorded data set cannot be read. Raises BadInputError
    as :func:`recorded_batches` does."""
    if data is None and recorded_name:
        try:
            return recorded_name, recorded_batches(recorded, recorded_name, options, **where)
        except BadInputError as exc:
            notes.append(
                f"the model was trained on {recorded_name}, which cannot be read here ({exc})"
            )
    if data is None:
        data = "digits" if where.get("channels") in (None, 1) else "synthetic"
    if data == "synthetic":
        notes.append(SYNTHETIC_NOTE)
    return data, recorded_batches(recorded, data, options, **where)


def _check_takes(module, channels: int, side: int, source: str) -> None:
    """Raise BadInputError unless the torch ``module`` runs on one ``side``×``side`` image."""
    import torch

    try:
        with torch.no_grad():
            module.eval()(torch.zeros(1, channels, side, side))
    except (RuntimeError, ValueError) as exc:
        raise BadInputError(
            f"{source} does not take {side}×{side} images ({first_line(exc)})"
        ) from None


def inspect_source(
    source: str,
    data: str | None = None,
    *,
    batches: int | None = 8,
    batch_size: int = 128,
    image_size: int | None = None,
    standardize: bool | None = None,
    data_dir: str | Path | None = None,
    seed: int = 0,
    init: str = "keras",
    provider: str = "cpu",
    options: PreprocessOptions | None = None,
) -> DeadUnitReport:
    """Count dead units of SOURCE on the first ``batches`` train batches of ``data``.

    SOURCE is a checkpoint file, ``zoo:NAME`` (freshly initialised from ``seed`` by the
    ``init`` scheme: 'keras', the trainer's Glorot setting, or 'torch' defaults) or an
    ``.onnx`` file (run in ONNX Runtime on ``provider``). ``data`` None picks the data
    set the model records (``linkedonnx.preprocess``, or an older checkpoint's training
    config) when it can be read here, else digits for a one-channel model and synthetic
    images of the model's geometry otherwise; the report's ``notes`` say when counts
    come from synthetic data. A checkpoint or ONNX file that records its preprocessing
    is fed its data prepared that way unless ``image_size``, ``standardize`` or
    ``options`` (scale, mean, std) say otherwise; otherwise the data is scaled only.
    Raises BadInputError for a missing or unreadable source, an unknown model or
    dataset, data whose channels do not fit the model, or an ``image_size`` the model
    does not take.
    """
    from linkedonnx import data as data_mod

    notes: list[str] = []
    options = replace(
        options or PreprocessOptions(),
        **{
            k: v
            for k, v in (("standardize", standardize), ("image_size", image_size))
            if v is not None
        },
    )
    if batches is not None and batches < 1:
        raise BadInputError(f"--samples must be at least 1 (got {batches} batches)")
    if batch_size < 1:
        raise BadInputError(f"batch size must be at least 1, got {batch_size}")
    ref = parse_source(source)
    if ref.kind == "onnx":
        from linkedonnx.arrays.preprocess import read_preprocess
        from linkedonnx.onnx_io import load_model
        from linkedonnx.runtime.dead_units import count_dead_units_onnx

        model = load_model(source)
        channels, side = _onnx_geometry(model)
        if image_size is not None and side is not None and image_size != side:
            raise BadInputError(
                f"{source} takes {side}×{side} images, not {image_size}×{image_size}"
            )
        recorded = read_preprocess(model)
        data, arrays = _data_batches(
            recorded, recorded.dataset if recorded else None, data, options, notes,
            what=source, channels=channels, side=side, data_dir=data_dir, batches=batches,
            batch_size=batch_size,
        )  # fmt: skip
        report = count_dead_units_onnx(model, arrays, provider=provider, source=source)
        report.data, report.notes = data, notes
        return report

    import torch

    from linkedonnx.train.dead_units import count_dead_units
    from linkedonnx.train.init import initialize
    from linkedonnx.zoo import ModelSpec, build

    if ref.kind == "zoo":
        name = ref.name
        if options.scale is not None or options.mean is not None:
            raise BadInputError("--scale, --mean and --std apply to checkpoints and ONNX files")
        data = data or "digits"
        dataset = data_mod.load(
            data, image_size=image_size, standardize=bool(standardize), data_dir=data_dir
        )
        if data == "synthetic":
            notes.append(SYNTHETIC_NOTE)
        spec = ModelSpec(name, dataset.in_channels, dataset.image_size, dataset.num_classes)
        torch.manual_seed(seed)
        module = initialize(build(spec), init)
        report = count_dead_units(module, _batches(dataset, batches, batch_size), source=source)
        report.data, report.notes = data, notes
        return report
    from linkedonnx.checkpoint import load_model

    module, ckpt = load_model(source)
    spec = ckpt.spec
    if image_size is not None and image_size != spec.image_size:
        _check_takes(module, spec.in_channels, image_size, source)
    recorded = ckpt.preprocess
    recorded_name = (
        recorded.dataset if recorded is not None else (ckpt.info.get("config") or {}).get("data")
    )
    data, prepared = _data_batches(
        recorded, recorded_name, data, options, notes, what=source, channels=spec.in_channels,
        side=spec.image_size, data_dir=data_dir, batches=batches, batch_size=batch_size,
    )  # fmt: skip
    report = count_dead_units(module, (torch.from_numpy(x) for x in prepared), source=source)
    report.data, report.notes = data, notes
    return report
