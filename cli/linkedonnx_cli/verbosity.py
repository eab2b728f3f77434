"""What a command prints besides its result: third-party warnings (kept quiet unless
``--verbose``) and progress bars (on stderr, only on a terminal, off with ``--quiet``).

Every command gets both through the root options ``linkedonnx --verbose|--quiet
COMMAND``; a command that runs long wraps its work in :func:`progress` and hands the
callback it yields to the library (a ``(done, total)`` callable, or None when off).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator

from linkedonnx.report_json import KEPT_WARNINGS

#: Third-party log records and warnings a quiet run kept (this run only); the --json
#: reports list them (``warnings``).
KEPT: list[str] = KEPT_WARNINGS


class _Keep(logging.Handler):
    """A root handler that keeps third-party records instead of printing them."""

    def emit(self, record: logging.LogRecord) -> None:
        KEPT.append(f"{record.name}: {record.getMessage()}")


_state = {"verbose": False, "quiet": False}
_KEEPER = _Keep(level=logging.WARNING)


def configure(verbose: bool = False, quiet: bool = False) -> None:
    """Set this run's verbosity: with ``verbose`` third-party warnings (Python warnings,
    logging records of onnx, onnx_ir, onnxscript, torch) print to stderr; otherwise they
    are kept in :data:`KEPT` (the --json reports' ``warnings``) and a successful run's
    stderr stays empty. ``quiet`` turns
    progress bars off."""
    _state.update(verbose=verbose, quiet=quiet)
    KEPT.clear()
    root = logging.getLogger()
    root.removeHandler(_KEEPER)
    if verbose:
        logging.captureWarnings(False)
        return
    root.addHandler(_KEEPER)  # replaces logging's last-resort printing to stderr
    logging.captureWarnings(True)  # warnings.warn -> the 'py.warnings' logger -> kept


def restore() -> None:
    """Undo :func:`configure`: third-party logging and warnings print as Python's
    defaults do again; progress back on."""
    logging.getLogger().removeHandler(_KEEPER)
    logging.captureWarnings(False)
    _state.update(verbose=False, quiet=False)


def progress_enabled() -> bool:
    """True when progress bars should show: stderr is a terminal and not --quiet."""
    return sys.stderr.isatty() and not _state["quiet"]


@contextlib.contextmanager
def progress(description: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr for the block: yields a ``(done, total)`` callback for the
    library to call, or None when bars are off (not a terminal, or --quiet). The bar is
    removed when the block ends, so results printed after it stand alone."""
    if not progress_enabled():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
