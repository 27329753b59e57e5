"""An Axolotl plugin that lets `bf16: true` train on a CPU with a bf16 unit (Intel AMX and AVX-512 BF16 run bf16
matrix products several times faster than fp32), and trains in fp32 on a CPU without one, where torch emulates bf16
several times slower than fp32 (core/precision.py).

Axolotl passes `bf16` to transformers' TrainingArguments, which refuses it without a GPU unless `use_cpu` is set
("Your setup doesn't support bf16/gpu"). On a machine without CUDA this plugin sets `use_cpu`; with CUDA it does
nothing, so a recipe that lists it trains the same on a GPU. List it in a recipe's `plugins:`.
"""

from __future__ import annotations

import logging

from axolotl.integrations.base import BasePlugin

LOG = logging.getLogger(__name__)


class CpuBf16Plugin(BasePlugin):
    def register(self, cfg: dict):
        """Before Axolotl picks the weights' dtype from `bf16`: fp32 on a CPU without a bf16 unit, said once."""
        import torch

        from llmner.core.precision import cpu_has_bf16_unit

        if cfg.get("bf16") is True and not torch.cuda.is_available() and not cpu_has_bf16_unit():
            LOG.warning("bf16: true trains in fp32 here: this CPU has no bf16 unit (AMX, AVX-512 BF16), and emulated "
                        "bf16 is several times slower than fp32")
            cfg["bf16"] = False

    def get_training_args(self, cfg):
        import torch

        if torch.cuda.is_available() or not (cfg.bf16 or cfg.bfloat16):
            return None
        return {"use_cpu": True}
