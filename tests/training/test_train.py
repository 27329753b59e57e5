"""`llmner train`: the recipe loaded and checked before anything starts, Axolotl through accelerate by default (or
the launcher given after `--`), and tracking off by default, switched on by `--track` or TRACK, nothing contacted."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from llmner.core.recipes import load_recipe
from llmner.training import tracking
from tests.cli import llmner
from tests.constants import ROOT

RECIPE = ROOT / "recipes" / "ds15b_fft.yml"
CORES = str(__import__("psutil").cpu_count(logical=False))
DEFAULT = ["accelerate", "launch", "--num_cpu_threads_per_process", CORES, "-m", "axolotl.cli.train", str(RECIPE)]


@pytest.fixture(autouse=True)
def no_thread_count(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)


def recipe() -> dict:
    return load_recipe(RECIPE)


def dry_run(*args, **env) -> list[str]:
    """The command `llmner train RECIPE ARGS --dry-run` prints, as its words."""
    result = llmner("train", RECIPE, "--dry-run", *args)
    assert result.exit_code == 0, result.output
    return shlex.split(result.stdout)


def test_tracking_is_off_by_default(monkeypatch):
    monkeypatch.delenv("TRACK", raising=False)
    process = subprocess.run([sys.executable, "-m", "llmner", "train", str(RECIPE), "--dry-run"],
                             capture_output=True, text=True, cwd=ROOT, env={k: v for k, v in os.environ.items()
                                                                          if k not in ("TRACK", "OMP_NUM_THREADS")})
    assert process.returncode == 0 and process.stdout.split() == DEFAULT


def test_track_is_an_option_and_the_variable_its_default(monkeypatch):
    monkeypatch.delenv("TRACK", raising=False)
    assert dry_run("--track", "wandb")[len(DEFAULT):len(DEFAULT) + 1] == ["--use_wandb=True"]
    monkeypatch.setenv("TRACK", "swanlab")
    assert "--use_swanlab=True" in dry_run()
    assert dry_run("--track", "none") == DEFAULT  # the option wins over the variable


def test_the_launcher_after_the_double_dash_replaces_the_default(monkeypatch):
    monkeypatch.delenv("TRACK", raising=False)
    assert dry_run("--", "axolotl", "train") == ["axolotl", "train", str(RECIPE)]
    ds = "deepspeed_configs/zero2.json"
    assert dry_run("--deepspeed", ds, "--", "accelerate", "launch", "--num_processes", "4", "-m",
                   "axolotl.cli.train") == ["accelerate", "launch", "--num_processes", "4", "-m", "axolotl.cli.train",
                                            str(RECIPE), "--deepspeed", ds]


def test_a_missing_deepspeed_config_is_one_line(tmp_path):
    result = llmner("train", RECIPE, "--deepspeed", tmp_path / "nope.json", "--dry-run")
    assert result.exit_code == 2 and result.stderr == f"error: {tmp_path / 'nope.json'}: expected a DeepSpeed config " \
                                                      "file (see deepspeed_configs/)\n"


@pytest.mark.parametrize("text, line, expected", [("base_model: [m\n", 2, "expected valid YAML"),
                                                   ("- a list\n", None, "expected a YAML mapping of settings")])
def test_a_malformed_recipe_is_one_line_before_anything_is_launched(tmp_path, text, line, expected):
    """It was a yaml traceback (training.tracking read the recipe with a bare yaml.safe_load)."""
    path = tmp_path / "r.yml"
    path.write_text(text)
    process = subprocess.run([sys.executable, "-m", "llmner", "train", str(path), "--", "false"],
                             capture_output=True, text=True, cwd=ROOT)
    assert process.returncode == 2 and process.stdout == ""
    assert process.stderr.startswith(f"error: {path}{f':{line}' if line else ''}: {expected}")
    assert process.stderr.count("\n") == 1


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


def test_unknown_tracker_is_refused(monkeypatch):
    monkeypatch.setenv("TRACK", "mlflow")
    result = llmner("train", RECIPE, "--dry-run")
    assert result.exit_code == 2 and "'mlflow' is not one of 'none', 'wandb', 'swanlab'" in result.stderr


def test_a_key_axolotl_does_not_know_is_refused_before_the_launch(tmp_path):
    """Axolotl drops a misspelled key without a word (tests/training/test_recipes.py); train refuses it, naming the
    line, before anything is launched; a dry run checks the same."""
    path = tmp_path / "r.yml"
    path.write_text(RECIPE.read_text().replace("\nseed:", "\nsede:"))
    line = path.read_text().splitlines().index("sede: 42") + 1
    result = llmner("train", path, "--dry-run")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: {path}:{line}: expected settings Axolotl knows, not sede (Axolotl")
    assert result.stderr.count("\n") == 1


def threads_of_a_launch(launcher: tuple[str, ...], tmp_path) -> int:
    """How many threads torch computes with in a process the launcher starts."""
    script = tmp_path / "threads.py"
    script.write_text("import torch\nprint('threads', torch.get_num_threads())\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    accelerate = str(Path(sys.executable).parent / launcher[0])  # this environment's, whatever PATH holds
    process = subprocess.run([accelerate, *launcher[1:], str(script)], capture_output=True, text=True, env=env,
                             timeout=300)
    assert process.returncode == 0, process.stderr
    return int(process.stdout.split("threads")[-1])


def test_the_default_launch_computes_on_every_core(tmp_path):
    """accelerate alone gives its process one thread (OMP_NUM_THREADS=1): on a CPU, one core of all trained."""
    from llmner.training.train import LAUNCHER, default_launcher

    launcher = [word for word in default_launcher() if word not in ("-m", "axolotl.cli.train")]
    assert threads_of_a_launch(tuple(launcher), tmp_path) == int(CORES)
    if int(CORES) > 1:
        assert threads_of_a_launch(LAUNCHER[:2], tmp_path) == 1  # what it was: accelerate launch alone


def test_a_thread_count_given_is_kept(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert dry_run()[:4] == ["accelerate", "launch", "-m", "axolotl.cli.train"]
