"""Atomic file output: write to a temporary file beside the target, then rename.

A command that writes several files reserves them all first (:func:`reserve_outputs`):
every temporary file is created before the work starts, a bad path is refused (one
line, nothing written), and the outputs are renamed into place together at the end;
an error, Ctrl-C or SIGTERM removes the temporaries.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from types import FrameType
from typing import IO

from linkedonnx.errors import BadInputError, Terminated


def refuse_overwriting_input(output: Path, *inputs: Path) -> None:
    """Raise BadInputError when ``output`` names the same file as one of ``inputs``."""
    out = Path(output).resolve()
    for inp in inputs:
        if Path(inp).resolve() == out:
            raise BadInputError(
                f"output {output} is the same file as input {inp}; refusing to overwrite an input"
            )


def final_mode(target: Path) -> int:
    """The permission bits the written file gets: those of the file it replaces, else
    what a plainly created file would get (0o666 less the umask; mkstemp makes 0o600)."""
    with contextlib.suppress(FileNotFoundError):
        return target.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


#: Places that hold no ordinary files: an output path that resolves under one is refused.
SPECIAL_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))


def _special_root(path: Path) -> Path | None:
    """The special root (``/proc``, ``/sys``, ``/dev``) that ``path`` resolves under, if any."""
    resolved = path.resolve()
    for root in SPECIAL_ROOTS:
        if resolved == root or root in resolved.parents:
            return root
    return None


def check_output_file(target: str | os.PathLike[str], *inputs: str | os.PathLike[str]) -> Path:
    """Check that ``target`` can become a file written by a command, writing nothing.

    Raises BadInputError (one line naming the path) when it names one of ``inputs``, is
    a folder, lies under /proc, /sys or /dev, or its folder is missing, not a folder or
    not writable. Returns ``target`` as a Path.
    """
    target = Path(target)
    refuse_overwriting_input(target, *(Path(i) for i in inputs))
    root = _special_root(target)
    if root is not None:
        raise BadInputError(f"output path {target} is under {root}, which holds no ordinary files")
    if target.is_dir():
        raise BadInputError(f"output path {target} is a directory")
    folder = target.parent if str(target.parent) else Path(".")
    if folder.exists() and not folder.is_dir():
        raise BadInputError(f"output folder {folder} is not a folder")
    if not folder.is_dir():
        raise BadInputError(f"output folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BadInputError(f"output folder {folder} is not writable")
    return target


def check_output_folder(folder: str | os.PathLike[str]) -> Path:
    """Check that ``folder`` can be created (with its parents) or written to, creating nothing.

    Raises BadInputError (one line) when it lies under /proc, /sys or /dev, is an
    existing file, or its nearest existing ancestor is not a writable folder.
    Returns ``folder`` as a Path.
    """
    folder = Path(folder)
    root = _special_root(folder)
    if root is not None:
        raise BadInputError(
            f"output folder {folder} is under {root}, which holds no ordinary files"
        )
    if folder.exists() and not folder.is_dir():
        raise BadInputError(f"output {folder} exists and is not a folder")
    existing = folder.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise BadInputError(f"cannot create output folder {folder}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise BadInputError(
            f"output folder {folder} cannot be written ({existing} is not writable)"
        )
    return folder


class Reservation:
    """Temporary files created beside each reserved output, renamed into place on commit."""

    def __init__(self) -> None:
        self._temps: dict[Path, tuple[Path, Path, int]] = {}  # key -> (target, temp, mode)
        self._written: list[Path] = []  # files already under their final names
        self._after: list[Callable[[], None]] = []  # run once the targets are in place

    @staticmethod
    def _key(target: str | os.PathLike[str]) -> Path:
        return Path(target).absolute()

    def add(self, target: str | os.PathLike[str], *inputs: str | os.PathLike[str]) -> Path:
        """Check ``target`` (:func:`check_output_file`) and create its temporary file.

        Raises BadInputError naming the path when it is bad, reserved twice, or its
        temporary file cannot be created. Returns the temporary path."""
        target = check_output_file(target, *inputs)
        key = self._key(target)
        if key in self._temps:
            raise BadInputError(f"output path {target} is given twice")
        mode = final_mode(target)
        folder = target.parent if str(target.parent) else Path(".")
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
        except OSError as exc:
            raise BadInputError(f"cannot create output {target}: {exc.strerror}") from None
        os.close(fd)
        self._temps[key] = (target, Path(tmp_name), mode)
        return Path(tmp_name)

    def path(self, target: str | os.PathLike[str]) -> Path | None:
        """The temporary path reserved for ``target``, or None when it is not reserved."""
        entry = self._temps.get(self._key(target))
        return entry[1] if entry else None

    def write_text(self, target: str | os.PathLike[str], text: str) -> None:
        """Write ``text`` into the temporary file of the reserved ``target``."""
        tmp = self.path(target)
        if tmp is None:
            raise KeyError(f"{target} is not a reserved output")
        tmp.write_text(text)

    def commit(self) -> list[Path]:
        """Rename every temporary file onto its target; return the targets."""
        done = []
        for target, tmp, mode in self._temps.values():
            os.chmod(tmp, mode)
            os.replace(tmp, target)
            done.append(target)
        self._temps.clear()
        self._written.clear()
        after, self._after = self._after, []
        for action in after:
            action()
        return done

    def discard(self) -> None:
        """Remove every temporary file; the targets stay as they were."""
        for _, tmp, _ in self._temps.values():
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        for written in self._written:
            with contextlib.suppress(FileNotFoundError):
                written.unlink()
        self._temps.clear()
        self._written.clear()
        self._after.clear()


_ACTIVE: ContextVar[tuple[Reservation, ...]] = ContextVar("linkedonnx_reservations", default=())


def _holder(target: str | os.PathLike[str]) -> Reservation | None:
    """The innermost active reservation that holds ``target``, if any."""
    for reservation in reversed(_ACTIVE.get()):
        if reservation.path(target) is not None:
            return reservation
    return None


def _reserved_temp(target: Path) -> Path | None:
    """The temporary file an active reservation holds for ``target``, if any."""
    holder = _holder(target)
    return holder.path(target) if holder is not None else None


def remove_if_discarded(target: str | os.PathLike[str], written: str | os.PathLike[str]) -> None:
    """Tie ``written`` (a file already under its final name, such as the external data
    file of a model) to the reserved ``target``: it is removed if that reservation is
    discarded (error, Ctrl-C, SIGTERM). Does nothing when ``target`` is not reserved."""
    holder = _holder(target)
    if holder is not None:
        holder._written.append(Path(written))


def after_commit(target: str | os.PathLike[str], action: Callable[[], None]) -> None:
    """Run ``action`` once the reservation holding ``target`` has renamed its outputs
    into place (never when it is discarded); at once when ``target`` is not reserved."""
    holder = _holder(target)
    if holder is None:
        action()
    else:
        holder._after.append(action)


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    """SIGTERM handler while outputs are reserved: unwind like Ctrl-C (temporaries removed)."""
    raise Terminated(f"signal {signum}")


@contextlib.contextmanager
def reserve_outputs(
    *targets: str | os.PathLike[str] | None, inputs: tuple[str | os.PathLike[str], ...] = ()
) -> Iterator[Reservation]:
    """Reserve every output a command will write before its work starts.

    ``targets`` are output files (None entries, and targets an enclosing reservation
    already holds, are skipped); ``inputs`` may not be overwritten. Each target is
    checked and gets its temporary file now; when any
    cannot, BadInputError names it and nothing is left behind. Inside the block,
    :func:`atomic_path` (hence :func:`write_text_atomic`, ``save_model`` and every
    atomic writer) writes a reserved target into its temporary file. On normal exit
    all targets are renamed into place together; on an exception, Ctrl-C or SIGTERM
    (raising linkedonnx.errors.Terminated while the block runs) every temporary is removed.
    Yields the Reservation.
    """
    reservation = Reservation()
    try:
        for target in targets:
            if target is None:
                continue
            if _reserved_temp(Path(target)) is not None:  # the outer reservation commits it
                refuse_overwriting_input(Path(target), *(Path(i) for i in inputs))
                continue
            reservation.add(target, *inputs)
    except BaseException:
        reservation.discard()
        raise
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    token = _ACTIVE.set((*_ACTIVE.get(), reservation))
    try:
        yield reservation
        reservation.commit()
    except BaseException:
        reservation.discard()
        raise
    finally:
        _ACTIVE.reset(token)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    On an exception the temporary file is removed and ``target`` is left as it was.
    Inside :func:`reserve_outputs` a reserved ``target`` yields its reserved temporary
    file instead, renamed when the reservation ends. Raises BadInputError when the
    target's folder does not exist.
    """
    target = Path(target)
    reserved = _reserved_temp(target)
    if reserved is not None:
        yield reserved
        return
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise BadInputError(f"output folder {folder} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, final_mode(target))
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
