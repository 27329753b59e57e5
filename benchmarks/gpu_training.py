"""Training throughput through the path users run: `axolotl train` on a benchmark twin of a recipe (the recipe with
only the model swapped, the step timer plugged in), and the seeds' Hugging Face Trainer way on the same model.

A full-size twin keeps the recipe's GPU settings (bf16, sample packing, flash attention where flash_attn is installed
else SDPA, Liger where liger_kernel is installed, LoRA/QLoRA as written); a toy one takes the CPU twin's settings
(training.twin). Where DeepSpeed is installed on the GPU machine (the bundle does not carry it), the full fine-tune
twin keeps the recipe's `deepspeed` config and trains through ZeRO-2 as the recipe does, one process in a world of
one; where it is not, the twin drops the key and trains bf16 weights with bf16 AdamW states, not the recipe's
ZeRO-2 fp32 path, and every output labels it "without ZeRO".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from llmner.benchmarks.gpu_figures import run_label
from llmner.benchmarks.gpu_inputs import ROOT, Skipped, device, has, random_model, recipe, subset, tokenizer_for
from llmner.core.schemas import Example, read_examples
from llmner.training.twin import twin_config

TIMER_PLUGIN = "llmner.benchmarks.step_timer.StepTimerPlugin"
# Keys of a recipe that a benchmark twin leaves out: evaluation, checkpoints and multi-GPU launchers cost time and
# measure nothing here.
BENCH_DROPPED = ("test_datasets", "evals_per_epoch", "saves_per_epoch", "save_total_limit", "eval_steps",
                 "save_steps", "deepspeed", "fsdp", "fsdp_config", "warmup_ratio")
# One process under DeepSpeed without a launcher: the world of one a launcher would have set up.
SINGLE_PROCESS_WORLD = {"MASTER_ADDR": "127.0.0.1", "RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1"}
LIGER_KEYS = ("liger_rope", "liger_rms_norm", "liger_glu_activation", "liger_fused_linear_cross_entropy",
              "liger_layer_norm", "liger_swiglu")
SEEDS_PADDED_TO = 256  # the seeds padded every example to this many tokens


def bench_twin(recipe: dict, model_dir: Path, data: Path, out: Path, max_steps: int, toy: bool) -> dict:
    """The recipe with the model swapped; toy: the CPU twin's settings, else the recipe's GPU settings kept."""
    if toy:
        twin = twin_config(recipe, model_dir, data, out, max_steps)
    else:
        twin = {k: v for k, v in recipe.items() if k not in BENCH_DROPPED}
        twin |= {"base_model": str(model_dir), "datasets": [dict(recipe["datasets"][0], path=str(data))],
                 "output_dir": str(out / "output"), "dataset_prepared_path": str(out / "prepared"),
                 "max_steps": max_steps, "val_set_size": 0, "logging_steps": 1, "save_strategy": "no",
                 "warmup_steps": 0, "attn_implementation": "flash_attention_2" if has("flash_attn") else "sdpa"}
        if recipe.get("deepspeed") and has("deepspeed"):  # the recipe's ZeRO path, where the machine has DeepSpeed
            twin["deepspeed"] = str(ROOT / recipe["deepspeed"])
        if not has("liger_kernel"):  # Liger where carried: without it the plugin and its switches go
            twin["plugins"] = [p for p in twin.get("plugins", []) if "liger" not in p.lower()]
            for key in LIGER_KEYS:
                twin.pop(key, None)
    twin["plugins"] = [*twin.get("plugins", []), TIMER_PLUGIN]
    return twin


def run_axolotl(twin_path: Path, figures: Path, warmup: int, profile_steps: int, timeout: float) -> dict:
    """`axolotl train TWIN --launcher python` (one GPU, in one process) with the step timer plugged in."""
    log = twin_path.with_suffix(".log")
    env = {**os.environ, "BENCH_TIMER_OUT": str(figures), "BENCH_WARMUP_STEPS": str(warmup),
           "BENCH_PROFILE_STEPS": str(profile_steps), "AXOLOTL_DO_NOT_TRACK": "1", "DO_NOT_TRACK": "1",
           "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "WANDB_DISABLED": "true", "WANDB_MODE": "disabled"}
    if yaml.safe_load(twin_path.read_text()).get("deepspeed"):
        env |= SINGLE_PROCESS_WORLD | {"MASTER_PORT": str(free_port())}
    command = [sys.executable, "-m", "axolotl.cli.main", "train", str(twin_path), "--launcher", "python"]
    with open(log, "w") as handle:  # cwd = the repository root, so the timer plugin imports as benchmarks.*
        result = subprocess.run(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, timeout=timeout)
    if result.returncode != 0 or not figures.exists():
        tail = log.read_text(errors="replace")[-1500:]
        raise RuntimeError(f"axolotl train failed ({result.returncode}), log {log}:\n{tail}")
    return json.loads(figures.read_text())


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def model_and_tokenizer(settings: dict, chosen: dict):
    """The tokenizer of the recipe's template trained on the real data, and the random model saved with it."""
    examples = read_examples(settings["train"], settings["tokenizer_examples"])
    tokenizer = tokenizer_for(chosen["chat_template"], examples, settings["out"], settings["toy"])
    return random_model(chosen["base_model"], tokenizer, settings["out"], settings["toy"]), tokenizer, examples


def train_recipe(name: str, settings: dict) -> dict:
    chosen = recipe(name)
    if chosen.get("adapter") == "qlora" and not has("bitsandbytes"):
        raise Skipped("QLoRA needs bitsandbytes")
    out = settings["out"] / "train" / name
    out.mkdir(parents=True, exist_ok=True)
    model_dir, _, _ = model_and_tokenizer(settings, chosen)
    max_steps = settings["warmup"] + settings["steps"] + settings["profile_steps"]
    data = subset(settings["train"], settings["train_examples"], out / "train.jsonl")
    twin = bench_twin(chosen, model_dir, data, out, max_steps, settings["toy"])
    twin_path = out / "twin.yml"
    twin_path.write_text(f"# benchmark twin of recipes/{name}.yml (llmner bench gpu)\n"
                         + yaml.safe_dump(twin, sort_keys=False))
    figures = run_axolotl(twin_path, out / "figures.json", settings["warmup"], settings["profile_steps"],
                          settings["deadline"] - time.monotonic())
    dropped = bool(chosen.get("deepspeed")) and "deepspeed" not in twin
    return figures | {"zero_dropped": dropped, "label": run_label(name, {"zero_dropped": dropped}),
                      "attention": twin.get("attn_implementation"), "method": chosen.get("adapter", "full"),
                      "liger": any("liger" in p.lower() for p in twin["plugins"]),
                      "packing": bool(twin.get("sample_packing")), "model": chosen["base_model"]}


def padded_rows(tokenizer, examples: list[Example]) -> list[dict]:
    """The seeds' inputs: each example rendered by the template, padded to SEEDS_PADDED_TO, loss on every real token."""
    rows = []
    for example in examples:
        text = tokenizer.apply_chat_template(example.to_json()["messages"], tokenize=False)
        encoded = tokenizer(text, add_special_tokens=False, truncation=True, max_length=SEEDS_PADDED_TO,
                            padding="max_length")
        labels = [t if m else -100 for t, m in zip(encoded["input_ids"], encoded["attention_mask"])]
        rows.append({"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"], "labels": labels})
    return rows


def seeds_way(settings: dict) -> dict:
    """The seeds' training of the FFT recipe's model: HF Trainer, every example padded to 256, fp16, no packing."""
    import torch
    from transformers import AutoModelForCausalLM, Trainer, TrainingArguments, default_data_collator

    from llmner.benchmarks.step_timer import StepTimer

    chosen = recipe("ds15b_fft")
    model_dir, tokenizer, examples = model_and_tokenizer(settings, chosen)
    rows = padded_rows(tokenizer, examples[:settings["train_examples"]])
    cuda = device() == "cuda"
    out = settings["out"] / "train" / "seeds"
    args = TrainingArguments(output_dir=str(out), per_device_train_batch_size=settings["seeds_batch"],
                             max_steps=settings["warmup"] + settings["steps"] + settings["profile_steps"],
                             learning_rate=2e-5, fp16=cuda, logging_steps=1, save_strategy="no", report_to=[],
                             dataloader_num_workers=0, remove_unused_columns=False, seed=42)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="sdpa")
    timer = StepTimer(out / "figures.json", settings["warmup"], settings["profile_steps"])
    trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=default_data_collator,
                      processing_class=tokenizer, callbacks=[timer])
    timer.count(trainer)
    trainer.train()
    figures = timer.figures()
    del trainer, model
    if cuda:
        torch.cuda.empty_cache()
    return figures | {"attention": "sdpa", "method": "full", "precision": "fp16" if cuda else "fp32",
                      "packing": False, "padded_to": SEEDS_PADDED_TO, "model": chosen["base_model"]}
