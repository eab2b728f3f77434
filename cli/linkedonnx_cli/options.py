"""Options more than one command takes, declared once (typer ``Annotated`` types)."""

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

#: ``--freeze-inputs`` (convert, optimize): initializers out of the graph inputs first.
FreezeInputs = Annotated[
    bool,
    typer.Option(
        "--freeze-inputs",
        help="Take initializers out of the graph inputs first, so their values count as"
        " constants (by default a weight a caller may override is never baked in).",
    ),
]
