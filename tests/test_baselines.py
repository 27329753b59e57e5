"""Baselines run on the local set-up and are scored by the shared evaluator (no metric code of their own)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from baselines import spacy_ner
from converters.cli import main as converters_main
from evaluators.cli import main as evaluators_main
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The shipped WNUT-17 sample: 250 sentences to train on, 50 to evaluate."""
    folder = tmp_path_factory.mktemp("sample")
    CliRunner().invoke(converters_main, ["wnut17", "--input", str(ROOT / "samples" / "wnut17" / "train_sample.conll"),
                                         "--output", str(folder / "all.jsonl"), "--split", "train"])
    lines = (folder / "all.jsonl").read_text().splitlines(keepends=True)
    (folder / "train.jsonl").write_text("".join(lines[:250]))
    (folder / "dev.jsonl").write_text("".join(lines[250:]))
    return folder


def test_spacy_trains_predicts_and_is_scored_by_the_evaluator(sample, tmp_path):
    result = spacy_ner.train_model(sample / "train.jsonl", sample / "dev.jsonl", tmp_path / "model", max_epochs=3)
    assert result["train"]["misaligned_entities"] == 0 and result["train"]["entities"] > 50
    runner = CliRunner()
    outcome = runner.invoke(spacy_ner.main, ["predict", "--model", str(tmp_path / "model" / "model-last"), "--data",
                                             str(sample / "dev.jsonl"), "--output", str(tmp_path / "p.jsonl")])
    assert outcome.exit_code == 0, outcome.output
    predictions = [json.loads(line) for line in open(tmp_path / "p.jsonl")]
    assert len(predictions) == 50 and all("entities" in p for p in predictions)
    scored = runner.invoke(evaluators_main, ["score", "--gold", str(sample / "dev.jsonl"), "--pred",
                                             str(tmp_path / "p.jsonl"), "--json", str(tmp_path / "r.json")])
    assert scored.exit_code == 0, scored.output
    assert json.loads((tmp_path / "r.json").read_text())["examples"] == 50


def test_misaligned_spans_are_counted_not_dropped_silently(tmp_path):
    import spacy

    example = {"id": "x/test/0", "gold": {"task": "ner", "text": "New Yorkshire firms", "labels": ["LOC"],
                                          "entities": [{"start": 4, "end": 8, "label": "LOC"}]}}
    path = tmp_path / "e.jsonl"
    path.write_text(json.dumps(example) + "\n")
    _, kept, misaligned = spacy_ner.docbin(spacy.blank("en"), path)
    assert (kept, misaligned) == (0, 1)


def test_vectors_variant_says_what_it_needs(sample, tmp_path):
    result = CliRunner().invoke(spacy_ner.main, ["train", "--train", str(sample / "train.jsonl"), "--dev",
                                                 str(sample / "dev.jsonl"), "--out", str(tmp_path), "--variant", "lg"])
    assert result.exit_code == 2 and "needs --vectors" in result.output
