"""`llmner derive`: a recipe run on other data keeps everything but the data, folders and length; the subset has
the asked share of sentences with entities; bad input is one line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from llmner.core.errors import DataError
from llmner.core.recipes import load_recipe
from llmner.core.schemas import Example, read_examples
from llmner.training.derive import balanced_subset, derive, has_entities
from tests.constants import ROOT

RECIPE = ROOT / "recipes" / "smollm2_135m_lora_conll.yml"


def example(i: int, entities: bool) -> dict:
    return {"id": f"x/train/{i}", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
                                               {"role": "assistant", "content": "LOC: u" if entities else "none"}],
            "gold": {"task": "ner", "text": "u", "entities": [{"start": 0, "end": 1, "label": "LOC"}] if entities
                     else [], "labels": ["LOC"], "answer_format": "lines"}}


@pytest.fixture
def pool(tmp_path):
    path = tmp_path / "pool.jsonl"
    path.write_text("".join(json.dumps(example(i, i % 4 == 0)) + "\n" for i in range(40)))
    return path


def test_the_subset_has_the_asked_share_with_entities_and_is_seeded():
    examples = [Example.model_validate(example(i, i % 4 == 0)) for i in range(40)]
    chosen = balanced_subset(examples, 20, 0.8, seed=1)
    assert len(chosen) == 20 and sum(map(has_entities, chosen)) == 16  # 10 exist: some are repeated
    assert chosen == balanced_subset(examples, 20, 0.8, seed=1) != balanced_subset(examples, 20, 0.8, seed=2)
    assert balanced_subset(examples, 5, None) == examples[:5]


def test_a_share_with_entities_from_a_pool_without_any_is_refused():
    with pytest.raises(DataError, match="examples with entities"):
        balanced_subset([Example.model_validate(example(0, False))], 4, 0.5)


def test_derived_recipe_changes_only_data_folders_and_length(pool, tmp_path):
    path = derive(RECIPE, pool, tmp_path / "run", examples=12, entity_share=0.5, max_steps=3)
    derived, recipe = load_recipe(path), load_recipe(RECIPE)
    assert derived["datasets"] == [dict(recipe["datasets"][0], path=str(tmp_path / "run" / "train.jsonl"))]
    assert derived["max_steps"] == 3 and derived["save_strategy"] == "no" and "test_datasets" not in derived
    changed = {"datasets", "output_dir", "dataset_prepared_path", "max_steps", "save_strategy", "logging_steps"}
    dropped = {"test_datasets", "evals_per_epoch", "eval_sample_packing", "saves_per_epoch", "save_total_limit"}
    assert {k: v for k, v in derived.items() if k not in changed} == \
        {k: v for k, v in recipe.items() if k not in changed | dropped}
    written = read_examples(tmp_path / "run" / "train.jsonl")
    assert len(written) == 12 and sum(map(has_entities, written)) == 6


def test_bad_data_is_one_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1\n')
    result = subprocess.run([sys.executable, "-m", "llmner", "derive", str(RECIPE), "--data", str(bad), "--out-dir",
                             str(tmp_path / "run")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith(f"error: {bad}:1:")
    assert len(result.stderr.strip().splitlines()) == 1


def test_prompt_compact_rewrites_every_system_turn(pool, tmp_path):
    from llmner.core.tasks import compact_ner_system

    derive(RECIPE, pool, tmp_path / "run", examples=8, prompt="compact")
    written = [json.loads(line) for line in open(tmp_path / "run" / "train.jsonl")]
    assert {e["messages"][0]["content"] for e in written} == {compact_ner_system(["LOC"], "lines")}
    assert [turn["role"] for turn in written[0]["messages"]] == ["system", "user", "assistant"]


def test_prompt_on_examples_that_are_not_ner_is_refused(tmp_path):
    path = tmp_path / "cls.jsonl"
    path.write_text(json.dumps({"id": "ag_news/train/0", "messages": [{"role": "user", "content": "x"}],
                                "gold": {"task": "classification", "label": "World", "labels": ["World"]}}) + "\n")
    with pytest.raises(DataError, match="NER examples with gold.labels for --prompt"):
        derive(RECIPE, path, tmp_path / "run", prompt="compact")


def test_the_subset_is_written_as_it_was_read(pool, tmp_path):
    """The examples travel as models; on disk they are the lines of --data, byte for byte."""
    derive(RECIPE, pool, tmp_path / "run", examples=10)
    assert (tmp_path / "run" / "train.jsonl").read_text().splitlines() == pool.read_text().splitlines()[:10]
