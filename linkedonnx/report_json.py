"""The JSON reports linkedonnx writes (every ``--json`` file): one schema version and
one writer, so that each file says which description (README, "JSON reports") it follows."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: Version of the fields the JSON reports carry; raised when a field changes meaning or
#: goes away (adding a field keeps it).
SCHEMA_VERSION = 1

#: Third-party warnings (log records, Python warnings) kept off stderr during this run;
#: the CLI fills it (linkedonnx_cli.verbosity) and every report lists them.
KEPT_WARNINGS: list[str] = []


def report_text(payload: Mapping[str, Any]) -> str:
    """``payload`` as indented JSON text with ``schema_version`` first and ``warnings``
    (:data:`KEPT_WARNINGS` so far) last; ends with a newline."""
    data = {"schema_version": SCHEMA_VERSION, **payload, "warnings": list(KEPT_WARNINGS)}
    return json.dumps(data, indent=2) + "\n"


class JsonReport:
    """A report written as one of these files: a subclass gives ``to_dict``, and
    ``to_json`` is its :func:`report_text`."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (subclasses)."""
        raise NotImplementedError

    def to_json(self) -> str:
        """The report as indented JSON text with ``schema_version`` (ends with a newline)."""
        return report_text(self.to_dict())
