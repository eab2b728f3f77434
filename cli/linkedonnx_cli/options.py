"""Options more than one command takes, declared once (typer ``Annotated`` types), and
the option checks the commands share: refused on one line (exit 2) while parsing,
before any work starts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from linkedonnx.errors import BadInputError
from linkedonnx.runners.providers import provider_help

#: ``--external-data`` of the commands that write a model (convert, optimize, quantize).
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

#: ``--precision`` of the commands that run a model (validate, bench, serve): OpenVINO's.
PrecisionOption = Annotated[
    str,
    typer.Option(
        "--precision",
        help="f32 or bf16 (bf16: --provider openvino on a CPU with native bfloat16).",
    ),
]

#: ``--cache-dir`` (validate, bench, serve): OpenVINO's compiled-model cache.
CacheDirOption = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir", help="OpenVINO's compiled-model cache directory (--provider openvino)."
    ),
]


def provider_option(what: str) -> Any:
    """The ``--provider`` option of a command: its help says ``what`` it picks and lists
    the values of the provider registry (:mod:`linkedonnx.runners.providers`)."""
    return typer.Option("--provider", help=provider_help(what), show_default=True)


_OUTPUT = {"--output": "--out"}

#: Old option spellings, still accepted for one release and hidden from --help
#: (README.md, "Option names"): command -> {old flag: the flag it now is}.
OLD_SPELLINGS: dict[str, dict[str, str]] = {
    "linkify": _OUTPUT,
    "export": _OUTPUT,
    "convert": _OUTPUT,
    "optimize": {**_OUTPUT, "--target": "--provider"},
    "quantize": _OUTPUT,
    "train": {"--batch-size": "--batch"},
    "inspect": {"--batch-size": "--batch"},
    "experiment": {"--batch-size": "--batch", "--train-subset": "--samples"},
    "validate": {"--limit": "--samples"},
    "deploy": {"--target": "--provider"},
}


def new_spellings(argv: list[str]) -> list[str]:
    """``argv`` (the words after ``linkedonnx``) with the command's old option spellings
    (:data:`OLD_SPELLINGS`, as ``--old`` or ``--old=VALUE``) replaced by the new ones."""
    command = next((word for word in argv if not word.startswith("-")), None)
    renames = OLD_SPELLINGS.get(command or "", {})
    if not renames:
        return list(argv)
    out = []
    for word in argv:
        flag, eq, value = word.partition("=")
        out.append(renames[flag] + eq + value if flag in renames else word)
    return out


def at_least_one(ctx: typer.Context, param: typer.CallbackParam, value: int | None) -> int | None:
    """Typer callback for counts and sizes (``--batch``, ``--image-size``, ...): returns
    ``value``; raises BadInputError when it is given and below 1."""
    if value is not None and value < 1:
        raise BadInputError(f"{param.opts[0]} must be at least 1, got {value}")
    return value


def given_flags(ctx: typer.Context, *names: str) -> list[str]:
    """The flags (``--split``, ...) of the parameters ``names`` (their Python names) that
    were set on the command line rather than left at their defaults, in ``names`` order."""
    params = {p.name: p for p in ctx.command.params}
    sources = {name: ctx.get_parameter_source(name) for name in names}
    return [
        params[name].opts[0]
        for name, source in sources.items()
        if source is not None and source.name != "DEFAULT"  # COMMANDLINE or ENVIRONMENT
    ]


def refuse_together(first: tuple[str, object], second: tuple[str, object], why: str) -> None:
    """Raise BadInputError when both options of the (flag, value) pairs are given
    (neither None nor False): ``why`` says what the second would be ignored for."""
    given = [flag for flag, value in (first, second) if value is not None and value is not False]
    if len(given) == 2:
        raise BadInputError(f"{first[0]} and {second[0]} cannot be used together: {why}")
