"""Derive the CPU twin of a recipe: the same YAML with only the model swapped for a tiny random-initialised one
(tokenizer trained on the fly on the recipe's own data, 2-layer Qwen2 or Llama), CPU settings and fewer steps.

    llmner twin recipes/ds15b_fft.yml --out-dir runs/twin_ds15b_fft [--data FILE] [--examples 200]
    llmner train runs/twin_ds15b_fft/twin.yml

Everything else (template, masking, dataset type, LoRA/QLoRA settings, optimizer) stays as the recipe says, so a
twin that trains proves the recipe's path; only what needs a GPU or a download is changed, and each change is listed
in CPU_OVERRIDES or done below with a reason.
"""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from llmner.core import options
from llmner.core.errors import DataError
from llmner.core.io import check_writable, write_jsonl
from llmner.core.recipes import load_recipe
from llmner.core.schemas import Example, read_examples
from llmner.training.budget import MODEL_CONFIGS, model_config
from llmner.training.settings import first_dataset, positive_int, setting

# Special tokens of each chat template, as the real tokenizers have them.
TEMPLATE_TOKENS = {
    "deepseek_v3": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>",
                    "pad_token": "<｜▁pad▁｜>", "extra": ["<｜User｜>", "<｜Assistant｜>"]},
    "qwen_25": {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                "extra": ["<|im_start|>"]},
    "chatml": {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|im_end|>", "extra": ["<|im_start|>"]},
    "llama3": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "pad_token": "<|finetune_right_pad_id|>",
               "extra": ["<|start_header_id|>", "<|end_header_id|>", "<|end_of_text|>"]},
}

# GPU-only settings and their CPU equivalents; the twin changes nothing else about training.
CPU_OVERRIDES = {
    "bf16": False, "fp16": False, "tf32": False, "attn_implementation": "sdpa",
    "sample_packing": False, "eval_sample_packing": False, "pad_to_sequence_len": False,
    "lora_mlp_kernel": False, "lora_qkv_kernel": False, "lora_o_kernel": False, "lora_embedding_kernel": False,
    "gradient_checkpointing": False, "save_safetensors": True, "save_strategy": "no", "use_tensorboard": False,
}
# What a CPU run with several processes needs (`llmner train TWIN -- accelerate launch --multi_gpu --num_processes 2
# -m axolotl.cli.train`, with ACCELERATE_USE_CPU=1): a device map on the CPU (Axolotl otherwise puts each rank's model
# on device 0, a GPU, for any world size above 1), and the plugin that checks and records the world every rank saw.
DISTRIBUTED = {"max_memory": {"cpu": "64GiB"}, "plugins": ["llmner.training.distributed.DistributedPlugin"]}
GPU_ONLY_KEYS = ("plugins", "deepspeed", "fsdp", "fsdp_config", "flash_attention", "liger_rope", "liger_rms_norm",
                 "liger_glu_activation", "liger_fused_linear_cross_entropy", "liger_layer_norm", "liger_swiglu",
                 "evals_per_epoch", "saves_per_epoch", "save_total_limit", "test_datasets", "eval_steps",
                 "save_steps")


def message_texts(examples: list[Example]) -> list[str]:
    return [turn.content for example in examples for turn in example.messages]


def build_tokenizer(texts: list[str], template: str, out_dir: Path, vocab_size: int = 1200):
    """A byte-level BPE tokenizer trained on `texts`, with the template's special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokens = TEMPLATE_TOKENS[template]
    specials = [t for t in (tokens["bos_token"], tokens["eos_token"], tokens["pad_token"]) if t] + tokens["extra"]
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    core.train_from_iterator(texts, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, bos_token=tokens["bos_token"],
                                        eos_token=tokens["eos_token"], pad_token=tokens["pad_token"],
                                        additional_special_tokens=tokens["extra"], model_max_length=4096)
    tokenizer.save_pretrained(out_dir)
    return tokenizer


def build_model(base_model: str, tokenizer, out_dir: Path, hidden: int = 128, layers: int = 2) -> None:
    """A tiny random model of the recipe's architecture family (Llama or Qwen2)."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    # the published config says the family (SmolLM2 is a Llama); a base the budget does not know goes by its name
    llama = (model_config(base_model)["model_type"] == "llama" if base_model in MODEL_CONFIGS
             else "llama" in base_model.lower())
    family = LlamaConfig if llama else Qwen2Config
    config = family(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2,
                    num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                    max_position_embeddings=4096, tie_word_embeddings=True,
                    bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                    pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(out_dir)


def twin_batch(recipe: dict, recipe_path: str | Path = "(recipe)") -> dict:
    """The recipe's batch, capped for a CPU: at most 4 rows of at most 1024 tokens.

    >>> twin_batch({"micro_batch_size": 2, "sequence_len": 2048})
    {'micro_batch_size': 2, 'sequence_len': 1024}
    """
    return {"micro_batch_size": min(positive_int(recipe, "micro_batch_size", recipe_path, default=4), 4),
            "sequence_len": min(positive_int(recipe, "sequence_len", recipe_path, default=1024), 1024)}


def twin_config(recipe: dict, model_dir: Path, data_file: Path, out_dir: Path, max_steps: int,
                recipe_path: str | Path = "(recipe)") -> dict:
    twin = {key: value for key, value in recipe.items() if key not in GPU_ONLY_KEYS} | CPU_OVERRIDES | DISTRIBUTED
    twin["base_model"] = str(model_dir)
    twin["datasets"] = [dict(first_dataset(recipe, recipe_path), path=str(data_file))]
    twin |= {"output_dir": str(out_dir / "output"), "dataset_prepared_path": str(out_dir / "prepared"),
             "max_steps": max_steps, "gradient_accumulation_steps": 1, "val_set_size": 0, "logging_steps": 1,
             "dataloader_num_workers": 0} | twin_batch(recipe, recipe_path)
    twin.pop("warmup_ratio", None)
    twin["warmup_steps"] = 0  # a few steps only: no warm-up, or nothing is learned
    return twin


def make_twin(recipe_path: str | Path, out_dir: str | Path, data: str | Path | None = None, examples: int = 64,
              max_steps: int = 4, hidden: int = 128, layers: int = 2, learning_rate: float | None = None) -> Path:
    recipe = load_recipe(recipe_path)
    template = setting(recipe, "chat_template", recipe_path)
    if template not in TEMPLATE_TOKENS:
        raise DataError(recipe_path, None,
                        f"expected a chat_template of {', '.join(TEMPLATE_TOKENS)}, not {template!r}")
    base_model = setting(recipe, "base_model", recipe_path)
    twin_batch(recipe, recipe_path)  # twin_config's settings, checked before any model is built
    out_dir = Path(out_dir).resolve()
    twin_path = out_dir / "twin.yml"
    check_writable(twin_path)
    head = read_examples(data or first_dataset(recipe, recipe_path)["path"], examples)
    subset = out_dir / "train.jsonl"
    write_jsonl(subset, (example.to_json() for example in head))
    model_dir = out_dir / "model"
    tokenizer = build_tokenizer(message_texts(head), template, model_dir)
    build_model(base_model, tokenizer, model_dir, hidden, layers)
    twin = twin_config(recipe, model_dir, subset, out_dir, max_steps, recipe_path)
    if learning_rate is not None:
        twin["learning_rate"] = learning_rate
    twin_path.write_text(f"# CPU twin of {recipe_path} (llmner twin)\n" + yaml.safe_dump(twin, sort_keys=False),
                         encoding="utf-8")
    return twin_path


@click.command("twin")
@options.recipe()
@options.out_dir("Folder for the tiny model, the data subset and twin.yml.")
@options.data("Examples to train on [default: the recipe's first dataset].", required=False)
@options.examples(default=64, help="Train on the first N examples.")
@options.max_steps(default=4)
@click.option("--hidden", default=128, show_default=True, type=click.IntRange(min=8),
              help="Hidden size of the tiny model.")
@click.option("--layers", default=2, show_default=True, type=click.IntRange(min=1),
              help="Transformer layers of the tiny model.")
@options.learning_rate(help="Override the recipe's (a tiny model wants more).")
def main(recipe, out_dir, data, examples, max_steps, hidden, layers, learning_rate):
    """Write OUT_DIR/twin.yml: RECIPE with a tiny random model of its family, CPU settings and MAX_STEPS steps."""
    click.echo(make_twin(recipe, out_dir, data, examples, max_steps, hidden, layers, learning_rate))
