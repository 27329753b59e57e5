"""The recipes proven on CPU: every recipe's tiny twin trains through a real Axolotl entry point, predicts and is
scored; Axolotl's preprocessing puts labels on exactly the answer; and the whole chain learns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmner.core.recipes import load_recipe
from llmner.training.twin import TEMPLATE_TOKENS, make_twin
from tests.constants import ROOT

RECIPES = [p for p in sorted((ROOT / "recipes").rglob("*.yml")) if "tagger" not in load_recipe(p)]
BIN = Path(sys.executable).parent
# The three ways users start training; each twin goes through one of them (`llmner train`: accelerate's launcher).
LAUNCHERS = [["axolotl", "train"], [sys.executable, "-m", "llmner", "train"],
             ["axolotl", "train", "--launcher", "python"]]

pytestmark = [pytest.mark.data, pytest.mark.training]


def environment() -> dict:
    return {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
            "AXOLOTL_DO_NOT_TRACK": "1", "TOKENIZERS_PARALLELISM": "false", "ACCELERATE_USE_CPU": "1"}


def run(command: list[str], cwd: Path = ROOT, timeout: int = 900) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, env=environment(), capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result


def recipe_data(converted: Path, recipe: Path) -> Path:
    return converted / Path(load_recipe(recipe)["datasets"][0]["path"]).relative_to("data")


def predict_and_score(model: Path, data: Path, out: Path, limit: int | None = None, max_new_tokens: int = 16,
                      extra: tuple[str, ...] = ()) -> dict:
    predictions, report = out / "predictions.jsonl", out / "report.json"
    run([sys.executable, "-m", "llmner", "predict", "--model", str(model), "--data", str(data), "--output",
         str(predictions), "--max-new-tokens", str(max_new_tokens), "--batch-size", "8", *extra]
        + (["--examples", str(limit)] if limit else []))
    gold = data
    if limit:  # score against the examples that were predicted; the rest would be counted as missing
        gold = out / "gold.jsonl"
        gold.write_text("".join(line for _, line in zip(range(limit), open(data, encoding="utf-8"))), encoding="utf-8")
    run([sys.executable, "-m", "llmner", "score", "--data", str(gold), "--pred", str(predictions), "--json",
         str(report)])
    return json.loads(report.read_text())


# CI keeps under 30 minutes on 2 cores: it trains the twins of two distinct paths, QLoRA through bitsandbytes on
# multiple choice (deepseek_v3 on Llama) and LoRA + merge on Llama-3 NER, and the full fine-tune through `make train`
# below. The other twins differ from these in size, data or template (whose masking is tested below), and each costs
# about a minute, mostly imports; they and the 3-minute learning test run on request: RUN_EVERY_TWIN=1, or
# `make test-twins` (about 14 minutes).
CI_TWINS = {"dsllama8b_qlora_cmmlu", "llama1b_lora_conll"}
EVERY_TWIN = pytest.mark.skipif(os.environ.get("RUN_EVERY_TWIN") != "1",
                                reason="beyond CI's 30 minutes, covered there by a sibling: make test-twins")


@pytest.mark.parametrize("index", [pytest.param(i, id=p.stem, marks=() if p.stem in CI_TWINS else EVERY_TWIN)
                                   for i, p in enumerate(RECIPES)])
def test_twin_trains_predicts_and_scores(converted, tmp_path, index):
    recipe = RECIPES[index]
    twin = make_twin(recipe, tmp_path, recipe_data(converted, recipe), examples=16, max_steps=2)
    run(LAUNCHERS[index % len(LAUNCHERS)] + [str(twin)])
    output = tmp_path / "output"
    config = load_recipe(recipe)
    assert (output / ("adapter_config.json" if config.get("adapter") else "config.json")).exists()
    if config.get("adapter") == "lora":  # `make merge`: Axolotl's merge plus training's tokenizer and template
        run([sys.executable, "-m", "llmner", "merge", str(twin)])
        output = output / "merged"
        assert (output / "config.json").exists() and (output / "chat_template.jinja").exists()
    report = predict_and_score(output, tmp_path / "train.jsonl", tmp_path, limit=4)
    assert report["examples"] == 4 and report["missing_predictions"] == 0


def labelled_text(twin: Path) -> list[tuple[str, str]]:
    """Run Axolotl's own preprocessing and return (decoded labelled tokens, expected) per example."""
    import datasets
    from transformers import AutoTokenizer

    run(["axolotl", "preprocess", str(twin)])
    config = load_recipe(twin)
    prepared = next(Path(config["dataset_prepared_path"]).rglob("dataset_info.json")).parent
    rows = datasets.load_from_disk(str(prepared))
    tokenizer = AutoTokenizer.from_pretrained(config["base_model"])
    examples = [json.loads(line) for line in open(config["datasets"][0]["path"], encoding="utf-8")]
    pairs = []
    for row in rows:  # Axolotl shuffles: find each row's example by its sentence
        decoded_input = tokenizer.decode(row["input_ids"])
        example = next(e for e in examples if e["messages"][1]["content"] in decoded_input)
        positions = [i for i, label in enumerate(row["labels"]) if label != -100]
        assert positions == list(range(positions[0], positions[-1] + 1)), "labels must be one contiguous answer"
        assert [row["input_ids"][i] for i in positions] == [row["labels"][i] for i in positions]
        expected = example["messages"][-1]["content"] + TEMPLATE_TOKENS[config["chat_template"]]["eos_token"]
        pairs.append((tokenizer.decode([row["input_ids"][i] for i in positions]), expected))
    return pairs


@pytest.mark.parametrize("recipe", ["ds15b_fft", "qwen15b_lora_zhner", "llama1b_lora_conll"])
def test_loss_masking_covers_exactly_the_answer_and_end_of_turn(converted, tmp_path, recipe):
    """deepseek_v3, qwen_25 and llama3: every template the recipes use."""
    path = ROOT / "recipes" / f"{recipe}.yml"
    twin = make_twin(path, tmp_path, recipe_data(converted, path), examples=12, max_steps=1)
    pairs = labelled_text(twin)
    assert len(pairs) == 12
    for decoded, expected in pairs:
        assert decoded == expected


@EVERY_TWIN
def test_chain_learns_conll_sentences(converted, tmp_path):
    """A tiny model trained from scratch on 200 real CoNLL-2003 sentences through the real recipe path reproduces
    the answer format and reaches strict entity F1 >= 0.5 on them (memorisation: masking, template, prompts,
    generation and parsing all agree). Measured here: 0.93 after 1,500 steps; 1,800 leave a margin (~3 minutes)."""
    twin = make_twin(ROOT / "recipes" / "ds15b_fft.yml", tmp_path, converted / "conll2003" / "train.jsonl",
                     examples=200, max_steps=1800, hidden=256, learning_rate=1e-3)
    run(["axolotl", "train", str(twin)])
    report = predict_and_score(tmp_path / "output", tmp_path / "train.jsonl", tmp_path, max_new_tokens=64)
    print(json.dumps({k: report[k] for k in ("unparseable_outputs", "ungrounded_mentions")}
                     | report["entity"]["micro"]))
    assert report["unparseable_outputs"] <= 10
    assert report["entity"]["micro"]["f1"] >= 0.5


def test_make_train_and_make_eval(converted, tmp_path):
    """The user's commands: `make train RECIPE=...` (accelerate launch) and `make eval MODEL=... DATA=...`."""
    twin = make_twin(ROOT / "recipes" / "ds15b_fft.yml", tmp_path, converted / "gmb" / "test.jsonl", examples=8,
                     max_steps=2)
    run(["make", "train", f"RECIPE={twin}"])
    eval_dir = tmp_path / "eval"
    result = run(["make", "eval", f"MODEL={tmp_path / 'output'}", f"DATA={tmp_path / 'train.jsonl'}",
                  f"EVAL_DIR={eval_dir}", "PREDICT_ARGS=--max-new-tokens 8"])
    report = json.loads((eval_dir / "report.json").read_text())
    assert report["task"] == "ner" and report["examples"] == 8 and report["missing_predictions"] == 0
    assert (eval_dir / "confusion.png").exists() and "entity (strict)" in result.stdout
    usage = subprocess.run(["make", "eval"], cwd=ROOT, env=environment(), capture_output=True, text=True)
    assert usage.returncode != 0 and "usage: make eval MODEL=" in usage.stdout
