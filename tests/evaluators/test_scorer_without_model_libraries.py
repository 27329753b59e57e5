"""The scorer needs no model library: `llmner score` runs with torch, transformers and friends made
unimportable (as seqeval needs none)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.constants import FIXTURES, ROOT

BLOCKED = ("torch", "transformers", "peft", "accelerate", "axolotl", "trl", "vllm", "bitsandbytes", "spacy",
           "datasets", "deepspeed")
# A meta-path finder that refuses the model libraries, installed before anything else is imported.
GUARD = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ImportError("blocked in this test: " + name)
sys.meta_path.insert(0, Block())
sys.argv = ["llmner"] + sys.argv[1:]
import runpy
runpy.run_module("llmner", run_name="__main__")
"""


def test_score_runs_with_model_libraries_unimportable(tmp_path):
    gold = FIXTURES / "five.expected.jsonl"  # five.conll as the converter writes it
    examples = [json.loads(line) for line in gold.read_text().splitlines()]
    pred = tmp_path / "pred.jsonl"
    pred.write_text("".join(json.dumps({"id": e["id"], "output": e["messages"][-1]["content"]}) + "\n"
                            for e in examples))
    report, png = tmp_path / "report.json", tmp_path / "confusion.png"
    result = subprocess.run([sys.executable, "-c", GUARD, "score", "--data", str(gold), "--pred", str(pred),
                             "--json", str(report), "--confusion-png", str(png)], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(report.read_text())["entity"]["micro"]["f1"] == 1.0 and png.exists()


def test_the_guard_really_blocks(tmp_path):
    """The test above would prove nothing if the guard let torch through."""
    probe = GUARD.split("sys.argv")[0] + "import torch\n"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0 and "blocked in this test: torch" in result.stderr


def test_the_html_page_needs_spacy_but_no_model_library(tmp_path):
    """--html draws with spaCy's displaCy, which imports no torch where torch is missing: the page is made with every
    model library but spaCy unimportable."""
    gold = FIXTURES / "five.expected.jsonl"
    examples = [json.loads(line) for line in gold.read_text().splitlines()]
    pred = tmp_path / "pred.jsonl"
    pred.write_text("".join(json.dumps({"id": e["id"], "output": "none"}) + "\n" for e in examples))
    guard = GUARD.replace(repr(BLOCKED), repr(tuple(name for name in BLOCKED if name != "spacy")))
    page = tmp_path / "page.html"
    result = subprocess.run([sys.executable, "-c", guard, "score", "--data", str(gold), "--pred", str(pred),
                             "--html", str(page), "--resamples", "0"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'class=\\"entities\\"' in page.read_text(encoding="utf-8")  # displaCy drew them (in the cards' JSON)
