"""Settings the recipes must keep, read from Axolotl's resolved configuration (plugins registered): evaluation is not
padded to sequence_len, training resumes after a requeue, the CMMLU recipe takes enough optimizer steps, the full
fine-tune keeps fp32 master weights, both phases' memory (training/budget.py) fits the card, bf16 and the attention
each recipe needs, and the validation loss covers every example or loses no more rows than budget says. Each header's
budget block is `llmner budget --write-header`'s, written again here in memory and compared."""

from __future__ import annotations

import pytest

from tests.constants import ROOT
from tests.training.test_recipes import RECIPES, load, validate

EVALUATING = [path for path in RECIPES if load(path).get("test_datasets") or load(path).get("val_set_size")]


@pytest.mark.parametrize("path", EVALUATING, ids=lambda p: p.stem)
def test_evaluation_batches_are_not_padded_to_sequence_len(path):
    """Axolotl's builder (axolotl/core/builders/causal.py) gives the eval collator pad_to_multiple_of = sequence_len
    whenever pad_to_sequence_len is set, and Axolotl sets it with sample packing; only a packed eval set fills those
    rows."""
    validated = validate(load(path))
    assert not (validated.pad_to_sequence_len and not validated.eval_sample_packing)


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_a_requeued_job_resumes_from_the_last_checkpoint(path, tmp_path):
    """Axolotl's own resolution (axolotl.utils.train.determine_last_checkpoint), as `axolotl train` calls it, on an
    output folder a killed job left behind. Twins inherit the key; they save no checkpoints, so it does nothing
    there."""
    from axolotl.utils.train import determine_last_checkpoint

    validated = validate(load(path))
    validated.output_dir = str(tmp_path)
    for step in (50, 200, 100):
        (tmp_path / f"checkpoint-{step}").mkdir()
    assert determine_last_checkpoint(validated, update=True) == str(tmp_path / "checkpoint-200")


@pytest.mark.data
def test_cmmlu_recipe_takes_enough_optimizer_steps():
    """3 epochs over CMMLU dev (counted from the real files) at 8 questions a step: at least 100 optimizer steps on
    one GPU, i.e. every question seen 3 times in batches of ~8 with a few warm-up steps (warmup_ratio 0.03); packing
    335 short questions into 1024-token rows gave ~15 in all. The header's Rows line declares the questions counted
    here; budget writes the steps per GPU count from it."""
    from llmner.converters.mcq import convert_path
    from llmner.training.budget import header_of, recipe_steps, rows_an_epoch
    from tests.constants import shared

    path = next(p for p in RECIPES if p.stem == "dsllama8b_qlora_cmmlu")
    recipe = load(path)
    validated = validate(recipe)
    assert not validated.sample_packing  # one question per row: rows are questions
    questions = sum(1 for _ in convert_path(shared("cmmlu", "dev"), "cmmlu", "train"))
    assert recipe_steps(validated, questions, gpus=1) >= 100
    assert rows_an_epoch(header_of(path.read_text(encoding="utf-8"))) == questions


def test_full_fine_tune_keeps_fp32_master_weights(tmp_path):
    """Axolotl 0.19 loads the model in bf16 whenever bf16 is on (axolotl.utils.config.resolve_dtype), so a plain
    optimizer would update bf16 weights with bf16 states. DeepSpeed's ZeRO optimizer (stages 1-3, bf16 on) keeps an
    fp32 master partition of every weight and fp32 AdamW states (zero/stage_1_and_2.py:
    single_partition_of_fp32_groups); the recipe must run under it, with bf16 as the Trainer fills its "auto" values
    on a bf16 GPU."""
    import json

    from deepspeed.runtime.config import DeepSpeedConfig
    from transformers import TrainingArguments
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    recipe = load(ROOT / "recipes" / "ds15b_fft.yml")
    validated = validate(recipe)
    assert validated.bf16 in ("auto", True) and not validated.adapter
    assert validated.deepspeed, "a full fine-tune without ZeRO trains bf16 weights with bf16 optimizer states"
    args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=recipe["micro_batch_size"],
                             gradient_accumulation_steps=recipe["gradient_accumulation_steps"], use_cpu=True,
                             report_to=[])
    args.bf16 = True  # what `bf16: auto` resolves to on the recipe's GPUs
    hf_config = HfTrainerDeepSpeedConfig(json.loads((ROOT / validated.deepspeed).read_text()))
    hf_config.trainer_config_process(args)
    hf_config.config["zero_optimization"].pop("reduce_bucket_size", None)  # filled from the model at launch
    config = DeepSpeedConfig(hf_config.config)
    assert config.bfloat16_config.enabled and config.zero_optimization_stage >= 1
    # DeepSpeed can be told to keep bf16 masters and states instead; the recipe's config must not
    assert not config.bfloat16_config.bf16_master_weights_and_grads
    assert not config.bfloat16_config.bf16_optimizer_states


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_header_budget_block_is_current(path):
    """The block is what `llmner budget --write-header` writes for the recipe as it is now; a changed setting (or a
    changed Rows line) leaves it stale until the command is run again."""
    from llmner.training.budget import regenerated

    text, current = regenerated(path)
    assert text == current, f"{path.name}: run `llmner budget --write-header {path.relative_to(ROOT).as_posix()}`"


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_both_phases_fit_the_card_with_10_percent_free(path):
    """Training and the evaluations of the run (where Liger writes the logits after all) each leave 10% of the card
    the header names free."""
    from llmner.training.budget import card_gb, estimate_gib, evaluation_gib, fits, header_of

    recipe = load(path)
    card = card_gb(header_of(path.read_text(encoding="utf-8")), path)
    assert fits(estimate_gib(recipe), card), f"{path.name}: training {estimate_gib(recipe):.1f} GiB on {card} GB"
    evaluation = evaluation_gib(recipe)
    assert evaluation is None or fits(evaluation, card), f"{path.name}: evaluation {evaluation:.1f} GiB on {card} GB"


def test_evaluation_memory_counts_the_logits_liger_writes_outside_training():
    """One packed eval batch of the 7B at 4×2048 tokens: bf16 logits, their fp32 copy and the fp32 log-softmax over
    152,064 entries are about 11.6 GiB, on top of what training holds besides its activations."""
    from llmner.training.budget import GIB, evaluation_parts, memory_parts

    recipe = {"base_model": "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "adapter": "lora", "lora_r": 16,
              "lora_target_linear": True, "sequence_len": 2048, "micro_batch_size": 4, "sample_packing": True,
              "gradient_checkpointing": True, "test_datasets": [{"path": "data/gmb/validation.jsonl"}]}
    evaluation, training = evaluation_parts(recipe), memory_parts(recipe)
    assert evaluation["logits"] * GIB == 4 * 2048 * 152064 * (2 + 4 + 4)
    for kept in ("weights", "trainable_states", "overhead"):
        assert evaluation[kept] == training[kept]
    assert evaluation_parts({**recipe, "test_datasets": None}) is None
    unpacked = {**recipe, "sample_packing": False, "eval_batch_size": 1}
    assert evaluation_parts(unpacked)["logits"] * GIB == 2048 * 152064 * 10  # unpacked: eval_batch_size rows


def test_budget_command_prints_both_phases_of_every_recipe_within_the_card():
    from tests.cli import llmner

    result = llmner("budget", *RECIPES)
    assert result.exit_code == 0, result.output
    for path in RECIPES:
        assert f"{path}: " in result.output
    assert result.output.count("  training  ") == len(RECIPES) and "OVER" not in result.output
    assert result.output.count("  evaluation  ") == len(RECIPES)


def test_budget_command_refuses_a_header_without_a_card_in_one_line(tmp_path):
    import subprocess
    import sys

    recipe = tmp_path / "r.yml"
    recipe.write_text("# GPUs: some\n\nbase_model: x\n")
    result = subprocess.run([sys.executable, "-m", "llmner", "budget", str(recipe)], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {recipe}: expected a header line 'GPUs: 1× GPU with N GB'"]


CPU_BF16_PLUGIN = "llmner.training.cpu_bf16.CpuBf16Plugin"


def runs_on_cpu_as_written(path) -> bool:
    return CPU_BF16_PLUGIN in (load(path).get("plugins") or [])


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_bf16_and_flash_attention_or_a_cpu_as_written(path, monkeypatch):
    """bf16 and FlashAttention-2 (Ampere or newer; the Slurm scripts force bf16), except a recipe that runs on a CPU
    as written: sdpa, no packing, bf16 through the CPU plugin. Validated as on a machine with bf16 (a GPU, or a CPU
    with a bf16 unit: on a CPU without one the plugin trains in fp32, tests/training/test_cpu_bf16.py)."""
    from llmner.core import precision

    monkeypatch.setattr(precision, "cpu_has_bf16_unit", lambda: True)
    validated = validate(load(path))
    assert validated.bf16 in ("auto", True)
    if runs_on_cpu_as_written(path):
        assert validated.attn_implementation == "sdpa" and not validated.sample_packing
    else:
        assert validated.attn_implementation == "flash_attention_2"


PACKED_EVAL = [path for path in EVALUATING if load(path).get("sample_packing")
               and load(path).get("eval_sample_packing") is not False]


def eval_batches(validated, lengths: list[int], micro_batch_size: int) -> list[list[list[int]]]:
    """Axolotl's packed eval batches (AxolotlTrainer._create_multipack_sampler) over examples of these lengths, with
    the arguments its builder gives the trainer (axolotl/core/builders/causal.py: multipack_real_batches unless the
    attention takes packed rows; per_device_train_batch_size = micro_batch_size; max_seq_length = sequence_len)."""
    from types import SimpleNamespace

    from axolotl.core.trainers.base import AxolotlTrainer
    from datasets import Dataset
    from torch.utils.data import SequentialSampler

    args = SimpleNamespace(
        multipack_real_batches=(validated.multipack_real_batches if validated.multipack_real_batches is not None
                                else not validated.attn_supports_packing),
        per_device_train_batch_size=micro_batch_size, max_seq_length=validated.sequence_len,
        sample_packing_efficiency=1.0, sample_packing_group_size=validated.sample_packing_group_size or 100_000,
        sample_packing_bin_size=validated.sample_packing_bin_size or 200,
        sample_packing_sequentially=validated.sample_packing_sequentially, dataset_num_proc=1,
        sample_packing_mp_start_method="fork")
    trainer = SimpleNamespace(args=args, state=SimpleNamespace(train_batch_size=micro_batch_size))
    dataset = Dataset.from_dict({"length": lengths})
    return list(AxolotlTrainer._create_multipack_sampler(trainer, SequentialSampler(dataset), dataset))


@pytest.mark.parametrize("attention", ["flash_attention_2", "sdpa"])
@pytest.mark.parametrize("path", PACKED_EVAL, ids=lambda p: p.stem)
def test_validation_loss_leaves_out_no_more_rows_than_budget_says(path, attention):
    """The sampler drops a last partial batch (drop_last=True). With flash attention a batch is one bin of
    micro_batch_size × sequence_len tokens, so nothing is dropped; with the sdpa fallback a batch is micro_batch_size
    rows and up to micro_batch_size - 1 of them can be: what budget's eval_rows_left_out says, and the header's Eval
    line with it."""
    import numpy as np

    from llmner.training.budget import eval_rows_left_out

    recipe = {**load(path), "attn_implementation": attention}
    lengths = np.random.default_rng(0).integers(40, 400, 997).tolist()  # ~190-token examples, 997: no round count
    validated = validate(recipe)
    batches = eval_batches(validated, lengths, recipe["micro_batch_size"])
    covered = sorted(index for batch in batches for row in batch for index in row)
    rows = [row for batch in batches for row in batch]
    if attention == "flash_attention_2":
        assert covered == list(range(len(lengths))) and eval_rows_left_out(recipe, attention) == 0
    else:
        every_row = eval_batches(validated, lengths, 1)  # one row a batch: none dropped
        assert len(every_row) - len(rows) <= eval_rows_left_out(recipe, attention)
