"""SOURCE strings parsed, and nothing else: ``zoo:NAME``, an ``.onnx`` file or a
checkpoint path. This is the one SOURCE parser (export, inspect, validate and
:mod:`linkedonnx.sources` use it); it imports neither torch nor the zoo, so the ONNX
side (validate) can use it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from linkedonnx.errors import BadInputError

ZOO_PREFIX = "zoo:"
SourceKind = Literal["zoo", "checkpoint", "onnx"]


@dataclass(frozen=True)
class SourceRef:
    """A parsed SOURCE string: its ``kind`` and the ``text`` as given. ``name`` is the
    zoo name (kind 'zoo'), ``path`` the file (kinds 'checkpoint' and 'onnx')."""

    kind: SourceKind
    text: str

    @property
    def name(self) -> str:
        """The zoo model name after 'zoo:' ('' for a file)."""
        return self.text[len(ZOO_PREFIX) :] if self.kind == "zoo" else ""

    @property
    def path(self) -> Path:
        """The file named (raises BadInputError for a zoo source)."""
        if self.kind == "zoo":
            raise BadInputError(f"SOURCE {self.text} names a zoo model, not a file")
        return Path(self.text)


def parse_source(source: str | os.PathLike[str]) -> SourceRef:
    """Parse SOURCE: 'zoo:NAME' -> kind 'zoo'; a path ending in '.onnx' (any case) ->
    'onnx'; any other path -> 'checkpoint'. The file is not opened. Raises
    BadInputError for 'zoo:' with no name or an empty string."""
    text = os.fspath(source)
    if not text:
        raise BadInputError("SOURCE is empty; expected zoo:NAME or a file")
    if text.startswith(ZOO_PREFIX):
        if not text[len(ZOO_PREFIX) :]:
            raise BadInputError("SOURCE 'zoo:' names no model; try 'linkedonnx zoo'")
        return SourceRef("zoo", text)
    if text.lower().endswith(".onnx"):
        return SourceRef("onnx", text)
    return SourceRef("checkpoint", text)
