"""The ``linkedonnx`` command: builds the typer app and turns library errors into
one-line messages with a non-zero exit code (never a traceback for bad input)."""

from __future__ import annotations

import inspect
import os
import signal
import sys

import typer
from typer.exceptions import TyperException

from linkedonnx import __version__
from linkedonnx.errors import LinkedOnnxError, Terminated, first_line
from linkedonnx_cli import verbosity
from linkedonnx_cli.commands import COMMANDS, GROUPS
from linkedonnx_cli.options import new_spellings

#: The exit codes every command uses (also in README.md, "The command line").
EXIT_CODES = {
    0: "success",
    1: "the check failed (validate: parity outside the tolerance)",
    2: "bad input: a file, name, option or output path (one line says which)",
    3: "internal error (LINKEDONNX_DEBUG=1 shows the traceback)",
    130: "interrupted (Ctrl-C or SIGTERM); no partial output is left",
}

_HELP = (
    "Linked neurons (CReLU family) from training to ONNX deployment.\n\n"
    + "Exit codes: "
    + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items())
    + "."
)

app = typer.Typer(
    name="linkedonnx",
    help=_HELP,
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
    verbose: bool = typer.Option(
        False,
        "--verbose",
        help="Print third-party warnings (ONNX Runtime, onnx, onnxscript, numpy) that a "
        "successful run otherwise keeps off stderr.",
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    verbosity.configure(verbose=verbose, quiet=quiet)


def help_of(function: object) -> str:
    """A command's docstring as its help: paragraphs kept, the line breaks inside each
    paragraph joined (``--help`` rewraps to the terminal)."""
    doc = inspect.getdoc(function) or ""
    return "\n\n".join(" ".join(part.split()) for part in doc.split("\n\n"))


for _name, _function in COMMANDS:
    app.command(_name, help=help_of(_function))(_function)
for _name, _group in GROUPS:
    for _info in _group.registered_commands:
        _info.help = help_of(_info.callback)
    app.add_typer(_group, name=_name)


def _fail(message: str, code: int) -> None:
    """Print one line to stderr and exit with ``code``."""
    typer.echo(f"linkedonnx: error: {first_line(message, 'unknown error')}", err=True)
    sys.exit(code)


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM handler: unwind like Ctrl-C (atomic writes remove their temporary files)."""
    raise Terminated(f"signal {signum}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; exits with the command's status. Run as a
    program (``argv`` None), SIGTERM is handled like Ctrl-C: exit 130, one line. The
    logging and warning set-up of the run is undone at the end (for in-process callers)."""
    try:
        _run(argv)
    finally:
        verbosity.restore()


def _run(argv: list[str] | None) -> None:
    """Run the app on ``argv`` and exit with its status (see :func:`main`)."""
    if argv is None:
        signal.signal(signal.SIGTERM, _terminated)
    args = new_spellings(sys.argv[1:] if argv is None else argv)
    try:
        result = app(args=args, prog_name="linkedonnx", standalone_mode=False)
    except typer.Abort:
        _fail("aborted", 130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except TyperException as exc:  # usage errors: one line like every other error
        ctx = getattr(exc, "ctx", None)
        hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        _fail(" ".join(exc.format_message().split()) + hint, exc.exit_code)
    except LinkedOnnxError as exc:
        _fail(str(exc), exc.exit_code)
    except (KeyboardInterrupt, Terminated):
        _fail("interrupted", 130)
    except Exception as exc:  # an internal bug: still one line unless debugging
        if os.environ.get("LINKEDONNX_DEBUG"):
            raise
        _fail(
            f"internal error: {type(exc).__name__}: {exc} (set LINKEDONNX_DEBUG=1 for a traceback)",
            3,
        )
    if result == 130:  # typer returns Ctrl-C (KeyboardInterrupt) as exit code 130
        _fail("interrupted", 130)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
