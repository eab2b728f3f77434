"""Atomic file output: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from linkedonnx.errors import BadInputError


def refuse_overwriting_input(output: Path, *inputs: Path) -> None:
    """Raise BadInputError when ``output`` names the same file as one of ``inputs``."""
    out = Path(output).resolve()
    for inp in inputs:
        if Path(inp).resolve() == out:
            raise BadInputError(
                f"output {output} is the same file as input {inp}; refusing to overwrite an input"
            )


def _final_mode(target: Path) -> int:
    """The permission bits the written file gets: those of the file it replaces, else
    what a plainly created file would get (0o666 less the umask; mkstemp makes 0o600)."""
    with contextlib.suppress(FileNotFoundError):
        return target.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    On an exception the temporary file is removed and ``target`` is left as it was.
    Raises BadInputError when the target's folder does not exist.
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise BadInputError(f"output folder {folder} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, _final_mode(target))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_open(target: str | os.PathLike[str], mode: str = "w") -> Iterator[IO]:
    """Open a temporary file for writing (``mode`` 'w' or 'wb'); rename onto ``target`` on success."""
    with atomic_path(target) as tmp, open(tmp, mode) as handle:
        yield handle


def write_text_atomic(target: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``target`` atomically."""
    with atomic_open(target, "w") as handle:
        handle.write(text)
