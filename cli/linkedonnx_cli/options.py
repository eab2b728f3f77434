"""Options shared by several commands, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

#: ``--external-data`` of the commands that write a model (convert, optimize).
ExternalData = Annotated[
    bool,
    typer.Option(
        "--external-data",
        help="Write the weights to a data file beside the model (automatic over 2 GB).",
    ),
]
