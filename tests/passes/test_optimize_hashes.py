"""Every covered zoo model (every family × every linked kind, default geometry) optimizes,
per target (cpu and cuda with the machine-independent table, and cpu float16), to the
bytes it gave before issue 23's refactor: sha256 against tests/data/optimize_hashes.json,
ignoring the ``linkedonnx.version`` metadata entry."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from tests.passes.optimize_hashes import (
    HASHES,
    MODELS,
    TARGETS,
    export_zoo,
    optimized_hashes,
)


def test_hash_table_covers_every_model_and_target() -> None:
    table = json.loads(HASHES.read_text())
    assert sorted(table) == sorted(MODELS)
    assert all(sorted(v) == sorted(TARGETS) for v in table.values())


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_zoo_model_optimizes_to_the_recorded_bytes(name: str) -> None:
    expected = json.loads(HASHES.read_text())[name]
    assert optimized_hashes(export_zoo(name)) == expected
