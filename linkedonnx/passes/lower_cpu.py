"""Lowering for ONNX Runtime's CPU execution provider (no torch here).

ORT_ENABLE_ALL turns Conv chains into NCHWc blocks; Neg, Min and a Concat of
un-blocked halves break the chain with reorders. The preferred forms below keep the
chain whole; their order comes from ``benchmarks/bench_passes.py --forms`` (see
benchmarks/README.md). This table is the machine-independent choice (``optimize
--no-tune``, a CUDA target's fallback); optimize's CPU default times the forms on the
model and machine instead (:mod:`linkedonnx.passes.site_search`).
"""

from __future__ import annotations

from linkedonnx.kinds import KINDS
from linkedonnx.passes.lower_linked import LowerLinkedPass

#: kind -> forms tried in order (inline is the final fallback): each registered kind's
#: ``lowering.cpu_forms``, from measurement (``python benchmarks/bench_passes.py
#: --all-kinds``, AllCNN-C, 2 threads, batch 1/32): split beat dw and inline for ReLU;
#: stacked (doubling the producer conv's work) ran about 2x slower than inline for every
#: kind, so it is never preferred; for Swish dw and inline tied, for SELU nothing beat
#: inline (Selu has no NCHWc kernel).
CPU_PREFERENCE: dict[str, tuple[str, ...]] = {
    name: k.lowering.cpu_forms for name, k in KINDS.items()
}


def lower_for_cpu(preference: dict[str, tuple[str, ...]] | None = None) -> LowerLinkedPass:
    """The CPU lowering pass (``preference`` overrides the measured default)."""
    return LowerLinkedPass(preference or CPU_PREFERENCE, name="LowerForCpu")
