"""The JSON reports linkedonnx writes (every ``--json`` file): one schema version and
one writer, so that each file says which description (README, "JSON reports") it follows."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: Version of the fields the JSON reports carry; raised when a field changes meaning or
#: goes away (adding a field keeps it).
SCHEMA_VERSION = 1


def report_text(payload: Mapping[str, Any]) -> str:
    """``payload`` as indented JSON text with ``schema_version`` first; ends with a newline."""
    return json.dumps({"schema_version": SCHEMA_VERSION, **payload}, indent=2) + "\n"
