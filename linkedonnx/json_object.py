"""Reading one JSON object from text (a metadata string, a spec), with one-line errors."""

from __future__ import annotations

import json
from typing import Any

from linkedonnx.errors import BadInputError


def parse_json_object(text: str, what: str) -> dict[str, Any]:
    """The JSON object ``text`` holds. Raises BadInputError '``what`` is not valid JSON'
    or '``what`` is not a JSON object'."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise BadInputError(f"{what} is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{what} is not a JSON object")
    return data
