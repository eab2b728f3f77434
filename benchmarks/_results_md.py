"""The marked section each benchmark script rewrites in RESULTS.md, shared by the scripts
(standard library only): which file a run writes to, and the atomic rewrite."""

from __future__ import annotations

import os
from pathlib import Path


def results_md_target(given: Path | None, *, quick: bool, off: bool, default: Path) -> Path | None:
    """The Markdown file a run rewrites: None with ``off`` (--no-results-md), else
    ``given`` (--results-md), else ``default`` unless the run is ``quick`` (a smoke run
    writes none unless asked)."""
    if off:
        return None
    if given is None and not quick:
        return default
    return given


def replace_marked_section(
    path: Path, section: str, begin: str, end: str, heading: str | None = None
) -> None:
    """Replace the text of ``path`` from the marker ``begin`` to the marker ``end`` with
    ``section`` (which carries both markers), atomically (temp file, then rename). When
    the markers are missing: ``section`` is appended under the Markdown ``heading`` (a
    missing file starts empty), or, without a heading, ValueError is raised (a missing
    file raises FileNotFoundError)."""
    text = path.read_text() if heading is None or path.exists() else ""
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        if heading is None:
            raise ValueError(f"{path} has no {begin} ... {end} section")
        new = text.rstrip("\n") + f"\n\n{heading}\n\n" + section + "\n"
    else:
        new = text[:start] + section + text[stop + len(end) :]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(new)
    os.replace(tmp, path)
