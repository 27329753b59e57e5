"""Tracking (off by default, one variable, nothing contacted). (The model card's tests: tests/evaluators/.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.constants import ROOT
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
