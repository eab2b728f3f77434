"""A kind added after the registry names itself only in its kind module and the
registry: the package files that name LK-GELU are listed here."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "linkedonnx"


def files_naming(word: str) -> list[str]:
    """The package's Python files (relative paths) that contain ``word``, any case."""
    return sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if word in path.read_text(encoding="utf-8").lower()
    )


def test_only_its_kind_module_and_the_registry_name_gelu() -> None:
    assert files_naming("gelu") == ["kinds/__init__.py", "kinds/gelu.py"]
