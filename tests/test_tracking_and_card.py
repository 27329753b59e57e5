"""Tracking (off by default, one variable, nothing contacted) and the model card `make eval` writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

from evaluators.cli import main as evaluators_main
from evaluators import model_card
from tests.constants import FIXTURES, ROOT
from training import tracking

RECIPE = ROOT / "recipes" / "ds15b_fft.yml"


def recipe() -> dict:
    return yaml.safe_load(RECIPE.read_text())


def test_tracking_is_off_by_default(monkeypatch):
    monkeypatch.delenv("TRACK", raising=False)
    process = subprocess.run([sys.executable, "-m", "training.tracking", "--recipe", str(RECIPE), "--dry-run"],
                             capture_output=True, text=True, cwd=ROOT, env={k: v for k, v in os.environ.items()
                                                                          if k != "TRACK"})
    assert process.returncode == 0 and process.stdout.split() == ["accelerate", "launch", "-m", "axolotl.cli.train",
                                                                  str(RECIPE)]


def test_wandb_project_and_run_come_from_the_recipe_and_stay_offline(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert tracking.overrides(recipe(), str(RECIPE), "wandb") == [
        "--use_wandb=True", "--wandb_project=gmb", "--wandb_name=ds15b_fft", "--wandb_mode=offline"]


def test_swanlab_is_axolotls_plugin_added_to_the_recipes_own(monkeypatch):
    monkeypatch.setenv("SWANLAB_MODE", "disabled")
    args = tracking.overrides(recipe(), str(RECIPE), "swanlab")
    plugins = json.loads(args[0].removeprefix("--plugins="))
    assert plugins == [*recipe()["plugins"], tracking.SWANLAB_PLUGIN]
    assert args[1:] == ["--use_swanlab=True", "--swanlab_project=gmb", "--swanlab_experiment_name=ds15b_fft",
                        "--swanlab_mode=disabled"]


def test_overrides_reach_axolotls_config_as_values():
    """fire (Axolotl's CLI parser) turns each override into the typed value load_cfg applies."""
    import fire

    captured = {}
    fire.Fire(lambda config, **kwargs: captured.update(kwargs),
              command=["r.yml", *tracking.overrides(recipe(), str(RECIPE), "swanlab")])
    assert captured["use_swanlab"] is True and tracking.SWANLAB_PLUGIN in captured["plugins"]


def test_unknown_tracker_is_refused():
    with pytest.raises(Exception, match="expected TRACK to be one of wandb, swanlab"):
        tracking.overrides(recipe(), str(RECIPE), "mlflow")


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
