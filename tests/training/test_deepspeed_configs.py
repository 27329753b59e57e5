"""The DeepSpeed configs do what deepspeed_configs/README.md says, read the way a run reads them: the Trainer fills
the "auto" values from the recipe (HfTrainerDeepSpeedConfig, the model's hidden size included), accelerate's own
DeepSpeedPlugin takes the result, and DeepSpeed's config class says what the engine will do. (ZeRO does not start on
this CPU through accelerate, so these are the effective settings, not a run.)"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from llmner.core.recipes import load_recipe
from tests.constants import ROOT

CONFIGS = ROOT / "deepspeed_configs"
RECIPE = ROOT / "recipes" / "ds15b_fft.yml"
HIDDEN = 1536  # DeepSeek-R1-Distill-Qwen-1.5B, the recipe's model


def effective(name: str, tmp_path):
    """DeepSpeed's reading of `name` after the Trainer and accelerate have filled it for the recipe."""
    from accelerate.utils import DeepSpeedPlugin
    from deepspeed.runtime.config import DeepSpeedConfig
    from transformers import TrainingArguments
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    recipe = load_recipe(RECIPE)
    defaults = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to=[])
    args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=recipe["micro_batch_size"],
                             gradient_accumulation_steps=recipe["gradient_accumulation_steps"],
                             learning_rate=recipe["learning_rate"], weight_decay=recipe["weight_decay"],
                             adam_beta1=recipe.get("adam_beta1", defaults.adam_beta1),
                             adam_beta2=recipe.get("adam_beta2", defaults.adam_beta2),
                             adam_epsilon=recipe.get("adam_epsilon", defaults.adam_epsilon),
                             max_grad_norm=recipe["max_grad_norm"], bf16=True, use_cpu=True, report_to=[])
    hf_config = HfTrainerDeepSpeedConfig(json.loads((CONFIGS / name).read_text()))
    hf_config.trainer_config_process(args)
    model = SimpleNamespace(config=SimpleNamespace(hidden_size=HIDDEN, hidden_sizes=None))
    hf_config.trainer_config_finalize(args, model, num_training_steps=100)
    plugin = DeepSpeedPlugin(hf_ds_config=hf_config)
    assert '"auto"' not in json.dumps({k: v for k, v in plugin.deepspeed_config.items() if k != "_comment"})
    return DeepSpeedConfig(plugin.deepspeed_config), args


@pytest.mark.parametrize("name", ["zero3.json", "zero3_cpuoffload.json"])
def test_zero3_prefetches_within_a_stated_budget(name, tmp_path):
    """`stage3_max_live_parameters: 0` capped what ZeRO-3 may prefetch at 0 - n_available, so nothing was ever
    prefetched (deepspeed/runtime/zero/partitioned_param_coordinator.py: min(max_live - available, bucket)): every
    layer waited for its own all-gather. The budget now: 1e9 parameters gathered at once (2 GB of bf16 per GPU)."""
    config, _ = effective(name, tmp_path)
    zero = config.zero_config
    assert zero.stage == 3
    assert zero.max_live_parameters == 1_000_000_000 and zero.max_reuse_distance == 1_000_000_000
    assert zero.prefetch_bucket_size == int(0.9 * HIDDEN * HIDDEN)  # the Trainer's fill from the hidden size
    assert min(zero.max_live_parameters, zero.prefetch_bucket_size) > 0


def test_the_offload_config_runs_the_optimizer_it_names_with_the_recipes_settings(tmp_path):
    """Without an optimizer block accelerate swapped the recipe's adamw_torch_fused for DeepSpeedCPUAdam built with
    the learning rate and weight decay only (accelerate/utils/deepspeed.py, map_pytorch_optim_to_deepspeed). Now
    DeepSpeed builds AdamW from the config (engine: DeepSpeedCPUAdam in AdamW mode, since the optimizer states live
    on the CPU) with every setting of the recipe."""
    config, args = effective("zero3_cpuoffload.json", tmp_path)
    assert config.zero_config.offload_optimizer.device == "cpu" and config.zero_config.offload_param.device == "cpu"
    assert config.optimizer_name == "adamw"
    assert config.optimizer_params == {"lr": args.learning_rate, "betas": [args.adam_beta1, args.adam_beta2],
                                       "eps": args.adam_epsilon, "weight_decay": args.weight_decay}
    comment = " ".join(json.loads((CONFIGS / "zero3_cpuoffload.json").read_text())["_comment"])
    readme = (CONFIGS / "README.md").read_text()
    assert "DeepSpeedCPUAdam" in comment and "DeepSpeedCPUAdam" in readme


def test_zero2_keeps_the_recipes_optimizer(tmp_path):
    """No offload, no optimizer block: the Trainer's own adamw_torch_fused runs under ZeRO-2."""
    config, _ = effective("zero2.json", tmp_path)
    assert config.zero_optimization_stage == 2 and config.optimizer_name is None
    assert config.zero_config.offload_optimizer is None
