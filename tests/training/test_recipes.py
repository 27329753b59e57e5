"""Every recipe, found recursively: a header, Axolotl's own validation, paths that exist after `make data`, DeepSpeed
configs that DeepSpeed loads with the recipe's batch settings. (The Slurm scripts: tests/training/test_slurm.py.)"""

from __future__ import annotations

import copy
import json
import re
import shlex
from pathlib import Path

import pytest

from llmner.core.recipes import load_recipe
from llmner.training.known_keys import unknown_keys
from llmner.training.twin import TEMPLATE_TOKENS
from tests.cli import llmner
from tests.constants import ROOT

RECIPES = sorted((ROOT / "recipes").rglob("*.yml"))  # recipes/ holds Axolotl YAML only
DEEPSPEED = sorted((ROOT / "deepspeed_configs").glob("*.json"))
H100 = ({"bf16": True, "fp8": True, "tf32": True, "n_gpu": 1, "compute_capability": "sm_90"},
        {"torch_version": "2.13.0"})


def load(path: Path) -> dict:
    return load_recipe(path)


def test_recipes_are_found_recursively_and_named_by_model_and_method():
    assert len(RECIPES) >= 9
    for path in RECIPES:
        assert "tagger" not in load(path), f"{path.name}: recipes/ holds Axolotl recipes only"
        # <model>[_<size>]_<method>[_<task>]: smollm2_135m_lora_conll, ds15b_fft
        assert re.fullmatch(r"[a-z0-9]+(_\d+[mb])?_(fft|lora|qlora)(_[a-z0-9]+)?", path.stem), path.name


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_header_says_what_data_launch_and_gpus(path):
    header = path.read_text().split("\n\n")[0]
    assert all(line.startswith("#") for line in header.splitlines())
    for field in ("Data:", "Launch:", "GPUs:", "Score:"):
        assert field in header, f"{path.name}: header lacks {field}"
    assert path.relative_to(ROOT).as_posix() in header


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_the_launch_line_is_llmner_train_and_runs(path, monkeypatch):
    """The headers said `accelerate launch -m axolotl.cli.train RECIPE`, which skips `llmner train`'s checks (the
    recipe loaded, keys Axolotl does not know refused) and --track; the line a reader copies is `llmner train`."""
    header = path.read_text(encoding="utf-8").split("\n\n")[0]
    line = re.search(r"^# Launch:\s+(.*?)(\s{2,}\(.*)?$", header, re.M)[1]
    words = shlex.split(line)
    assert words[:3] == ["llmner", "train", path.relative_to(ROOT).as_posix()], line
    cut = words.index("--") if "--" in words else len(words)
    monkeypatch.chdir(ROOT)  # the line names the recipe from the root
    result = llmner(*words[1:cut], "--dry-run", *words[cut:])
    assert result.exit_code == 0 and "axolotl.cli.train" in result.stdout, result.output


def validate(recipe: dict):
    """Axolotl's validation as `axolotl train` runs it (axolotl.cli.config.load_cfg): the recipe's plugins registered
    first, so that their keys (liger_*) join the schema instead of being dropped."""
    from axolotl.cli.config import prepare_plugins
    from axolotl.utils.config import validate_config
    from axolotl.utils.dict import DictDefault

    cfg = DictDefault(copy.deepcopy(recipe))
    prepare_plugins(cfg)
    return validate_config(cfg, capabilities=H100[0], env_capabilities=H100[1])


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_axolotl_validates_the_recipe(path):
    recipe = load(path)
    validated = validate(recipe)
    assert validated.base_model and validated.datasets
    assert validated.datasets[0]["roles_to_train"] == ["assistant"]  # loss on the answer only
    assert validated.seed == 42
    assert unknown_keys(recipe) == []
    for key in (key for key in recipe if key.startswith("liger_")):  # the plugin's keys survive validation
        assert validated[key] == recipe[key], key


def test_a_misspelled_key_fails_validation():
    recipe = load(ROOT / "recipes" / "ds15b_lora.yml")
    recipe["lora_dropuot"] = recipe.pop("lora_dropout")
    recipe["datasets"][0]["roles_to_trian"] = recipe["datasets"][0].pop("roles_to_train")
    validate(recipe)  # Axolotl itself accepts it, silently
    assert unknown_keys(recipe) == ["lora_dropuot", "datasets[0].roles_to_trian"]


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_recipe_uses_a_template_the_twins_know_and_files_that_exist(path):
    recipe = load(path)
    assert recipe["chat_template"] in TEMPLATE_TOKENS
    if "deepspeed" in recipe:
        assert (ROOT / recipe["deepspeed"]).exists()
    for dataset in recipe["datasets"] + recipe.get("test_datasets", []):
        assert dataset["path"].startswith("data/"), "data paths point at `make data` output"


@pytest.mark.data
@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_recipe_data_exists_after_make_data(converted, path):
    recipe = load(path)
    for dataset in recipe["datasets"] + recipe.get("test_datasets", []):
        assert (converted / Path(dataset["path"]).relative_to("data")).exists(), dataset["path"]


@pytest.mark.parametrize("ds_path", DEEPSPEED, ids=lambda p: p.stem)
@pytest.mark.parametrize("recipe_path", RECIPES[:3], ids=lambda p: p.stem)
def test_deepspeed_config_loads_with_the_recipe_batch_settings(ds_path, recipe_path, tmp_path):
    """The "auto" values are filled the way the trainer fills them, then DeepSpeed's own config class reads them."""
    from deepspeed.runtime.config import DeepSpeedConfig
    from transformers import TrainingArguments
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    recipe = load(recipe_path)
    args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=recipe["micro_batch_size"],
                             gradient_accumulation_steps=recipe["gradient_accumulation_steps"],
                             max_grad_norm=recipe["max_grad_norm"], use_cpu=True, report_to=[])
    hf_config = HfTrainerDeepSpeedConfig(json.loads(ds_path.read_text()))
    hf_config.trainer_config_process(args)
    filled = hf_config.config
    assert "auto" not in json.dumps({k: v for k, v in filled.items() if k != "zero_optimization"})
    for key in ("reduce_bucket_size", "stage3_prefetch_bucket_size", "stage3_param_persistence_threshold"):
        filled["zero_optimization"].pop(key, None)  # filled from the model's hidden size at launch
    config = DeepSpeedConfig(filled)
    assert config.train_micro_batch_size_per_gpu == recipe["micro_batch_size"]
    assert config.gradient_accumulation_steps == recipe["gradient_accumulation_steps"]
    assert config.train_batch_size == recipe["micro_batch_size"] * recipe["gradient_accumulation_steps"]
    assert config.zero_optimization_stage == (2 if "zero2" in ds_path.stem else 3)

