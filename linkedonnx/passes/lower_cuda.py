"""Lowering for ONNX Runtime's CUDA execution provider (no torch here).

Every linked node is inlined into standard ops before the artifact ships: ORT issue
27873 fails CUDA session creation when an op inside a local function lacks a CUDA
kernel for the dtype. The plain inline form is kept on the GPU because cuDNN runs
NCHW convs directly (there is no NCHWc reorder chain to protect), the Neg/Relu/Concat
it adds are cheap memory-bound kernels next to the convs, and the split form would
double the conv launches while the stacked form doubles the producer's arithmetic.
It is tested for parity on the CPU (no GPU build of ORT here).
"""

from __future__ import annotations

from linkedonnx.kinds import KINDS
from linkedonnx.passes.lower_linked import LowerLinkedPass

#: kind -> forms tried in order: inline only, for every registered kind.
CUDA_PREFERENCE: dict[str, tuple[str, ...]] = {k: ("inline",) for k in KINDS}


def lower_for_cuda() -> LowerLinkedPass:
    """The CUDA lowering pass (every linked node left for inlining)."""
    return LowerLinkedPass(CUDA_PREFERENCE, name="LowerForCuda")
