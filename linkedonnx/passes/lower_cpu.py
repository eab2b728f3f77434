"""Lowering for ONNX Runtime's CPU execution provider (no torch here).

ORT_ENABLE_ALL turns Conv chains into NCHWc blocks; Neg, Min and a Concat of
un-blocked halves break the chain with reorders. The preferred forms below keep the
chain whole; their order comes from ``benchmarks/bench_passes.py --forms`` (see
benchmarks/README.md), and ``optimize(..., tune=True)`` re-times them for a given model.
"""

from __future__ import annotations

from linkedonnx.passes.lower_linked import LowerLinkedPass

#: kind -> forms tried in order (inline is the final fallback), from measurement.
CPU_PREFERENCE: dict[str, tuple[str, ...]] = {
    "relu": ("split", "dw", "stacked"),
    "relu-minmax": ("split", "stacked"),
    "prelu": ("split", "stacked"),
    "selu": ("stacked",),
    "swish": ("stacked",),
}


def lower_for_cpu(preference: dict[str, tuple[str, ...]] | None = None) -> LowerLinkedPass:
    """The CPU lowering pass (``preference`` overrides the measured default)."""
    return LowerLinkedPass(preference or CPU_PREFERENCE, name="LowerForCpu")
