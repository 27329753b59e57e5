"""Which floating-point type a model runs in on this machine's CPU: one decision for prediction and training."""

from __future__ import annotations


def cpu_has_bf16_unit() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware: Intel AMX or AVX-512 BF16 (Sapphire Rapids, AMD Zen 4
    and later). Elsewhere (AVX2 only: Zen 3, Skylake) torch emulates bf16, several times slower than fp32: 4.7× on
    an AMD EPYC Zen 3 (`llmner predict-labels` on 64 AG News items, 221 s against 47 s)."""
    import torch

    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
