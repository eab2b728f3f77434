"""The CPU's 8-bit instruction set, read at run time (no torch here).

ONNX Runtime's guidance for static quantization on x86: with VNNI (AVX-512 VNNI or
AVX-VNNI) use u8 activations and s8 weights at full range; on AVX2 without VNNI the
u8 x s8 multiply-add can saturate, so quantize weights to 7 bits (``reduce_range``).
"""

from __future__ import annotations

import platform
from dataclasses import dataclass

from linkedonnx.cpu import cpu_flags

#: The flags that decide ORT's 8-bit kernels (recorded in reports and model metadata).
INT8_FLAGS = (
    "sse4_1",
    "avx2",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx_vnni",
    "amx_int8",
    "amx_tile",
    "asimddp",
    "i8mm",
)
VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


@dataclass(frozen=True)
class Int8Isa:
    """What the CPU offers for 8-bit inference and the setting that follows from it."""

    machine: str
    flags: tuple[str, ...]
    vnni: bool
    reduce_range: bool

    def describe(self) -> str:
        """One line, e.g. 'x86_64 avx2 avx512_vnni (VNNI: full-range weights)'."""
        why = (
            "VNNI: full-range weights"
            if self.vnni
            else "no VNNI: 7-bit weights (reduce_range)"
            if self.reduce_range
            else "no VNNI, not AVX2-only: full-range weights"
        )
        return f"{self.machine} {' '.join(self.flags) or '(no flags read)'} ({why})"


def detect(flags: set[str] | None = None, machine: str | None = None) -> Int8Isa:
    """Return the 8-bit ISA of this CPU (or of the given ``flags`` / ``machine``, for
    tests): ``reduce_range`` is True on x86 with AVX2 and no VNNI, as ORT advises."""
    flags = cpu_flags() if flags is None else flags
    machine = machine or platform.machine()
    vnni = any(f in flags for f in VNNI_FLAGS)
    x86 = machine.lower() in ("x86_64", "amd64", "i686", "x86")
    reduce_range = x86 and "avx2" in flags and not vnni
    return Int8Isa(machine, tuple(f for f in INT8_FLAGS if f in flags), vnni, reduce_range)
