"""Command-line options shared by the commands that feed labelled data to a model
(validate --data, inspect, bench): the data set or .npz, its folder and split, and the
preprocessing for models that record none (``linkedonnx.preprocess``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataOption = Annotated[
    str | None,
    typer.Option(
        "--data",
        help="Data set (digits, fashion-mnist, cifar10, synthetic) or a .npz of stored "
        "images (named after the model input) plus 'labels'.",
    ),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option(help="Folder of cifar10 or fashion-mnist (default for fashion-mnist: "
                 "where the Debian package dataset-fashion-mnist puts it)."),
]  # fmt: skip
SplitOption = Annotated[str, typer.Option(help="Split of the data set: test or train.")]
ScaleOption = Annotated[
    float | None,
    typer.Option(help="Stored values are divided by this (models without recorded preprocessing)."),
]
MeanOption = Annotated[
    str | None, typer.Option(help="Per-channel mean after scaling, comma-separated.")
]
StdOption = Annotated[
    str | None, typer.Option(help="Per-channel std after scaling, comma-separated.")
]
StandardizeOption = Annotated[
    bool | None,
    typer.Option(
        "--standardize/--no-standardize",
        help="Standardize with the named data set's train statistics, or not "
        "(models without recorded preprocessing).",
    ),
]
