"""The CPU reader shared by quantize's ISA and optimize's timing cache."""

from __future__ import annotations

import platform

from linkedonnx.cpu import cpu_flags, cpu_model

X86 = "processor\t: 0\nmodel name\t: AMD EPYC 9554\nflags\t\t: fpu avx2 avx512f\n"
ARM = "processor\t: 0\nFeatures\t: fp asimd i8mm\nCPU part\t: 0xd40\n"


def test_model_and_flags_on_x86_and_arm() -> None:
    assert cpu_model(X86) == "AMD EPYC 9554" and cpu_flags(X86) == {"fpu", "avx2", "avx512f"}
    assert cpu_model(ARM) == "0xd40" and "i8mm" in cpu_flags(ARM)


def test_a_blank_model_name_is_skipped_and_nothing_falls_back() -> None:
    assert cpu_model("model name\t:\nmodel name\t: Second\n") == "Second"
    assert cpu_model("nothing here") == (platform.machine() or "unknown CPU")
    assert cpu_flags("nothing here") == set()
