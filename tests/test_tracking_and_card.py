"""The model card `make eval` writes. (Tracking: tests/training/test_train.py.)"""

from __future__ import annotations

import json

from click.testing import CliRunner

from evaluators import model_card
from evaluators.cli import main as evaluators_main
from tests.constants import FIXTURES


def write_report(tmp_path, report: dict):
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    return path


def test_make_eval_card_has_model_index_the_hub_reads(tmp_path):
    from huggingface_hub import ModelCard

    report = write_report(tmp_path, {"task": "ner", "examples": 5, "entity": {"micro": {"f1": 0.8125}}})
    result = CliRunner().invoke(evaluators_main, ["card", "--report", str(report), "--data",
                                                  str(FIXTURES / "five.expected.jsonl"), "--model", "runs/x/output",
                                                  "--recipe", "recipes/ds15b_fft.yml", "--output",
                                                  str(tmp_path / "README.md")])
    assert result.exit_code == 0, result.output
    card = ModelCard.load(tmp_path / "README.md")
    [evaluation] = card.data.eval_results
    assert (evaluation.task_type, evaluation.dataset_type, evaluation.dataset_split) \
        == ("token-classification", "conll2003", "test")
    assert (evaluation.metric_type, evaluation.metric_value, evaluation.metric_config) == ("f1", 0.8125, "strict")
    assert evaluation.metric_args["scorer_version"] == model_card.scorer_version()
    assert card.data.to_dict()["recipe"] == "recipes/ds15b_fft.yml" and "0.8125" in card.text


def test_card_refuses_a_report_that_is_not_one(tmp_path):
    report = write_report(tmp_path, {"task": "ner"})
    result = CliRunner().invoke(evaluators_main, ["card", "--report", str(report), "--data",
                                                  str(FIXTURES / "five.expected.jsonl"), "--model", "m",
                                                  "--output", str(tmp_path / "README.md")])
    assert result.exit_code == 2 and "expected a report written by" in result.output


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
    args = ["push", "--model", str(tmp_path / "model"), "--repo", "u/m", "--card", str(tmp_path / "README.md")]
    assert CliRunner().invoke(model_card.main, [*args, "--dry-run"]).exit_code == 0 and calls == []
    assert CliRunner().invoke(model_card.main, args).exit_code == 0
    assert [name for name, _ in calls] == ["endpoint", "create_repo", "upload_folder", "upload_file"]
    assert calls[0][1] == "http://127.0.0.1:9" and calls[-1][1] == "README.md"
