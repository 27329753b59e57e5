"""The system prompts a model is trained on are recorded in its folder, and prediction asks it in those words."""

from __future__ import annotations

import json

import pytest

from llmner.core.errors import DataError
from llmner.core.prompt_record import RECORD_NAME, as_trained, read_record
from llmner.core.schemas import Example
from llmner.core.tasks import ner_prompt


def example(i: int, system: str, dataset: str = "conll2003", split: str = "train") -> dict:
    return {"id": f"{dataset}/{split}/{i}", "messages": [{"role": "system", "content": system},
                                                         {"role": "user", "content": "EU rejects"}]}


def test_the_plugin_records_each_datasets_shared_prompt(tmp_path):
    from llmner.training.prompt_record import write_record

    data = tmp_path / "train.jsonl"
    few_shot = tmp_path / "shots.jsonl"
    data.write_text("".join(json.dumps(example(i, "NER, lines: PER")) + "\n" for i in range(3)))
    few_shot.write_text("".join(json.dumps(example(i, f"shots {i}", "gmb")) + "\n" for i in range(2)))
    record = write_record([{"path": str(data)}, {"path": str(few_shot)}, {"path": "org/hub-dataset"}], tmp_path / "out")
    assert record == {"conll2003": "NER, lines: PER"}  # gmb's examples share no prompt: nothing is recorded for it
    assert read_record(tmp_path / "out") == record


def test_a_checkpoint_reads_its_runs_record(tmp_path):
    (tmp_path / RECORD_NAME).write_text('{"conll2003": "short"}')
    (tmp_path / "checkpoint-2").mkdir()
    (tmp_path / "other").mkdir()
    assert read_record(tmp_path / "checkpoint-2") == {"conll2003": "short"}
    assert read_record(tmp_path / "other") == {}  # only a checkpoint looks one folder up


def test_prediction_asks_in_the_recorded_words(tmp_path):
    from transformers import AutoTokenizer

    from llmner.prediction.predict import training_prompts
    from tests.constants import ROOT

    model = ROOT / "models" / "smollm2-135m-instruct"
    if not (model / "tokenizer.json").is_file():
        pytest.skip("make model first (the real tokenizer)")
    full = Example.model_validate(example(0, ner_prompt("conll2003").system(), split="test")
                                  | {"gold": {"task": "ner", "text": "EU rejects", "entities": []}})
    tokenizer = AutoTokenizer.from_pretrained(model)
    (tmp_path / RECORD_NAME).write_text(json.dumps({"conll2003": ner_prompt("conll2003").system("compact")}))
    (tmp_path / "tokenizer_config.json").write_text("{}")
    compact, = training_prompts(tokenizer, [full], None, str(tmp_path))
    untouched, = training_prompts(tokenizer, [full], None, str(model))
    assert "NER, lines: PER, LOC, ORG, MISC" in compact and "You are a named-entity" not in compact
    assert "You are a named-entity" in untouched


def test_a_dataset_the_model_was_not_trained_on_is_refused():
    with pytest.raises(DataError, match=r"a prompt for 'gmb' examples \(the model was fine-tuned on conll2003 only\)"):
        gmb = example(0, "long", "gmb", "test")
        as_trained(gmb["id"], gmb["messages"], {"conll2003": "short"}, "runs/x")
