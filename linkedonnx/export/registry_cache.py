"""Reuse torch.onnx's torchlib registry between exports in one process.

``torch.onnx.export(dynamo=True)`` rebuilds its ATen->ONNX registry on every call by
re-parsing the source of ~500 onnxscript functions: about 2 s per export on a small
CPU, more than the rest of a small model's export. Exporting the whole zoo (tests, the
``export`` benchmark) pays that for every model. :func:`cached_registry` builds each
opset's registry once and hands every export a fresh copy of its tables (the
decomposition entries themselves are shared read-only).

This touches a private torch API (``torch.onnx._internal.exporter._registration``);
when it is not there (another torch version), the context manager does nothing and
exports are merely slower.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

try:  # private API: optional speed-up only
    from torch.onnx._internal.exporter import _registration
except ImportError:  # pragma: no cover - other torch versions
    _registration = None  # type: ignore[assignment]

_CACHE: dict[Any, Any] = {}


def _copy(registry: Any) -> Any:
    """A registry with its own tables (lists copied) over the shared entries."""
    fresh = type(registry)()
    fresh._opset_version = registry._opset_version
    fresh.functions = {key: list(value) for key, value in registry.functions.items()}
    return fresh


def available() -> bool:
    """True when this torch has the registry API the cache patches."""
    registry_class = getattr(_registration, "ONNXRegistry", None)
    return registry_class is not None and hasattr(registry_class, "from_torchlib")


@contextlib.contextmanager
def cached_registry() -> Iterator[None]:
    """Within the block, ``ONNXRegistry.from_torchlib`` returns copies of a per-opset
    cached registry. Not thread-safe (it patches a class attribute)."""
    if not available():
        yield
        return
    registry_class = _registration.ONNXRegistry
    original = registry_class.__dict__["from_torchlib"]
    build = original.__func__

    def from_torchlib(cls: type, *args: Any, **kwargs: Any) -> Any:
        key = (cls, args, tuple(sorted(kwargs.items())))
        if key not in _CACHE:
            _CACHE[key] = build(cls, *args, **kwargs)
        return _copy(_CACHE[key])

    registry_class.from_torchlib = classmethod(from_torchlib)
    try:
        yield
    finally:
        registry_class.from_torchlib = original
