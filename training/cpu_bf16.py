"""An Axolotl plugin that lets `bf16: true` train on a CPU (Intel AMX and AVX-512 BF16 run bf16 matrix products
several times faster than fp32).

Axolotl passes `bf16` to transformers' TrainingArguments, which refuses it without a GPU unless `use_cpu` is set
("Your setup doesn't support bf16/gpu"). On a machine without CUDA this plugin sets `use_cpu`; with CUDA it does
nothing, so a recipe that lists it trains the same on a GPU. List it in a recipe's `plugins:`.
"""

from __future__ import annotations

from axolotl.integrations.base import BasePlugin


class CpuBf16Plugin(BasePlugin):
    def get_training_args(self, cfg):
        import torch

        if torch.cuda.is_available() or not (cfg.bf16 or cfg.bfloat16):
            return None
        return {"use_cpu": True}
