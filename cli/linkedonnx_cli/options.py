"""Options more than one command takes, declared once (typer ``Annotated`` types)."""

from __future__ import annotations

from typing import Annotated

import typer

#: ``--freeze-inputs`` (convert, optimize): initializers out of the graph inputs first.
FreezeInputs = Annotated[
    bool,
    typer.Option(
        "--freeze-inputs",
        help="Take initializers out of the graph inputs first, so their values count as"
        " constants (by default a weight a caller may override is never baked in).",
    ),
]
