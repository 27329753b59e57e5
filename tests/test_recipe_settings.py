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
