"""GPU figures through the path users run: `axolotl train` on full-size twins of the recipes, the seeds' Hugging Face
Trainer way on the same model, and prediction one at a time against length-sorted batches (and constrained).

    make bench-gpu PART=training          # on the GPU machine (benchmarks/bench_gpu.sh installs .whl/ first)
    make bench-gpu PART=prediction
    python -m benchmarks.gpu_suite --toy  # the same path at toy size on CPU (what CI runs)

Each part fits one call of under 10 minutes (a time budget skips what would not fit, saying so). Both parts add to
one JSON and rewrite one Markdown table under --out. A full-size twin is the recipe with its GPU settings kept (bf16,
sample packing, flash attention where flash_attn is installed else SDPA, Liger where liger_kernel is installed,
LoRA/QLoRA as written) and only the model swapped for the real architecture (benchmarks/configs/) with random weights
and a tokenizer trained on the real data; every recipe trains on GMB here, the workload the targets are set for.
Tokens/s counts real (non-padding) tokens. MFU = FLOPs per token × tokens/s ÷ the device's dense bf16 peak, with
6·N FLOPs per token for a full fine-tune (forward 2·N, backward 4·N) and 4·N for LoRA/QLoRA (frozen weights get no
weight gradient; the adapters' own FLOPs are negligible). N counts every weight a token's matmuls use, lm_head
included and the input embedding (a lookup) not, from the real architecture, so 4-bit weights count as the parameters
they stand for, not their packed storage. Attention's own matmuls (QKᵀ and AV: 6·L·d·s per token for causal examples
of s tokens, forward and backward) are left out: under 1% at GMB's ~190-token examples. The peak is looked up by the
exact device name; an unknown device gets no MFU rather than a guessed peak.

The bundle carries no DeepSpeed, so the full fine-tune twin drops the recipe's `deepspeed` key and trains bf16 weights
with bf16 AdamW states, not the recipe's ZeRO-2 fp32 path: every output labels that run "without ZeRO".
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import click
import yaml

from core.io import write_jsonl
from core.schemas import read_records

# The twin and prediction code this suite reuses, imported in one place.
from prediction import predict as prediction
from training import twin as recipe_twin

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = Path(__file__).with_name("configs")
# Dense bf16 tensor peak (without sparsity) by the exact name torch.cuda.get_device_name() gives: the H100's three
# forms differ by a third, so a substring ("H100") would guess.
PEAK_BF16_TFLOPS = {"NVIDIA H100 80GB HBM3": 989.0, "NVIDIA H100 PCIe": 756.0, "NVIDIA H100 NVL": 835.0,
                    "NVIDIA H200": 989.0, "NVIDIA A100-SXM4-80GB": 312.0, "NVIDIA A100-SXM4-40GB": 312.0,
                    "NVIDIA A100-PCIE-40GB": 312.0, "NVIDIA A100 80GB PCIe": 312.0, "NVIDIA L40S": 362.0}
FLOPS_PER_PARAMETER = {"full": 6, "lora": 4, "qlora": 4}  # per token: see the module docstring
WITHOUT_ZERO = "without ZeRO"
TARGETS = {"training_speedup": 3.0, "fft_mfu": 0.40, "prediction_speedup": 20.0}  # the issue's, not measurements
PARTS = {"training": ["ds15b_fft", "seeds", "ds15b_lora", "ds15b_qlora"],
         "prediction": ["prediction", "llama1b_lora_conll", "ds7b_lora", "dsllama8b_qlora_cmmlu"]}
TIMER_PLUGIN = "benchmarks.step_timer.StepTimerPlugin"
# Keys of a recipe that a benchmark twin leaves out: evaluation, checkpoints and multi-GPU launchers cost time and
# measure nothing here.
BENCH_DROPPED = ("test_datasets", "evals_per_epoch", "saves_per_epoch", "save_total_limit", "eval_steps",
                 "save_steps", "deepspeed", "fsdp", "fsdp_config", "warmup_ratio")
LIGER_KEYS = ("liger_rope", "liger_rms_norm", "liger_glu_activation", "liger_fused_linear_cross_entropy",
              "liger_layer_norm", "liger_swiglu")


class Skipped(Exception):
    """A measurement that cannot run here (what is missing is the message); recorded, not fatal."""


def has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class UnknownDevice(ValueError):
    """A device whose peak is not in PEAK_BF16_TFLOPS: its MFU is refused, not guessed."""


def peak_tflops(device_name: str) -> float:
    if device_name not in PEAK_BF16_TFLOPS:
        raise UnknownDevice(f"no dense bf16 peak known for {device_name!r} (known: {', '.join(PEAK_BF16_TFLOPS)})")
    return PEAK_BF16_TFLOPS[device_name]


def flop_parameters(config: dict) -> int:
    """N of the 6·N rule for an architecture's config: the transformer blocks (linear weights, Qwen2's q/k/v biases,
    norms), the final norm and lm_head; not the input embedding (tied or not, lm_head's matmul runs)."""
    from training.budget import linear_shapes

    hidden, shapes = config["hidden_size"], linear_shapes(config)
    biases = sum(shapes[name][1] for name in ("q_proj", "k_proj", "v_proj")) if config["model_type"] == "qwen2" else 0
    block = sum(i * o for i, o in shapes.values()) + biases + 2 * hidden
    return config["num_hidden_layers"] * block + hidden + config["vocab_size"] * hidden


def mfu(run: dict, peak: float) -> float:
    """Model FLOPs utilisation of one training run (tokens/s of real tokens, method, model as recorded)."""
    from training.budget import model_config

    flops_per_token = FLOPS_PER_PARAMETER[run["method"]] * flop_parameters(model_config(run["model"]))
    return flops_per_token * run["tokens_per_s"] / (peak * 1e12)


def run_label(name: str, run: dict) -> str:
    return f"{name} ({WITHOUT_ZERO})" if run.get("zero_dropped") else name


# ---------------------------------------------------------------- data, tokenizers, models


def gmb_files(train: Path, test: Path, out: Path) -> tuple[Path, Path]:
    """The converted GMB splits (make data); converted here from $DATA_DIR/gmb (default ../shared/data) if absent."""
    if train.exists() and test.exists():
        return train, test
    data_dir = Path(os.environ.get("DATA_DIR", ROOT.parent / "shared" / "data"))
    raw = next((p for p in (data_dir / "gmb/ner_dataset.csv", ROOT / "shared/data/gmb/ner_dataset.csv") if p.exists()),
               None)
    if raw is None:
        raise click.ClickException(f"no GMB data: {train} is missing and so is {data_dir}/gmb/ner_dataset.csv")
    converted = []
    for split in ("train", "test"):
        target = out / "data" / f"{split}.jsonl"
        if not target.exists():
            subprocess.run([sys.executable, "-m", "converters", "gmb", "--input", str(raw), "--output", str(target),
                            "--split", split], cwd=ROOT, check=True)
        converted.append(target)
    return converted[0], converted[1]


def subset(path: Path, limit: int, out: Path) -> Path:
    """The first `limit` examples, so Axolotl tokenises only what the timed steps consume."""
    write_jsonl(out, read_records(path, limit))
    return out


def tokenizer_for(template: str, examples: list[dict], out: Path, toy: bool):
    """A byte-level BPE trained on the real data with the template's special tokens (the real ones are not here)."""
    from transformers import AutoTokenizer

    folder = out / "tokenizers" / template
    if not (folder / "tokenizer.json").exists():
        texts = [turn["content"] for example in examples for turn in example["messages"]]
        recipe_twin.build_tokenizer(texts, template, folder, vocab_size=1200 if toy else 32000)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    prediction.use_chat_template(tokenizer, template)
    return tokenizer


def config_name(base_model: str) -> str:
    """deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B -> deepseek_r1_distill_qwen_1.5b.json"""
    return base_model.split("/")[-1].lower().replace("-", "_") + ".json"


def architecture(base_model: str, tokenizer, toy: bool):
    """The real architecture's config (toy: 2 layers of 128), special tokens of the tokenizer trained here."""
    from transformers import AutoConfig

    settings = {k: v for k, v in json.loads((CONFIGS / config_name(base_model)).read_text()).items()
                if not k.startswith("_") and k != "architectures"}
    if toy:
        settings |= {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
                     "num_key_value_heads": 2, "head_dim": 32}
    settings["vocab_size"] = len(tokenizer) if toy else max(len(tokenizer), settings["vocab_size"])
    settings |= {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
                 "pad_token_id": tokenizer.pad_token_id}
    return AutoConfig.for_model(settings.pop("model_type"), **settings)


def random_model(base_model: str, tokenizer, out: Path, toy: bool) -> Path:
    """Random weights of the architecture saved with the tokenizer, built on the GPU in bf16 where there is one."""
    import torch
    from transformers import AutoModelForCausalLM

    folder = out / "models" / (config_name(base_model).removesuffix(".json") + ("_toy" if toy else ""))
    if (folder / "config.json").exists():
        return folder
    dtype = torch.bfloat16 if device() == "cuda" else torch.float32
    torch.manual_seed(0)
    with torch.device(device()):
        model = AutoModelForCausalLM.from_config(architecture(base_model, tokenizer, toy), dtype=dtype)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


# ---------------------------------------------------------------- training


def bench_twin(recipe: dict, model_dir: Path, data: Path, out: Path, max_steps: int, toy: bool) -> dict:
    """The recipe with the model swapped; toy: the CPU twin's settings, else the recipe's GPU settings kept."""
    if toy:
        twin = recipe_twin.twin_config(recipe, model_dir, data, out, max_steps)
    else:
        twin = {k: v for k, v in recipe.items() if k not in BENCH_DROPPED}
        twin |= {"base_model": str(model_dir), "datasets": [dict(recipe["datasets"][0], path=str(data))],
                 "output_dir": str(out / "output"), "dataset_prepared_path": str(out / "prepared"),
                 "max_steps": max_steps, "val_set_size": 0, "logging_steps": 1, "save_strategy": "no",
                 "warmup_steps": 0, "attn_implementation": "flash_attention_2" if has("flash_attn") else "sdpa"}
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
    command = [sys.executable, "-m", "axolotl.cli.main", "train", str(twin_path), "--launcher", "python"]
    with open(log, "w") as handle:  # cwd = the repository root, so the timer plugin imports as benchmarks.*
        result = subprocess.run(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, timeout=timeout)
    if result.returncode != 0 or not figures.exists():
        tail = log.read_text(errors="replace")[-1500:]
        raise RuntimeError(f"axolotl train failed ({result.returncode}), log {log}:\n{tail}")
    return json.loads(figures.read_text())


def train_recipe(name: str, settings: dict) -> dict:
    recipe = yaml.safe_load((ROOT / "recipes" / f"{name}.yml").read_text())
    if recipe.get("adapter") == "qlora" and not has("bitsandbytes"):
        raise Skipped("QLoRA needs bitsandbytes")
    out = settings["out"] / "train" / name
    out.mkdir(parents=True, exist_ok=True)
    examples = read_records(settings["train"], settings["tokenizer_examples"])
    tokenizer = tokenizer_for(recipe["chat_template"], examples, settings["out"], settings["toy"])
    model_dir = random_model(recipe["base_model"], tokenizer, settings["out"], settings["toy"])
    max_steps = settings["warmup"] + settings["steps"] + settings["profile_steps"]
    data = subset(settings["train"], settings["train_examples"], out / "train.jsonl")
    twin = bench_twin(recipe, model_dir, data, out, max_steps, settings["toy"])
    twin_path = out / "twin.yml"
    twin_path.write_text(f"# benchmark twin of recipes/{name}.yml (python -m benchmarks.gpu_suite)\n"
                         + yaml.safe_dump(twin, sort_keys=False))
    figures = run_axolotl(twin_path, out / "figures.json", settings["warmup"], settings["profile_steps"],
                          settings["deadline"] - time.monotonic())
    dropped = bool(recipe.get("deepspeed")) and "deepspeed" not in twin
    return figures | {"zero_dropped": dropped, "label": run_label(name, {"zero_dropped": dropped}),
                      "attention": twin.get("attn_implementation"), "method": recipe.get("adapter", "full"),
                      "liger": any("liger" in p.lower() for p in twin["plugins"]),
                      "packing": bool(twin.get("sample_packing")), "model": recipe["base_model"]}


def seeds_way(settings: dict) -> dict:
    """The seeds' training of the FFT recipe's model: HF Trainer, every example padded to 256, fp16, no packing."""
    import torch
    from transformers import AutoModelForCausalLM, Trainer, TrainingArguments, default_data_collator

    from benchmarks.step_timer import StepTimer

    recipe = yaml.safe_load((ROOT / "recipes" / "ds15b_fft.yml").read_text())
    examples = read_records(settings["train"], settings["tokenizer_examples"])
    tokenizer = tokenizer_for(recipe["chat_template"], examples, settings["out"], settings["toy"])
    model_dir = random_model(recipe["base_model"], tokenizer, settings["out"], settings["toy"])
    rows = []
    for example in examples[:settings["train_examples"]]:
        text = tokenizer.apply_chat_template(example["messages"], tokenize=False)
        encoded = tokenizer(text, add_special_tokens=False, truncation=True, max_length=256, padding="max_length")
        labels = [t if m else -100 for t, m in zip(encoded["input_ids"], encoded["attention_mask"])]
        rows.append({"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"], "labels": labels})
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
                      "packing": False, "padded_to": 256, "model": recipe["base_model"]}


# ---------------------------------------------------------------- prediction


def generation_rate(model, tokenizer, prompts: list[str], batch_size: int, new_tokens: int, label: str) -> float:
    """Examples/s generating exactly `new_tokens` greedily (random weights: fixed lengths make both ways equal)."""
    import torch
    from tqdm import tqdm

    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    batches = prediction.length_sorted_batches([len(e) for e in encoded], batch_size)
    _synchronise()
    started = time.perf_counter()
    for batch in tqdm(batches, desc=label, unit="batch"):
        inputs = tokenizer.pad({"input_ids": [encoded[i] for i in batch]}, return_tensors="pt").to(model.device)
        with torch.inference_mode():
            model.generate(**inputs, do_sample=False, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                           pad_token_id=tokenizer.pad_token_id)
    _synchronise()
    return len(prompts) / (time.perf_counter() - started)


def _synchronise() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def answer_tokens(tokenizer, examples: list[dict]) -> int:
    """Mean tokens of the gold answers plus the end-of-turn token: what a trained model writes per example."""
    answers = [e["messages"][-1]["content"] for e in examples]
    return round(sum(len(tokenizer(a, add_special_tokens=False)["input_ids"]) for a in answers) / len(answers)) + 1


def predict_rates(settings: dict) -> dict:
    import torch
    from transformers import AutoModelForCausalLM

    recipe = yaml.safe_load((ROOT / "recipes" / "ds15b_fft.yml").read_text())
    tokenizer = tokenizer_for(recipe["chat_template"], read_records(settings["train"], settings["tokenizer_examples"]),
                              settings["out"], settings["toy"])
    model_dir = random_model(recipe["base_model"], tokenizer, settings["out"], settings["toy"])
    cuda = device() == "cuda"
    attention = "flash_attention_2" if cuda and has("flash_attn") else "sdpa"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16 if cuda else torch.float32,
                                                 attn_implementation=attention).to(device()).eval()
    tokenizer.padding_side = "left"
    examples = read_records(settings["test"], settings["predict_examples"])
    prompts = prediction.training_prompts(tokenizer, examples, None)
    new_tokens = answer_tokens(tokenizer, examples)
    alone = prompts[:max(8, len(prompts) // 8)]  # one at a time is slow: a slice is enough for its rate
    figures = {"model": recipe["base_model"], "attention": attention, "new_tokens": new_tokens,
               "batch_size": settings["predict_batch"], "examples": len(prompts), "examples_one_at_a_time": len(alone),
               "one_at_a_time_examples_per_s": generation_rate(model, tokenizer, alone, 1, new_tokens, "one at a time"),
               "batched_examples_per_s": generation_rate(model, tokenizer, prompts, settings["predict_batch"],
                                                         new_tokens, "length-sorted batches")}
    figures["speedup"] = figures["batched_examples_per_s"] / figures["one_at_a_time_examples_per_s"]
    figures |= constrained_overhead(model, tokenizer, examples, prompts, settings["predict_batch"], new_tokens)
    if cuda and figures["speedup"] < TARGETS["prediction_speedup"]:
        figures["profile"] = profile_generation(model, tokenizer, prompts, settings, new_tokens)
    return figures


def constrained_overhead(model, tokenizer, examples, prompts, batch_size: int, new_tokens: int) -> dict:
    """The same batched generation of `make eval` with and without the grounded grammar (prediction.constrained)."""
    figures = {}
    for name in ("unconstrained", "constrained"):
        _synchronise()
        started = time.perf_counter()
        prediction.generate_answers(model, tokenizer, examples, prompts, batch_size, new_tokens,
                                    constrained=name == "constrained")
        _synchronise()
        figures[f"{name}_examples_per_s"] = len(prompts) / (time.perf_counter() - started)
    figures["constrained_overhead"] = figures["unconstrained_examples_per_s"] / figures["constrained_examples_per_s"] - 1
    return figures


def profile_generation(model, tokenizer, prompts, settings: dict, new_tokens: int) -> str:
    from benchmarks.step_timer import _start_profiler, _top_operators

    profiler = _start_profiler()
    generation_rate(model, tokenizer, prompts[:settings["predict_batch"]], settings["predict_batch"], new_tokens,
                    "profiled batch")
    profiler.stop()
    path = settings["out"] / "prediction.profile.txt"
    path.write_text(_top_operators(profiler))
    return str(path)


# ---------------------------------------------------------------- results


def derived(results: dict, usd_per_gpu_hour: float | None) -> dict:
    """Ratios, MFU and cost from the measured figures (nothing here is measured on its own)."""
    runs, summary = results.get("runs", {}), {}
    try:
        peak = None if results.get("toy") else peak_tflops(results.get("device", ""))
    except UnknownDevice as refused:
        peak, summary["mfu_refused"] = None, str(refused)
    for name, run in runs.items():
        if peak and run.get("tokens_per_s") and run.get("method") in FLOPS_PER_PARAMETER and run.get("model"):
            summary[f"{name}_mfu"] = mfu(run, peak)
    fft, seeds = runs.get("ds15b_fft", {}), runs.get("seeds", {})
    if fft.get("tokens_per_s") and seeds.get("tokens_per_s"):
        summary["training_speedup"] = fft["tokens_per_s"] / seeds["tokens_per_s"]
    predict = runs.get("prediction", {})
    if predict.get("batched_examples_per_s"):
        summary["gpu_seconds_per_1000_sentences"] = 1000 / predict["batched_examples_per_s"]
        summary["gpu_seconds_per_1000_sentences_constrained"] = 1000 / predict["constrained_examples_per_s"]
        if usd_per_gpu_hour:
            summary["usd_per_1000_sentences"] = summary["gpu_seconds_per_1000_sentences"] / 3600 * usd_per_gpu_hour
    return summary


def target_rows(results: dict) -> list[tuple[str, str, str, str]]:
    summary, runs = results.get("summary", {}), results.get("runs", {})
    fft = " (" + WITHOUT_ZERO + ")" if runs.get("ds15b_fft", {}).get("zero_dropped") else ""
    checks = [(f"training: Axolotl FFT{fft} ÷ seeds' tokens/s", summary.get("training_speedup"),
               TARGETS["training_speedup"], "{:.2f}×"),
              (f"training: 1.5B FFT{fft} MFU", summary.get("ds15b_fft_mfu"), TARGETS["fft_mfu"], "{:.1%}"),
              ("prediction: batched ÷ one at a time", runs.get("prediction", {}).get("speedup"),
               TARGETS["prediction_speedup"], "{:.1f}×")]
    rows = []
    for what, value, target, fmt in checks:
        met = "not measured" if value is None else ("met" if value >= target else "MISSED")
        rows.append((what, "—" if value is None else fmt.format(value), "≥ " + fmt.format(target), met))
    return rows


def markdown(results: dict) -> str:
    lines = [f"# GPU suite: {results.get('device')}, {results.get('date')}", "",
             f"`{results.get('command')}`" + (" (toy size: shows the path runs, not what a GPU does)"
                                              if results.get("toy") else ""), "",
             "| run | model | method | tokens/s (real) | MFU | peak memory | attention / Liger / packing |",
             "|---|---|---|---|---|---|---|"]
    summary = results.get("summary", {})
    for name, run in results.get("runs", {}).items():
        if "tokens_per_s" not in run:
            continue
        utilisation = summary.get(f"{name}_mfu")
        memory = run.get("peak_memory_gib")
        lines.append(f"| {run_label(name, run)} | {run.get('model')} | {run.get('method')} | "
                     f"{run['tokens_per_s']:,.0f} | {'—' if utilisation is None else f'{utilisation:.1%}'} | "
                     f"{'—' if memory is None else f'{memory:.1f} GiB'} | "
                     f"{run.get('attention')} / {run.get('liger', False)} / {run.get('packing')} |")
    predict = results.get("runs", {}).get("prediction", {})
    if "speedup" in predict:
        lines += ["", "| prediction | examples/s |", "|---|---|",
                  f"| one at a time | {predict['one_at_a_time_examples_per_s']:,.2f} |",
                  f"| length-sorted batches of {predict['batch_size']} | {predict['batched_examples_per_s']:,.2f} |",
                  f"| batches, unconstrained (`make eval`) | {predict['unconstrained_examples_per_s']:,.2f} |",
                  f"| batches, constrained (`--constrained`) | {predict['constrained_examples_per_s']:,.2f} "
                  f"({predict['constrained_overhead']:+.1%}) |",
                  f"| device seconds per 1,000 GMB test sentences (batched / constrained) | "
                  f"{summary['gpu_seconds_per_1000_sentences']:,.1f} / "
                  f"{summary['gpu_seconds_per_1000_sentences_constrained']:,.1f} |"]
        if "usd_per_1000_sentences" in summary:
            lines.append(f"| cost per 1,000 sentences | ${summary['usd_per_1000_sentences']:.4f} |")
    refused = f" No MFU: {summary['mfu_refused']}." if "mfu_refused" in summary else ""
    lines += ["", "MFU: 6·N FLOPs per token (full fine-tune) or 4·N (LoRA/QLoRA), N the architecture's matmul weights"
              " without the input embedding; attention's matmuls left out (under 1% here)." + refused]
    if any(run.get("zero_dropped") for run in results.get("runs", {}).values()):
        lines += ["", f"{WITHOUT_ZERO}: the bundle carries no DeepSpeed, so these runs train bf16 weights with bf16 "
                      "AdamW states instead of the recipe's ZeRO-2 fp32 master weights and states."]
    lines += ["", "| target | measured | target | |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in target_rows(results)]
    skipped = {name: run["skipped"] for name, run in results.get("runs", {}).items() if "skipped" in run}
    if skipped:
        lines += ["", "Not measured: " + "; ".join(f"{name} ({why})" for name, why in skipped.items())]
    lines += profiles(results)
    return "\n".join(lines) + "\n"


def profiles(results: dict) -> list[str]:
    """Where the time goes, for each missed target that has a profile (torch profiler, top operators)."""
    missed = {row[0] for row in target_rows(results) if row[3] == "MISSED"}
    files = []
    if any(what.startswith("training: ") for what in missed):
        files.append(Path(results["out"]) / "train" / "ds15b_fft" / "figures.profile.txt")
    if "prediction: batched ÷ one at a time" in missed:
        files.append(Path(results.get("runs", {}).get("prediction", {}).get("profile", "-")))
    lines = []
    for path in files:
        if path.is_file():
            lines += ["", f"Where the time goes ({path}, top operators):", "", "```",
                      *path.read_text().splitlines()[:20], "```"]
    return lines


# ---------------------------------------------------------------- main


def uses_deepspeed(name: str) -> bool:
    path = ROOT / "recipes" / f"{name}.yml"
    return path.is_file() and bool(yaml.safe_load(path.read_text()).get("deepspeed"))


def measure(names: list[str], settings: dict, results: dict, save) -> None:
    progress_names = {"seeds": "the seeds' Trainer", "prediction": "prediction"}
    for name in names:
        if time.monotonic() > settings["deadline"] - settings["reserve_s"]:
            results["runs"][name] = {"skipped": "not started: the part's time budget is spent"}
            continue
        click.echo(f"== {progress_names.get(name, 'axolotl train, twin of recipes/' + name + '.yml')}"
                   + (f" ({WITHOUT_ZERO}: the bundle carries no DeepSpeed)" if uses_deepspeed(name) else ""), err=True)
        started = time.monotonic()
        try:
            if name == "seeds":
                figures = seeds_way(settings)
            elif name == "prediction":
                figures = predict_rates(settings)
            else:
                figures = train_recipe(name, settings)
        except Skipped as why:
            figures = {"skipped": str(why)}
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            figures = {"skipped": f"failed: {str(error).splitlines()[0]}", "error": str(error)[-1500:]}
        results["runs"][name] = figures | {"wall_s": time.monotonic() - started}
        save()  # a run that stops half-way still leaves what it measured


@click.command()
@click.option("--part", type=click.Choice(["training", "prediction", "all"]), default="all", show_default=True,
              help="training: the 1.5B recipes and the seeds' way; prediction: generation and the other models.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/bench_gpu"),
              show_default=True, help="Models, twins, logs, results.json and results.md (kept between parts).")
@click.option("--train-data", type=click.Path(path_type=Path), default=Path("data/gmb/train.jsonl"), show_default=True)
@click.option("--test-data", type=click.Path(path_type=Path), default=Path("data/gmb/test.jsonl"), show_default=True)
@click.option("--toy", is_flag=True, help="2-layer models, CPU twin settings, a few steps: the CPU smoke test.")
@click.option("--only", multiple=True, help="Only these runs of the part (ds15b_fft, seeds, prediction, ...).")
@click.option("--steps", type=int, default=None, help="Timed optimizer steps per training run [20; toy 2].")
@click.option("--warmup", type=int, default=None, help="Untimed steps first [3; toy 1].")
@click.option("--budget-s", type=float, default=540.0, show_default=True,
              help="Wall-clock budget of this call; runs that would start after it minus --reserve-s are skipped.")
@click.option("--reserve-s", type=float, default=150.0, show_default=True)
@click.option("--usd-per-gpu-hour", type=float, default=None, help="Price, for the cost per 1,000 sentences.")
@click.option("--copy-to", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also copy results.json and results.md here (the GPU machine's $OUT).")
def main(part, out, train_data, test_data, toy, only, steps, warmup, budget_s, reserve_s, usd_per_gpu_hour, copy_to):
    import torch

    began = time.monotonic()
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    train, test = gmb_files(train_data.resolve(), test_data.resolve(), out)
    steps = steps or (2 if toy else 20)
    warmup = warmup if warmup is not None else (1 if toy else 3)
    settings = {"out": out, "train": train, "test": test, "toy": toy, "steps": steps, "warmup": warmup,
                "profile_steps": 0 if toy else 2, "deadline": began + budget_s, "reserve_s": reserve_s,
                # enough examples for every timed step (~10 per packed 2048-token row, 8 rows a step), few on CPU
                "train_examples": 64 if toy else 100 * (warmup + steps + 2), "tokenizer_examples": 200 if toy else 5000,
                "seeds_batch": 4 if toy else 16, "predict_examples": 16 if toy else 512,
                "predict_batch": 8 if toy else 64}
    results_path = out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results.setdefault("runs", {})
    results |= {"device": torch.cuda.get_device_name() if device() == "cuda" else "cpu", "toy": toy,
                "date": datetime.date.today().isoformat(), "out": str(out), "torch": torch.__version__,
                "command": "python -m benchmarks.gpu_suite " + " ".join(sys.argv[1:])}

    def save():
        results["summary"] = derived(results, usd_per_gpu_hour)
        results_path.write_text(json.dumps(results, indent=1, default=str) + "\n")
        (out / "results.md").write_text(markdown(results))
        if copy_to:
            copy_to.mkdir(parents=True, exist_ok=True)
            for name in ("results.json", "results.md"):
                (copy_to / name).write_bytes((out / name).read_bytes())

    names = [name for key in (PARTS if part == "all" else [part]) for name in PARTS[key] if not only or name in only]
    measure(names, settings, results, save)
    save()
    click.echo(markdown(results))


if __name__ == "__main__":
    main()
