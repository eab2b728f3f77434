"""The torchlib registry cache: copies per export, patch undone afterwards."""

from __future__ import annotations

import pytest

from linkedonnx.export import registry_cache


@pytest.mark.skipif(not registry_cache.available(), reason="this torch has no registry API")
def test_cached_registry_hands_out_independent_copies_and_restores() -> None:
    from torch.onnx._internal.exporter import _registration

    original = _registration.ONNXRegistry.__dict__["from_torchlib"]
    with registry_cache.cached_registry():
        first = _registration.ONNXRegistry.from_torchlib(opset_version=18)
        second = _registration.ONNXRegistry.from_torchlib(opset_version=18)
        assert first is not second and first.functions is not second.functions
        assert first.functions.keys() == second.functions.keys() and first.functions
        key = next(iter(first.functions))
        first.functions[key].clear()  # mutating one copy leaves the cache intact
        assert _registration.ONNXRegistry.from_torchlib(opset_version=18).functions[key]
        assert first.opset_version == 18
    assert _registration.ONNXRegistry.__dict__["from_torchlib"] is original
