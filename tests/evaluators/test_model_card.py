"""The model card `make eval` writes (model-index metadata the Hub reads) and `llmner push`, which uploads a model
with it (huggingface_hub recorded, nothing contacted)."""

from __future__ import annotations

import json

import pytest

from llmner.evaluators import model_card
from tests.cli import llmner
from tests.constants import FIXTURES, ROOT

FIVE = FIXTURES / "five.expected.jsonl"


def write_report(tmp_path, report: dict):
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    return path


def card(tmp_path, report, *extra, data=FIVE):
    return llmner("card", *extra, "--report", report, "--data", data, "--model", "runs/x/output", "--output",
                  tmp_path / "README.md")


def test_make_eval_card_has_model_index_the_hub_reads(tmp_path, monkeypatch):
    from huggingface_hub import ModelCard

    monkeypatch.chdir(ROOT)  # the recipe is named on the card as given, relative to the checkout
    report = write_report(tmp_path, {"task": "ner", "examples": 5, "entity": {"micro": {"f1": 0.8125}}})
    result = card(tmp_path, report, "recipes/ds15b_fft.yml")
    assert result.exit_code == 0, result.output
    written = ModelCard.load(tmp_path / "README.md")
    [evaluation] = written.data.eval_results
    assert (evaluation.task_type, evaluation.dataset_type, evaluation.dataset_split) \
        == ("token-classification", "conll2003", "test")
    assert (evaluation.metric_type, evaluation.metric_value, evaluation.metric_config) == ("f1", 0.8125, "strict")
    assert evaluation.metric_args["scorer_version"] == model_card.scorer_version()
    assert written.data.to_dict()["recipe"] == "recipes/ds15b_fft.yml" and "0.8125" in written.text


def test_a_card_without_a_recipe_says_so(tmp_path):
    report = write_report(tmp_path, {"task": "ner", "examples": 5, "entity": {"micro": {"f1": 0.5}}})
    assert card(tmp_path, report).exit_code == 0
    assert "The recipe was not recorded." in (tmp_path / "README.md").read_text()


def test_a_card_naming_a_missing_recipe_is_refused(tmp_path):
    report = write_report(tmp_path, {"task": "ner", "examples": 5, "entity": {"micro": {"f1": 0.5}}})
    result = card(tmp_path, report, tmp_path / "nowhere.yml")
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {tmp_path / 'nowhere.yml'}: expected")
    assert not (tmp_path / "README.md").exists()


def test_card_refuses_a_report_that_is_not_one(tmp_path):
    result = card(tmp_path, write_report(tmp_path, {"task": "ner"}))
    assert result.exit_code == 2 and "expected a report written by `llmner score`" in result.output


@pytest.mark.parametrize("first_id, expected", [
    (17, "expected ids '<dataset>/<split>/<index>' to name the dataset and split on the card, got 17"),
    (True, "expected an id (a string or an integer), got True"),
])
def test_the_card_reads_ids_as_everything_else_does(tmp_path, first_id, expected):
    """An integer id is an id (core.ids, as the scorer and the merge take it) that names no dataset; the card, which
    must name one, says so in one line, as it does for a value that is no id at all."""
    example = json.loads(FIVE.read_text().splitlines()[0]) | {"id": first_id}
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps(example) + "\n")
    report = write_report(tmp_path, {"task": "ner", "examples": 1, "entity": {"micro": {"f1": 0.5}}})
    result = card(tmp_path, report, data=data)
    assert result.exit_code == 2 and result.stderr == f"error: {data}:1: {expected}\n"


def test_push_uploads_model_and_card(tmp_path, monkeypatch):
    import huggingface_hub

    calls = []

    class Recorder:
        def __init__(self, endpoint=None):
            calls.append(("endpoint", endpoint))

        def __getattr__(self, name):
            return lambda *args, **kwargs: calls.append((name, kwargs.get("path_in_repo") or args))

    monkeypatch.setattr(huggingface_hub, "HfApi", Recorder)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    (tmp_path / "README.md").write_text("---\n---\ncard\n")
    args = ["push", "--model", tmp_path / "model", "--repo", "u/m", "--card", tmp_path / "README.md"]
    assert llmner(*args, "--dry-run").exit_code == 0 and calls == []
    assert llmner(*args).exit_code == 0
    assert [name for name, _ in calls] == ["endpoint", "create_repo", "upload_folder", "upload_file"]
    assert calls[0][1] == "http://127.0.0.1:9" and calls[-1][1] == "README.md"


@pytest.mark.parametrize("missing", ["model", "card"])
def test_push_of_a_missing_model_or_card_is_one_line(tmp_path, missing):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    (tmp_path / "README.md").write_text("card\n")
    args = {"model": tmp_path / "model", "card": tmp_path / "README.md"} | {missing: tmp_path / "nowhere"}
    result = llmner("push", "--model", args["model"], "--repo", "u/m", "--card", args["card"], "--dry-run")
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {tmp_path / 'nowhere'}: expected")
    assert result.stderr.count("\n") == 1


def test_push_dry_run_refuses_an_empty_model_folder_and_a_card_that_is_not_utf8(tmp_path):
    """A dry run checks what the upload would send: a model folder with no file, a card that cannot be read."""
    (tmp_path / "model").mkdir()
    (tmp_path / "README.md").write_bytes(b"---\n---\ncaf\xe9\n")
    args = ["push", "--model", tmp_path / "model", "--repo", "u/m", "--dry-run"]
    empty = llmner(*args)
    assert empty.exit_code == 2 and empty.stderr == f"error: {tmp_path / 'model'}: expected at least one file in the " \
                                                    f"model folder to upload\n", empty.stderr
    (tmp_path / "model" / "config.json").write_text("{}")
    latin = llmner(*args, "--card", tmp_path / "README.md")
    assert latin.exit_code == 2 and latin.stderr == f"error: {tmp_path / 'README.md'}:3: expected utf-8 text\n"
