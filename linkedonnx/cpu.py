"""The CPU this process runs on, read from ``/proc/cpuinfo`` (no torch here): its model
name and feature flags, for quantize's 8-bit ISA (:mod:`linkedonnx.quantize.isa`) and
optimize's timing cache (:mod:`linkedonnx.passes.form_cache`)."""

from __future__ import annotations

import platform
from pathlib import Path


def _field(cpuinfo: str | None, keys: tuple[str, ...], skip_empty: bool = False) -> str | None:
    """The value of the first line of ``cpuinfo`` (default: ``/proc/cpuinfo``, '' when
    unreadable) whose key is one of ``keys`` (and, with ``skip_empty``, whose value is
    not blank); None when there is none."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            cpuinfo = ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in keys and (value.strip() or not skip_empty):
            return value
    return None


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """Return the CPU's feature flags from ``/proc/cpuinfo`` (or the given text): the
    'flags' line on x86, 'Features' on ARM; an empty set when neither can be read."""
    return set((_field(cpuinfo, ("flags", "Features")) or "").split())


def cpu_model(cpuinfo: str | None = None) -> str:
    """Return the CPU's model name from ``/proc/cpuinfo`` (or the given text; 'model
    name' on x86, 'CPU part' on ARM), else the machine name (e.g. 'x86_64')."""
    name = _field(cpuinfo, ("model name", "CPU part"), skip_empty=True)
    return name.strip() if name is not None else platform.machine() or "unknown CPU"
