"""What a recipe costs: optimizer steps per epoch for a GPU count, and GPU memory from the arithmetic (weights,
gradients, optimizer states, activations at micro batch × sequence length). The recipe headers state these figures;
tests/test_recipe_budget.py checks each header against these functions.

    python -m training.budget recipes/ds15b_qlora.yml     # prints the estimate and its parts

Memory model, per GPU, no DeepSpeed sharding (the headers' "1× GPU" case):
- weights: bf16 (2 B/param); QLoRA stores the transformer blocks' linear layers in nf4 with double quantisation
  (0.516 B/param: 4 bits plus 0.127 bits of scales) and keeps embeddings and lm_head in bf16.
- LoRA adapters (fp32): weight + gradient + AdamW's two moments = 16 B per trainable parameter.
- full fine-tune under DeepSpeed ZeRO on one GPU (ds15b_fft.yml): bf16 gradient 2 + fp32 master weight 4 + its fp32
  gradient 4 + AdamW's two fp32 moments 8 = 18 B per parameter besides the bf16 weight; N GPUs divide the 16 B of
  fp32 state by N (ZeRO-2).
- activations kept for backward, bf16, per token per layer with flash attention (no attention matrix) and Liger's
  RMSNorm and SwiGLU (which recompute the activation): norms' and projections' inputs 12·H, q/k/v outputs 4·KV,
  gate and up outputs and the down projection's input 6·I bytes. Liger's fused linear cross-entropy never
  materialises the logits. Gradient checkpointing keeps each layer's input only (2·H) and one layer's full set.
- a fixed 1.5 GiB for the CUDA context, kernel workspaces and allocator slack.
It is an estimate to choose a card with, not a measurement; benchmarks/RESULTS.md holds measured peaks.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import click
import yaml

CONFIGS = Path(__file__).resolve().parent.parent / "benchmarks" / "configs"  # published config.json of each base
MODEL_CONFIGS = {"deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B": "deepseek_r1_distill_qwen_1.5b.json",
                 "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B": "deepseek_r1_distill_qwen_7b.json",
                 "deepseek-ai/DeepSeek-R1-Distill-Llama-8B": "deepseek_r1_distill_llama_8b.json",
                 "meta-llama/Llama-3.2-1B-Instruct": "llama_3.2_1b_instruct.json",
                 "Qwen/Qwen2.5-1.5B-Instruct": "qwen2.5_1.5b_instruct.json",
                 "HuggingFaceTB/SmolLM2-135M-Instruct": "smollm2_135m_instruct.json",
                 "models/smollm2-135m-instruct": "smollm2_135m_instruct.json"}  # make model's folder
GIB = 2**30
NF4_BYTES = 0.516
OVERHEAD_GIB = 1.5
LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def model_config(base_model: str) -> dict:
    return json.loads((CONFIGS / MODEL_CONFIGS[base_model]).read_text())


def linear_shapes(config: dict) -> dict[str, tuple[int, int]]:
    """(in, out) of each linear layer of one transformer block."""
    hidden, inter = config["hidden_size"], config["intermediate_size"]
    kv = config["num_key_value_heads"] * hidden // config["num_attention_heads"]
    return {"q_proj": (hidden, hidden), "k_proj": (hidden, kv), "v_proj": (hidden, kv), "o_proj": (hidden, hidden),
            "gate_proj": (hidden, inter), "up_proj": (hidden, inter), "down_proj": (inter, hidden)}


def parameter_counts(config: dict) -> tuple[int, int]:
    """(embedding and lm_head parameters, transformer-block linear parameters); norms and biases are negligible."""
    embeddings = config["vocab_size"] * config["hidden_size"] * (1 if config["tie_word_embeddings"] else 2)
    block = sum(i * o for i, o in linear_shapes(config).values()) * config["num_hidden_layers"]
    return embeddings, block


def lora_parameters(recipe: dict, config: dict) -> int:
    targets = LINEARS if recipe.get("lora_target_linear") else recipe["lora_target_modules"]
    shapes = linear_shapes(config)
    return recipe["lora_r"] * sum(sum(shapes[name]) for name in targets) * config["num_hidden_layers"]


def activation_bytes_per_token(config: dict, checkpointing: bool) -> float:
    hidden, inter, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    kv = config["num_key_value_heads"] * hidden // config["num_attention_heads"]
    per_layer = 12 * hidden + 4 * kv + 6 * inter
    return layers * 2 * hidden + per_layer if checkpointing else layers * per_layer


def memory_parts(recipe: dict) -> dict[str, float]:
    """GiB per part for one GPU running the recipe as written."""
    config = model_config(recipe["base_model"])
    embeddings, block = parameter_counts(config)
    if recipe.get("adapter"):
        weight_bytes = 2 * embeddings + (NF4_BYTES if recipe.get("load_in_4bit") else 2) * block
        state_bytes = 16 * lora_parameters(recipe, config)
    else:
        weight_bytes, state_bytes = 2 * (embeddings + block), 18 * (embeddings + block)
    tokens = recipe["micro_batch_size"] * recipe["sequence_len"]
    activations = tokens * activation_bytes_per_token(config, bool(recipe.get("gradient_checkpointing")))
    return {"weights": weight_bytes / GIB, "trainable_states": state_bytes / GIB,
            "activations": activations / GIB, "overhead": OVERHEAD_GIB}


def estimate_gib(recipe: dict) -> float:
    return sum(memory_parts(recipe).values())


def optimizer_steps_per_epoch(rows: int, micro_batch_size: int, gradient_accumulation_steps: int, gpus: int) -> int:
    """As the Trainer counts them: batches per GPU, then one step per accumulation (a partial one included)."""
    batches = math.ceil(rows / (micro_batch_size * gpus))
    return math.ceil(batches / gradient_accumulation_steps)


def recipe_steps(recipe: dict, rows: int, gpus: int = 1) -> int:
    """Optimizer steps of a whole run over `rows` training rows (examples, or packed rows when packing)."""
    per_epoch = optimizer_steps_per_epoch(rows, recipe["micro_batch_size"], recipe["gradient_accumulation_steps"], gpus)
    return per_epoch * recipe["num_epochs"]


@click.command()
@click.argument("recipe", type=click.Path(exists=True, dir_okay=False))
def main(recipe):
    config = yaml.safe_load(Path(recipe).read_text())
    parts = memory_parts(config)
    click.echo(" + ".join(f"{name} {value:.1f}" for name, value in parts.items()) + f" = {sum(parts.values()):.1f} GiB")


if __name__ == "__main__":
    main()
