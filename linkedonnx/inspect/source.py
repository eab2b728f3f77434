"""``inspect SOURCE``: dead units per layer of a checkpoint, a zoo model or an ONNX file.

Torch is imported only inside the functions, when SOURCE is a checkpoint or zoo model;
the report type is :mod:`linkedonnx.dead_unit_report` (numpy only, shared with
:mod:`linkedonnx.train.dead_units` and :mod:`linkedonnx.runtime.dead_units`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from linkedonnx.dead_unit_report import DeadUnitReport
from linkedonnx.errors import BadInputError
from linkedonnx.sources import parse_source

if TYPE_CHECKING:
    from linkedonnx.data import ImageData


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


def inspect_source(
    source: str,
    data: str = "digits",
    *,
    batches: int | None = 8,
    batch_size: int = 128,
    image_size: int | None = None,
    standardize: bool = False,
    data_dir: str | Path | None = None,
    seed: int = 0,
    init: str = "torch",
    provider: str = "cpu",
) -> DeadUnitReport:
    """Count dead units of SOURCE on the first ``batches`` train batches of ``data``.

    SOURCE is a checkpoint file, ``zoo:NAME`` (freshly initialised from ``seed`` by the
    ``init`` scheme: 'torch' defaults or 'keras', the trainer's Glorot setting) or an
    ``.onnx`` file (run in ONNX Runtime on ``provider``). Raises BadInputError for a
    missing or unreadable source, an unknown model or dataset, or data whose channels
    do not fit the model.
    """
    from linkedonnx import data as data_mod

    if batches is not None and batches < 1:
        raise BadInputError(f"--batches must be at least 1, got {batches}")
    if batch_size < 1:
        raise BadInputError(f"batch size must be at least 1, got {batch_size}")
    ref = parse_source(source)
    if ref.kind == "onnx":
        from linkedonnx.onnx_io import load_model
        from linkedonnx.runtime.dead_units import count_dead_units_onnx

        model = load_model(source)
        channels, side = _onnx_geometry(model)
        dataset = data_mod.load(
            data, image_size=image_size or side, standardize=standardize, data_dir=data_dir
        )
        if channels is not None and channels != dataset.in_channels:
            raise BadInputError(
                f"{source} takes {channels} channels but {data} has {dataset.in_channels}"
            )
        arrays = (np.asarray(x.numpy()) for x in _batches(dataset, batches, batch_size))
        return count_dead_units_onnx(model, arrays, provider=provider, source=source)

    import torch

    from linkedonnx.train.dead_units import count_dead_units
    from linkedonnx.train.init import initialize
    from linkedonnx.zoo import ModelSpec, build

    if ref.kind == "zoo":
        name = ref.name
        dataset = data_mod.load(
            data, image_size=image_size, standardize=standardize, data_dir=data_dir
        )
        spec = ModelSpec(name, dataset.in_channels, dataset.image_size, dataset.num_classes)
        torch.manual_seed(seed)
        module = initialize(build(spec), init)
    else:
        from linkedonnx.checkpoint import load_model

        module, ckpt = load_model(source)
        spec = ckpt.spec
        dataset = data_mod.load(
            data,
            image_size=image_size or spec.image_size,
            standardize=standardize,
            data_dir=data_dir,
        )
        if dataset.in_channels != spec.in_channels:
            raise BadInputError(
                f"{source} takes {spec.in_channels} channels but {data} has {dataset.in_channels}"
            )
    return count_dead_units(module, _batches(dataset, batches, batch_size), source=source)
