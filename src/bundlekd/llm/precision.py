"""Which float type a local model computes in: bf16 only where the hardware computes it natively.

bf16 halves the weights' memory and, on CPUs with AVX512-BF16 or AMX, prefills 2-2.5x faster
than fp32. On CPUs without them (e.g. AVX2-only AMD EPYC) torch emulates bf16: generation ran
3x slower and a training matmul 20x slower than fp32 (RUNTIME.md). So "auto" asks the CPU.

The answer comes from torch's own cpuinfo read-out (`torch.cpu.get_capabilities()`), narrowed by
what torch and oneDNN were told they may use (`ATEN_CPU_CAPABILITY`, `ONEDNN_MAX_CPU_ISA`): a
process limited to AVX2 kernels computes bf16 as slowly as an AVX2 CPU does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bundlekd.errors import ConfigError

DtypeSetting = Literal["auto", "bfloat16", "float32", "float16"]
DTYPE_SETTINGS: tuple[str, ...] = ("auto", "bfloat16", "float32", "float16")

# x86: AVX512-BF16 (Cooper Lake, Zen 4+) or AMX (Sapphire Rapids+); ARM: the BF16 extension.
_NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16", "bf16", "sve_bf16")
# Env limits below which bf16 is emulated even on a capable CPU.
_LIMITED_ATEN = {"default", "avx2"}
_ONEDNN_BF16_ISAS = ("AVX512_CORE_BF16", "AVX512_CORE_AMX", "AVX10", "ALL")


@dataclass(frozen=True)
class DtypeChoice:
    """The dtype a model runs in and why (recorded in manifests and `config show`)."""

    dtype: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"dtype": self.dtype, "dtype_reason": self.reason}


def cpu_capabilities() -> Mapping[str, Any]:
    """torch's cpuinfo read-out of this CPU (flags like avx2, avx512_bf16, amx_bf16)."""
    import torch

    return torch.cpu.get_capabilities()


def cpu_summary(capabilities: Mapping[str, Any] | None = None) -> str:
    """One line for benchmark headers: CPU name, torch's kernel level, bf16 support."""
    caps = cpu_capabilities() if capabilities is None else capabilities
    import torch

    native, why = native_cpu_bf16(caps)
    return (
        f"{caps.get('cpu_name', '?')} ({caps.get('num_physical_cores', '?')} cores), "
        f"torch kernels {torch.backends.cpu.get_cpu_capability()}, "
        f"bf16 {'native' if native else 'emulated'} ({why})"
    )


def native_cpu_bf16(
    capabilities: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> tuple[bool, str]:
    """Whether this process computes bf16 natively on the CPU, and the evidence."""
    env = os.environ if environ is None else environ
    flags = [flag for flag in _NATIVE_BF16_FLAGS if capabilities.get(flag)]
    if not flags:
        return False, "no avx512_bf16/amx_bf16 on this CPU"
    aten = env.get("ATEN_CPU_CAPABILITY", "").strip().lower()
    if aten in _LIMITED_ATEN:
        return False, f"ATEN_CPU_CAPABILITY={aten} limits torch's kernels"
    onednn = env.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    if onednn and not onednn.startswith(_ONEDNN_BF16_ISAS):
        return False, f"ONEDNN_MAX_CPU_ISA={onednn} limits oneDNN's kernels"
    return True, "+".join(flags)


def resolve_dtype(
    setting: str,
    device: str,
    *,
    capabilities: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> DtypeChoice:
    """The dtype for `setting` ("auto" or an explicit one) on a resolved `device`.

    Args:
        setting: "auto", "bfloat16", "float32" or "float16".
        device: "cpu", "cuda" or "cuda:N" (already resolved, not "auto").
        capabilities: the CPU's flags (default: torch's read-out); tests pass fakes.
        environ: the environment to read kernel limits from (default: os.environ).
    """
    if setting not in DTYPE_SETTINGS:
        raise ConfigError(f"dtype must be one of {', '.join(DTYPE_SETTINGS)}, got {setting!r}")
    if setting != "auto":
        return DtypeChoice(setting, "set explicitly")
    if device.startswith("cuda"):
        import torch

        if torch.cuda.is_bf16_supported():
            return DtypeChoice("bfloat16", "the GPU computes bf16 natively")
        return DtypeChoice("float32", "the GPU has no bf16")
    caps = cpu_capabilities() if capabilities is None else capabilities
    native, why = native_cpu_bf16(caps, environ)
    if native:
        return DtypeChoice("bfloat16", f"the CPU computes bf16 natively ({why})")
    return DtypeChoice("float32", f"bf16 would be emulated: {why}")
