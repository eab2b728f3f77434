"""Errors that reach the user as one line and a non-zero exit code."""

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class LinkedOnnxError(Exception):
    """A problem with the user's input or environment; the CLI prints it on one line.

    ``exit_code`` is what the CLI exits with (2: bad input, unless a subclass says else).
    """

    exit_code: int = 2


class BadInputError(LinkedOnnxError, ValueError):
    """The input (file, name, option, array) is missing, malformed or inconsistent.

    Also a ValueError, so library callers (e.g. of :class:`linkedonnx.deploy.Predictor`)
    can catch it the way Python code catches a bad argument."""


class Terminated(BaseException):
    """Raised by the SIGTERM handlers of the CLI and of :func:`linkedonnx.atomic.reserve_outputs`:
    unwinds like Ctrl-C (temporary files removed); the CLI exits 130."""


class MissingDependencyError(LinkedOnnxError):
    """An optional dependency (onnxruntime-gpu, torchvision, ...) is not installed."""


def first_line(error: BaseException | str, default: str | None = None) -> str:
    """The first line of ``error``'s message (an exception or a message string), stripped.

    An empty message gives ``default``; with no default, the exception's type name (or
    '' for a string). Never raises."""
    text = str(error).strip()
    if text:
        return text.splitlines()[0].strip()
    if default is not None:
        return default
    return "" if isinstance(error, str) else type(error).__name__


def one_line(error: BaseException | str, default: str = "") -> str:
    """``error``'s whole message on one line: its lines stripped and joined by '; '
    (ONNX Runtime puts the details of 'invalid dimensions ... for the following
    indices' on the lines after the first). An empty message gives ``default``."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return "; ".join(lines) if lines else default


def run_failure(
    what: str, exc: Exception, error: type[LinkedOnnxError] = LinkedOnnxError
) -> LinkedOnnxError:
    """``error`` saying, on one line, '``what`` failed to run the model: <type>: <message>'."""
    return error(f"{what} failed to run the model: {type(exc).__name__}: {one_line(exc)}")


def guarded(what: str, run: Callable[[], T]) -> T:
    """``run()``'s result; a failure that is not already a LinkedOnnxError becomes one
    (:func:`run_failure`)."""
    try:
        return run()
    except LinkedOnnxError:
        raise
    except Exception as exc:
        raise run_failure(what, exc) from None
