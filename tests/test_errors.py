"""The one helper that shortens an error to its first line."""

from __future__ import annotations

import pytest

from linkedonnx.errors import first_line


@pytest.mark.parametrize(
    ("error", "default", "expected"),
    [
        (ValueError("  bad thing\nmore detail\n"), None, "bad thing"),
        (ValueError(""), None, "ValueError"),
        (ValueError("   "), "", ""),
        (KeyError("k"), None, "'k'"),
        ("message\nrest", None, "message"),
        ("", None, ""),
        ("", "unknown error", "unknown error"),
    ],
)
def test_first_line(error: BaseException | str, default: str | None, expected: str) -> None:
    assert first_line(error, default) == expected
