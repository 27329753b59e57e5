"""What a recipe costs: optimizer steps per epoch for a GPU count, and GPU memory from the arithmetic in its two
phases, training and evaluation (weights, gradients, optimizer states, then what each phase adds at micro batch ×
sequence length). Each recipe header states these figures in a block this command writes (`# --- budget ...` to
`# ---`); tests/training/test_recipe_settings.py writes every block again in memory and checks it is current, and
each figure against 90% of the header's card.

    llmner budget recipes/*.yml                      # every recipe: both phases, the card, whether they fit
    llmner budget recipes/ds15b_qlora.yml            # one recipe
    llmner budget --header recipes/ds15b_qlora.yml   # its header's budget block, as it should read
    llmner budget --write-header recipes/*.yml       # write every header's budget block anew, in place

Memory model, per GPU, no DeepSpeed sharding (the headers' "1× GPU" case):
- weights: bf16 (2 B/param); QLoRA stores the transformer blocks' linear layers in nf4 with double quantisation
  (0.516 B/param: 4 bits plus 0.127 bits of scales) and keeps embeddings and lm_head in bf16.
- LoRA adapters (fp32): weight + gradient + AdamW's two moments = 16 B per trainable parameter.
- full fine-tune under DeepSpeed ZeRO on one GPU (ds15b_fft.yml): bf16 gradient 2 + fp32 master weight 4 + its fp32
  gradient 4 + AdamW's two fp32 moments 8 = 18 B per parameter besides the bf16 weight; N GPUs divide the 16 B of
  fp32 state by N (ZeRO-2).
- training activations kept for backward, bf16, per token per layer with flash attention (no attention matrix) and
  Liger's RMSNorm and SwiGLU (which recompute the activation): norms' and projections' inputs 12·H, q/k/v outputs
  4·KV, gate and up outputs and the down projection's input 6·I bytes. Liger's fused linear cross-entropy never
  materialises the logits in training. Gradient checkpointing keeps each layer's input only (2·H) and one layer's
  full set.
- evaluation (every evals_per_epoch, inside the same process): the optimizer states stay (counted as in training),
  nothing is kept for backward, and the logits are written after all. Liger skips them only in training
  (liger_kernel/transformers/model/qwen2.py: `skip_logits = self.training and ...`), so lm_head writes bf16 logits,
  transformers' loss copies them to fp32 (loss/loss_utils.py: `logits = logits.float()`) and cross-entropy's
  log-softmax writes another fp32 tensor: 2 + 4 + 4 = 10 B per token per vocabulary entry. A packed eval batch holds
  micro_batch_size × sequence_len tokens (axolotl/core/trainers/base.py packs eval with the training batch's
  capacity; eval_batch_size does not change it); an unpacked one eval_batch_size rows of at most sequence_len.
  One layer's transient tensors are freed before the logits exist, and are far smaller.
- a fixed 1.5 GiB for the CUDA context, kernel workspaces and allocator slack.
It is an estimate to choose a card with, not a measurement; benchmarks/RESULTS.md holds measured peaks.
"""

from __future__ import annotations

import json
import math
import re
from importlib import resources
from pathlib import Path

import click

from llmner.core import options
from llmner.core.errors import DataError
from llmner.core.recipes import parse_recipe
from llmner.core.text_files import read_text
from llmner.training.settings import positive_int, setting

# The published config.json of each base, shipped with the package (package data), so `llmner budget` and `twin`
# work from an installed wheel as from the checkout.
CONFIGS = resources.files(__package__) / "model_configs"
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
LOGIT_BYTES = 2 + 4 + 4  # evaluation: bf16 logits, their fp32 copy, the fp32 log-softmax
LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def model_config(base_model: str, path: str | Path = "(recipe)") -> dict:
    """The published config.json of a base model the budget knows; `path` names the recipe in the error."""
    if not isinstance(base_model, str) or base_model not in MODEL_CONFIGS:
        raise DataError(path, None, f"expected a base_model budget knows ({', '.join(MODEL_CONFIGS)}), "
                                    f"not {base_model!r}")
    return json.loads((CONFIGS / MODEL_CONFIGS[base_model]).read_text(encoding="utf-8"))


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


def weight_and_state_bytes(recipe: dict, config: dict) -> tuple[float, float]:
    """(weights, trainable states) in bytes: what both phases hold."""
    embeddings, block = parameter_counts(config)
    if recipe.get("adapter"):
        weight_bytes = 2 * embeddings + (NF4_BYTES if recipe.get("load_in_4bit") else 2) * block
        return weight_bytes, 16 * lora_parameters(recipe, config)
    return 2 * (embeddings + block), 18 * (embeddings + block)


def memory_parts(recipe: dict) -> dict[str, float]:
    """GiB per part for one GPU training the recipe as written."""
    config = model_config(recipe["base_model"])
    weight_bytes, state_bytes = weight_and_state_bytes(recipe, config)
    tokens = recipe["micro_batch_size"] * recipe["sequence_len"]
    activations = tokens * activation_bytes_per_token(config, bool(recipe.get("gradient_checkpointing")))
    return {"weights": weight_bytes / GIB, "trainable_states": state_bytes / GIB,
            "activations": activations / GIB, "overhead": OVERHEAD_GIB}


def evaluates(recipe: dict) -> bool:
    return bool(recipe.get("test_datasets") or recipe.get("val_set_size"))


def eval_rows(recipe: dict) -> int:
    """Rows of sequence_len tokens in one eval batch. Packed (Axolotl's default with sample_packing): the training
    batch's capacity, micro_batch_size × sequence_len, as one bin (flash attention) or micro_batch_size rows (sdpa);
    unpacked: eval_batch_size rows (Axolotl's default: micro_batch_size)."""
    if recipe.get("sample_packing") and recipe.get("eval_sample_packing") is not False:
        return recipe["micro_batch_size"]
    return recipe.get("eval_batch_size") or recipe["micro_batch_size"]


def evaluation_parts(recipe: dict) -> dict[str, float] | None:
    """GiB per part for one GPU at an evaluation of the run (None: the recipe does not evaluate)."""
    if not evaluates(recipe):
        return None
    config = model_config(recipe["base_model"])
    weight_bytes, state_bytes = weight_and_state_bytes(recipe, config)
    logits = eval_rows(recipe) * recipe["sequence_len"] * config["vocab_size"] * LOGIT_BYTES
    return {"weights": weight_bytes / GIB, "trainable_states": state_bytes / GIB, "logits": logits / GIB,
            "overhead": OVERHEAD_GIB}


def estimate_gib(recipe: dict) -> float:
    return sum(memory_parts(recipe).values())


def evaluation_gib(recipe: dict) -> float | None:
    parts = evaluation_parts(recipe)
    return None if parts is None else sum(parts.values())


def optimizer_steps_per_epoch(rows: int, micro_batch_size: int, gradient_accumulation_steps: int, gpus: int) -> int:
    """As the Trainer counts them: batches per GPU, then one step per accumulation (a partial one included)."""
    batches = math.ceil(rows / (micro_batch_size * gpus))
    return math.ceil(batches / gradient_accumulation_steps)


def recipe_steps(recipe: dict, rows: int, gpus: int = 1) -> int:
    """Optimizer steps of a whole run over `rows` training rows (examples, or packed rows when packing)."""
    per_epoch = optimizer_steps_per_epoch(rows, recipe["micro_batch_size"], recipe["gradient_accumulation_steps"], gpus)
    return per_epoch * recipe["num_epochs"]


CARD = re.compile(r"GPUs:\s+1× [^(\n]*?(\d+) GB")
ROWS = re.compile(r"^# Rows:\s+≈?\s*([\d,]+) an epoch", re.M)
HEADER_INDENT = "#          "
BLOCK_START = "# --- budget (generated by llmner budget --write-header; do not edit) ---"
BLOCK_END = "# ---"
GPU_COUNTS = (1, 2, 4, 8)


def header_of(text: str) -> str:
    """A recipe's header: the comment lines before its first blank line."""
    return text.split("\n\n")[0]


def card_gb(header: str, path: str | Path = "(recipe)") -> int:
    """The card a recipe header names ("GPUs: 1× GPU with 16 GB", "GPUs: 1× A100/H100 80 GB")."""
    match = CARD.search(header)
    if not match:
        raise DataError(path, None, "expected a header line 'GPUs: 1× GPU with N GB'")
    return int(match[1])


def rows_an_epoch(header: str) -> int | None:
    """The training rows of one epoch a header declares (`# Rows:    ≈ 3,800 an epoch ...`), the one figure of the
    step arithmetic that comes from the data rather than the recipe; None where it declares none.

    >>> rows_an_epoch("# GPUs:    1× GPU with 16 GB\\n# Rows:    ≈ 3,800 an epoch: 38,367 examples / ~10 a row")
    3800
    """
    match = ROWS.search(header)
    return int(match[1].replace(",", "")) if match else None


def fits(estimate_gib: float, card: int) -> bool:
    """The rule every recipe keeps: 10% of the card (decimal GB) left free."""
    return estimate_gib <= 0.9 * card * 1e9 / GIB


def phase_text(recipe: dict, parts: dict[str, float], tokens_part: str, rows: int) -> str:
    """'weights 3.3 + adapters' states 0.3 + activations 7.8 at 2×2048 tokens + overhead 1.5'"""
    states = "adapters' states" if recipe.get("adapter") else "gradients, fp32 masters and AdamW states"
    words = []
    for name, value in parts.items():
        label = states if name == "trainable_states" else name
        suffix = f" at {rows}×{recipe['sequence_len']} tokens" if name == tokens_part else ""
        words.append(f"{label} {value:.1f}{suffix}")
    return " + ".join(words)


def header_text(recipe: dict) -> str:
    """The memory sentence of a recipe header: both phases, their parts and sums."""
    training = memory_parts(recipe)
    text = (f"one GPU: training ≈ {sum(training.values()):.1f} GiB "
            f"({phase_text(recipe, training, 'activations', recipe['micro_batch_size'])})")
    evaluation = evaluation_parts(recipe)
    if evaluation is None:
        return text + "; no evaluation"
    return (text + f", evaluation ≈ {sum(evaluation.values()):.1f} GiB "
            f"({phase_text(recipe, evaluation, 'logits', eval_rows(recipe))})")


def packed_eval(recipe: dict) -> bool:
    return bool(recipe.get("sample_packing")) and recipe.get("eval_sample_packing") is not False


def eval_rows_left_out(recipe: dict, attention: str) -> int:
    """The most rows of validation examples Axolotl's eval sampler (drop_last=True) can leave out of the loss: none
    unpacked (the last partial batch is kept) or packed under flash attention (a batch is one bin of
    micro_batch_size × sequence_len tokens); packed under sdpa a batch is micro_batch_size rows, so up to one fewer.

    >>> eval_rows_left_out({"sample_packing": True, "micro_batch_size": 4}, "sdpa")
    3
    """
    return recipe["micro_batch_size"] - 1 if packed_eval(recipe) and attention != "flash_attention_2" else 0


def eval_coverage_text(recipe: dict) -> str | None:
    """The header's Eval sentence: what the validation loss leaves out (eval_rows_left_out); None without one."""
    if not evaluates(recipe):
        return None
    if not packed_eval(recipe):
        return "validation loss on every example: unpacked evaluation batches keep the last partial one."
    rows, seq = recipe["micro_batch_size"], recipe["sequence_len"]
    left_out = eval_rows_left_out(recipe, "sdpa")
    sdpa = (f"under sdpa a batch is 1 row of {seq}, so nothing is left out there either" if not left_out else
            f"under sdpa a batch is {rows} rows of {seq} and Axolotl drops a last partial batch: up to {left_out} "
            f"packed {'row' if left_out == 1 else 'rows'} of validation examples left out of the loss")
    return (f"validation loss on every example: with flash attention a packed eval batch is one bin of {rows}×{seq} "
            f"tokens, so Axolotl's drop_last drops nothing; {sdpa}.")


def steps_text(recipe: dict, rows: int) -> str:
    """The header's Steps sentence: optimizer steps of the run on 1, 2, 4 and 8 GPUs over `rows` rows an epoch."""
    micro, accumulation, epochs = (recipe["micro_batch_size"], recipe.get("gradient_accumulation_steps", 1),
                                   recipe.get("num_epochs", 1))
    counts = []
    for gpus in GPU_COUNTS:
        per_epoch = optimizer_steps_per_epoch(rows, micro, accumulation, gpus)
        counts.append(f"{gpus} {'GPU' if gpus == 1 else 'GPUs'}: {per_epoch:,} × {epochs} = {per_epoch * epochs:,}")
    return (f"ceil(ceil({rows:,} rows / ({micro} × GPUs)) / {accumulation}) an epoch, {epochs} "
            f"{'epoch' if epochs == 1 else 'epochs'}: " + "; ".join(counts) + ".")


def labelled(label: str, text: str) -> list[str]:
    """`text` wrapped under a header label ("# Memory:  ...", then indented lines)."""
    lines = wrapped(text)
    return [f"# {label + ':':<9}" + lines[0][len(HEADER_INDENT):]] + lines[1:]


def header_block(recipe: dict, header: str) -> list[str]:
    """The generated lines of a recipe's header, markers included: memory of both phases, what the validation loss
    leaves out, and steps per GPU count where the header declares its rows an epoch."""
    lines = [BLOCK_START, *labelled("Memory", header_text(recipe))]
    if coverage := eval_coverage_text(recipe):
        lines += labelled("Eval", coverage)
    if (rows := rows_an_epoch(header)) is not None:
        lines += labelled("Steps", steps_text(recipe, rows))
    return lines + [BLOCK_END]


def with_header_block(text: str, recipe: dict, path: str | Path = "(recipe)") -> str:
    """The recipe's text with its header's budget block written anew (added at the header's end if it has none);
    everything else, the human-written header lines included, as it was."""
    header, sep, body = text.partition("\n\n")
    lines = header.split("\n")
    if not all(line.startswith("#") for line in lines):
        raise DataError(path, None, "expected a header of comment lines, then a blank line, before the settings")
    block = header_block(recipe, header)
    if BLOCK_START not in lines:
        return "\n".join(lines + block) + sep + body
    start = lines.index(BLOCK_START)
    if BLOCK_END not in lines[start + 1:]:
        raise DataError(path, start + 1, f"expected the budget block to end with a line {BLOCK_END!r}")
    end = lines.index(BLOCK_END, start + 1)
    return "\n".join(lines[:start] + block + lines[end + 1:]) + sep + body


def wrapped(text: str, width: int = 118) -> list[str]:
    """`text` as indented header lines of at most `width` characters; "42 × 3 = 126" and "4 GPUs" stay on one line."""
    lines, line = [], ""
    for word in re.split(r"(?<![×=]) (?![×=]|GPU)", text):
        if line and len(HEADER_INDENT) + len(line) + 1 + len(word) > width:
            lines.append(HEADER_INDENT + line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + [HEADER_INDENT + line]


def checked(recipe: dict, path: str | Path, header: str = "") -> dict:
    """The recipe, once every setting the arithmetic reads is one it can use (a string or a list there would be a
    TypeError deep in it); the steps' settings too where the header declares its rows an epoch."""
    model_config(setting(recipe, "base_model", path), path)
    for key in ("micro_batch_size", "sequence_len"):
        positive_int(recipe, key, path)
    if recipe.get("eval_batch_size") is not None:
        positive_int(recipe, "eval_batch_size", path)
    if rows_an_epoch(header) is not None:  # whole epochs only: the Steps line counts steps of whole epochs
        for key in ("gradient_accumulation_steps", "num_epochs"):
            positive_int(recipe, key, path, default=1)
    if recipe.get("adapter"):
        positive_int(recipe, "lora_r", path)
        targets = recipe.get("lora_target_modules")
        if not recipe.get("lora_target_linear") and not (isinstance(targets, list) and set(targets) <= set(LINEARS)):
            raise DataError(path, None, f"expected `lora_target_linear: true` or `lora_target_modules:` as a list "
                                        f"of {', '.join(LINEARS)}")
    return recipe


def recipe_text(path: str | Path) -> tuple[dict, str]:
    """(the recipe, its text): the header the card is read from is in the text, the settings in the recipe."""
    text = read_text(path)
    return parse_recipe(text, path), text


def regenerated(path: str | Path) -> tuple[str, str]:
    """(the recipe's text, the same with its budget block written anew): equal when the header is current."""
    recipe, text = recipe_text(path)
    return text, with_header_block(text, checked(recipe, path, header_of(text)), path)


def report(path: str | Path) -> tuple[str, bool]:
    """Both phases of one recipe against its header's card: (the lines to print, whether both fit)."""
    recipe, text = recipe_text(path)
    card = card_gb(header_of(text), path)
    checked(recipe, path)
    phases = [("training", memory_parts(recipe)), ("evaluation", evaluation_parts(recipe))]
    lines, ok = [f"{path}: {card} GB card, {0.9 * card * 1e9 / GIB:.1f} GiB with 10% free"], True
    for phase, parts in phases:
        if parts is None:
            lines.append(f"  {phase:<10}  none (no validation set)")
            continue
        total = sum(parts.values())
        ok &= fits(total, card)
        lines.append(f"  {phase:<10}  " + " + ".join(f"{name} {value:.1f}" for name, value in parts.items())
                     + f" = {total:.1f} GiB" + ("" if fits(total, card) else "  OVER"))
    return "\n".join(lines), ok


@click.command("budget")
@options.recipes()
@click.option("--header", is_flag=True, help="Print the budget block of each recipe's header instead.")
@click.option("--write-header", is_flag=True,
              help="Write each recipe's header budget block anew, in place (the rest of the file as it was).")
def main(recipes, header, write_header):
    """Training and evaluation memory of RECIPES against the card each header names; any that does not fit with 10%
    of its card free is the one error line after the table. --write-header writes the header block that states
    them (with the steps per GPU count where the header declares `# Rows: N an epoch`)."""
    if header and write_header:
        raise click.UsageError("--header and --write-header: choose one")
    if write_header:  # every recipe checked before any is written: a broken one leaves all as they were
        for path, (text, new) in [(path, regenerated(path)) for path in recipes]:
            if new != text:
                Path(path).write_text(new, encoding="utf-8")
                click.echo(f"{path}: budget block written")
        return
    over = []
    for path in recipes:
        if header:
            recipe, text = recipe_text(path)
            click.echo("\n".join(header_block(checked(recipe, path, header_of(text)), header_of(text))))
            continue
        lines, ok = report(path)
        over += [] if ok else [path]
        click.echo(lines)
    if over:
        raise DataError(", ".join(over), None, "expected training and evaluation to fit the header's card with 10% "
                                               "free (OVER above)")
