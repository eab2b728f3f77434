"""Reading ``.npz`` archives as named numpy arrays with one-line errors (no torch, no
pickles): the one reader behind labelled data files and custom model inputs."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from linkedonnx.errors import BadInputError


def read_npz_arrays(path: str | os.PathLike[str], what: str) -> tuple[Path, dict[str, np.ndarray]]:
    """Every array of the .npz at ``path`` by name (``what`` names the file in errors).
    Returns (the checked path, arrays). Raises BadInputError for a missing, empty or
    unreadable file, a single .npy array, or pickled (object) arrays."""
    from linkedonnx.onnx_io import check_readable_file

    p = check_readable_file(path, what)
    try:
        with np.load(Path(p), allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise BadInputError(f"{p} is a single .npy array; expected a .npz archive")
            arrays = {key: archive[key] for key in archive.files}
    except BadInputError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise BadInputError(f"{p} is not a readable .npz file ({type(exc).__name__})") from None
    return p, arrays
