"""Settings the recipes must keep, read from Axolotl's resolved configuration (plugins registered): evaluation is not
padded to sequence_len, training resumes after a requeue, the CMMLU recipe takes enough optimizer steps, the full
fine-tune keeps fp32 master weights, and each header's memory figure is the arithmetic's (training/budget.py)."""

from __future__ import annotations

import pytest

from tests.test_recipes import RECIPES, load, validate

EVALUATING = [path for path in RECIPES if load(path).get("test_datasets") or load(path).get("val_set_size")]


@pytest.mark.parametrize("path", EVALUATING, ids=lambda p: p.stem)
def test_evaluation_batches_are_not_padded_to_sequence_len(path):
    """Axolotl's builder (core/builders/causal.py) gives the eval collator pad_to_multiple_of = sequence_len whenever
    pad_to_sequence_len is set, and Axolotl sets it with sample packing; only a packed eval set fills those rows."""
    validated = validate(load(path))
    assert not (validated.pad_to_sequence_len and not validated.eval_sample_packing)


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_a_requeued_job_resumes_from_the_last_checkpoint(path, tmp_path):
    """Axolotl's own resolution (axolotl.utils.train.determine_last_checkpoint), as `axolotl train` calls it, on an
    output folder a killed job left behind. Twins inherit the key; they save no checkpoints, so it does nothing there."""
    from axolotl.utils.train import determine_last_checkpoint

    validated = validate(load(path))
    validated.output_dir = str(tmp_path)
    for step in (50, 200, 100):
        (tmp_path / f"checkpoint-{step}").mkdir()
    assert determine_last_checkpoint(validated, update=True) == str(tmp_path / "checkpoint-200")


def test_cmmlu_recipe_takes_enough_optimizer_steps():
    """3 epochs over CMMLU dev (counted from the real files) at 8 questions a step: at least 100 optimizer steps on
    one GPU, i.e. every question seen 3 times in batches of ~8 with a few warm-up steps (warmup_ratio 0.03); packing
    335 short questions into 1024-token rows gave ~15 in all. The header states the arithmetic per GPU count."""
    from converters.mcq import convert_path
    from tests.constants import shared
    from training.budget import optimizer_steps_per_epoch, recipe_steps

    path = next(p for p in RECIPES if p.stem == "dsllama8b_qlora_cmmlu")
    recipe = load(path)
    validated = validate(recipe)
    assert not validated.sample_packing  # one question per row: rows are questions
    questions = sum(1 for _ in convert_path(shared("cmmlu", "dev"), "cmmlu", "train"))
    assert recipe_steps(validated, questions, gpus=1) >= 100
    header = " ".join(line.lstrip("# ") for line in path.read_text().split("\n\n")[0].splitlines())
    assert f"ceil(ceil({questions} / (" in header
    for gpus in (1, 2, 4, 8):
        per_epoch = optimizer_steps_per_epoch(questions, recipe["micro_batch_size"],
                                              recipe["gradient_accumulation_steps"], gpus)
        gpu_label = "1 GPU" if gpus == 1 else f"{gpus} GPUs"
        assert f"{gpu_label}: {per_epoch} × {recipe['num_epochs']} = {per_epoch * recipe['num_epochs']}" in header


def test_full_fine_tune_keeps_fp32_master_weights(tmp_path):
    """Axolotl 0.19 loads the model in bf16 whenever bf16 is on (axolotl.utils.config.resolve_dtype), so a plain
    optimizer would update bf16 weights with bf16 states. DeepSpeed's ZeRO optimizer (stages 1-3, bf16 on) keeps an
    fp32 master partition of every weight and fp32 AdamW states (zero/stage_1_and_2.py: single_partition_of_fp32_groups);
    the recipe must run under it, with bf16 as the Trainer fills its "auto" values on a bf16 GPU."""
    import json

    from deepspeed.runtime.config import DeepSpeedConfig
    from transformers import TrainingArguments
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    from tests.constants import ROOT

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


def header_text(path) -> str:
    return " ".join(line.lstrip("# ") for line in path.read_text().split("\n\n")[0].splitlines())


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_header_memory_figure_is_the_arithmetics_and_fits_the_card(path):
    """The stated figure is training/budget.py's estimate, and leaves 10% of the named card free."""
    import re

    from training.budget import GIB, estimate_gib

    match = re.search(r"(\d+) GB \(≈ ([\d.]+) GiB by python -m training\.budget", header_text(path))
    assert match, f"{path.name}: GPUs line lacks 'N GB (≈ X GiB by python -m training.budget'"
    card_gib, stated = int(match[1]) * 1e9 / GIB, float(match[2])
    estimate = estimate_gib(load(path))
    assert stated == round(estimate, 1)
    assert estimate <= 0.9 * card_gib, f"{path.name}: {estimate:.1f} GiB on a {match[1]} GB card"


@pytest.mark.parametrize("path", [p for p in RECIPES if load(p).get("sample_packing")], ids=lambda p: p.stem)
def test_batch_comment_gives_steps_per_gpu_count(path):
    import re

    from training.budget import optimizer_steps_per_epoch

    recipe = load(path)
    text = " ".join(line.lstrip("# ") for line in path.read_text().splitlines() if line.startswith("#"))
    match = re.search(r"ceil\(ceil\(([\d,]+) / \((\d+) × GPUs\)\) / (\d+)\) steps an epoch: (\d+) on 1 GPU, (\d+) on 4, "
                      r"(\d+) on 8", text)
    assert match, f"{path.name}: the Batch comment lacks the per-GPU-count arithmetic"
    rows = int(match[1].replace(",", ""))
    assert (int(match[2]), int(match[3])) == (recipe["micro_batch_size"], recipe["gradient_accumulation_steps"])
    for gpus, stated in zip((1, 4, 8), match.groups()[3:]):
        assert int(stated) == optimizer_steps_per_epoch(rows, recipe["micro_batch_size"],
                                                        recipe["gradient_accumulation_steps"], gpus)
