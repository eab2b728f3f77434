"""The ``linkedonnx`` command: builds the typer app and turns library errors into
one-line messages with a non-zero exit code (never a traceback for bad input)."""

from __future__ import annotations

import os
import sys

import typer
from typer.exceptions import TyperException

from linkedonnx import __version__
from linkedonnx.errors import LinkedOnnxError, first_line
from linkedonnx_cli.commands import COMMANDS

app = typer.Typer(
    name="linkedonnx",
    help="Linked neurons from training to ONNX deployment.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"linkedonnx {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Linked neurons (CReLU family) from training to ONNX deployment."""


for _name, _function in COMMANDS:
    app.command(_name)(_function)


def _fail(message: str, code: int) -> None:
    """Print one line to stderr and exit with ``code``."""
    typer.echo(f"linkedonnx: error: {first_line(message, 'unknown error')}", err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; exits with the command's status."""
    try:
        result = app(args=argv, prog_name="linkedonnx", standalone_mode=False)
    except typer.Abort:
        _fail("aborted", 130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except TyperException as exc:  # usage errors: typer already formats them
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            typer.echo(f"linkedonnx: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except LinkedOnnxError as exc:
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as exc:  # an internal bug: still one line unless debugging
        if os.environ.get("LINKEDONNX_DEBUG"):
            raise
        _fail(
            f"internal error: {type(exc).__name__}: {exc} (set LINKEDONNX_DEBUG=1 for a traceback)",
            3,
        )
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
