"""Linkify a SOURCE (``zoo:NAME`` or a checkpoint) into a version-2 checkpoint that
records the linkify options, so that ``export``, ``validate`` and ``train --from``
rebuild the same network."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from linkedonnx.atomic import refuse_overwriting_input, write_text_atomic
from linkedonnx.errors import BadInputError
from linkedonnx.linkify.core import linkify
from linkedonnx.linkify.options import LinkifyOptions
from linkedonnx.linkify.report import LinkifyReport
from linkedonnx.report_json import report_text


def linkify_source(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    activation: str = "lk-relu",
    preserve_function: bool = True,
    seed: int = 0,
    in_channels: int | None = None,
    image_size: int | None = None,
    num_classes: int | None = None,
    json_path: str | os.PathLike[str] | None = None,
) -> LinkifyReport:
    """Linkify SOURCE (a zoo model built with ``seed`` and the optional geometry, or a
    checkpoint's model and weights) and write the result to checkpoint ``output`` (and
    the report as JSON to ``json_path``). Returns the report.

    Raises BadInputError (nothing written) for a bad SOURCE or option, an output that is
    a folder or the input itself, or a checkpoint that is already linkified.
    """
    from linkedonnx.checkpoint import load_checkpoint, save_checkpoint
    from linkedonnx.sources import load_source

    options = LinkifyOptions(activation, preserve_function)
    out = Path(output)
    if out.is_dir():
        raise BadInputError(f"output path {out} is a directory")
    resolved = load_source(
        source, seed=seed, in_channels=in_channels, image_size=image_size, num_classes=num_classes
    )
    outputs = [out] + ([Path(json_path)] if json_path is not None else [])
    if resolved.checkpoint is not None:
        for path in outputs:
            refuse_overwriting_input(path, resolved.checkpoint)
        if load_checkpoint(resolved.checkpoint).linkify is not None:
            raise BadInputError(f"{resolved.checkpoint} is already linkified")
    example = torch.zeros(resolved.spec.input_shape(1))
    model, report = linkify(
        resolved.model,
        options.activation,
        example_input=example,
        preserve_function=options.preserve_function,
    )
    info = {"source": resolved.label, "linkify": report.to_dict()}
    save_checkpoint(out, resolved.spec, model.state_dict(), info, linkify=options)
    if json_path is not None:
        write_text_atomic(json_path, report_text(report.to_dict()))
    return report
