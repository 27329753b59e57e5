"""Where the CPU time of fine-tuning and prediction goes, lever by lever, against today's path, in one run:

    llmner bench speed --data-dir ../shared/data --out-dir runs/bench_speed        # make bench-speed

Training: the real SmolLM2-135M-Instruct (`make model`) LoRA-trained through `llmner train`, one epoch over the same
seeded sample of CoNLL-2003 training sentences, by
- `before`: the recipe as it was (benchmarks/fixtures/smollm2_135m_lora_conll.before.yml, kept so this baseline
  cannot drift) on the examples as converted (the full instruction in every system turn), launched as `llmner train`
  launched it then (accelerate alone, which gives its process one thread);
- each lever alone on top of `before`;
- `after`: recipes/smollm2_135m_lora_conll.yml as it is now, on the examples as converted, and `after, compact
  prompt` the same on the compact prompt (`llmner derive --prompt compact`).
Prediction: `llmner predict` on a seeded sample of CoNLL-2003 test sentences with the model its row trained, today's
settings (adapter unmerged, no loop stop, no prefix cache, batch 16) against each lever and the new defaults.

Figures: training sentences/s and tokens/s (the examples' tokens as the chat template renders them, padding not
counted) from Axolotl's own train_runtime, with the share of this machine's bf16 matrix-multiply peak (4·N FLOPs a
token, N the model's parameters, as benchmarks/real.py counts); prediction sentences/s over the generation time
`llmner predict` reports (model loading left out). Every row is written to OUT_DIR/rows.json as soon as it is
measured and skipped when present, so a cut run resumes; OUT_DIR/results.md is the table.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import click
import yaml

from llmner.benchmarks.real import (
    BEFORE_RECIPE,
    MODEL,
    RECIPE,
    llmner,
    log,
    logged_train_runtime,
    run,
    seeded_sample,
    training_tokens,
)
from llmner.benchmarks.real_report import machine, matmul_peak_gflops
from llmner.core import options
from llmner.core.errors import DataError
from llmner.core.io import read_json, write_jsonl
from llmner.core.schemas import read_records
from llmner.prediction.partial import partial_path

BF16 = "llmner.training.cpu_bf16.CpuBf16Plugin"
ANSWER_LOGITS = "llmner.training.answer_logits.AnswerOnlyLogitsPlugin"
RECORD = "llmner.training.prompt_record.PromptRecordPlugin"
SHARED_PREFIX = "llmner.training.shared_prefix.SharedPrefixPlugin"

# How `llmner train` launched before it asked accelerate for a thread per core: accelerate alone, one thread.
ONE_THREAD = ("--", "accelerate", "launch", "-m", "axolotl.cli.train")
# name: (recipe, prompt style, recipe overrides, `llmner train` launcher). Each lever alone is `before` with one change.
TRAINING = {
    "before": (BEFORE_RECIPE, None, {}, ONE_THREAD),
    "compact prompt": (BEFORE_RECIPE, "compact", {"plugins": [BF16, RECORD]}, ONE_THREAD),
    "answer-only logits": (BEFORE_RECIPE, None, {"plugins": [BF16, ANSWER_LOGITS]}, ONE_THREAD),
    "length-grouped batches": (BEFORE_RECIPE, None, {"group_by_length": True}, ONE_THREAD),
    "shared prefix": (BEFORE_RECIPE, None, {"plugins": [BF16, SHARED_PREFIX]}, ONE_THREAD),
    "a thread per core": (BEFORE_RECIPE, None, {}, ()),
    "after": (RECIPE, None, {}, ()),
    "after, compact prompt": (RECIPE, "compact", {}, ()),
}
# name: (training row whose model predicts, `llmner predict` options). Today's path first.
TODAY = ("--batch-size", "16", "--no-merge", "--loop-stop", "off", "--no-prefix-cache")
PREDICTION = {
    "before": ("before", TODAY),
    "merged adapter": ("before", ("--batch-size", "16", "--merge", "--loop-stop", "off", "--no-prefix-cache")),
    "loop stop": ("before", ("--batch-size", "16", "--no-merge", "--no-prefix-cache")),
    "batch 64": ("before", ("--batch-size", "64", "--no-merge", "--loop-stop", "off", "--no-prefix-cache")),
    "prefix cache": ("before", ("--batch-size", "16", "--no-merge", "--loop-stop", "off")),
    "compact prompt": ("compact prompt", TODAY),
    "after": ("after", ()),
    "after, compact prompt": ("after, compact prompt", ()),
}


def model_parameters() -> int:
    from transformers import AutoConfig, AutoModelForCausalLM

    with __import__("torch").device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(MODEL))
    return sum(p.numel() for p in model.parameters())


def generation_seconds(log_text: str) -> float:
    """The generation time `llmner predict` reports on its last line ("... generated in 12.3 s ...")."""
    found = re.findall(r"generated in ([\d.]+) s", log_text)
    if not found:
        raise click.ClickException("llmner predict reported no generation time")
    return float(found[-1])


class Levers:
    def __init__(self, out: Path, pool: list[dict], test: Path, sentences: int):
        self.out, self.pool, self.test, self.sentences = out, pool, test, sentences
        self.rows_path = out / "rows.json"
        self.rows = read_json(self.rows_path) if self.rows_path.exists() else {"training": {}, "prediction": {}}

    def save(self, part: str, name: str, row: dict) -> None:
        self.rows[part][name] = row | {"measured": time.strftime("%Y-%m-%d %H:%M")}
        self.rows_path.write_text(json.dumps(self.rows, indent=2) + "\n", encoding="utf-8")

    def folder(self, name: str) -> Path:
        return self.out / "train" / name.replace(" ", "_")

    def train(self, name: str) -> None:
        if name in self.rows["training"]:
            return
        recipe, prompt, overrides, launcher = TRAINING[name]
        folder = self.folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        write_jsonl(folder / "pool.jsonl", self.pool)
        run(llmner("derive", str(recipe), "--data", str(folder / "pool.jsonl"), "--out-dir", str(folder),
                   *(("--prompt", prompt) if prompt else ())), folder / "derive.log")
        derived = yaml.safe_load((folder / "recipe.yml").read_text(encoding="utf-8")) | overrides
        (folder / "recipe.yml").write_text(yaml.safe_dump(derived, sort_keys=False), encoding="utf-8")
        log(f"training: {name} on {len(self.pool)} sentences")
        wall = run(llmner("train", str(folder / "recipe.yml"), *launcher), folder / "train.log")
        runtime = logged_train_runtime(folder / "output")
        tokens = training_tokens(MODEL, list(read_records(folder / "train.jsonl")))
        self.save("training", name, {"sentences": len(self.pool), "tokens": tokens, "train_runtime_seconds": runtime,
                                     "wall_seconds": round(wall, 1)})

    def predict(self, name: str) -> None:
        if name in self.rows["prediction"]:
            return
        trained, extra = PREDICTION[name]
        folder = self.out / "predict" / name.replace(" ", "_")
        folder.mkdir(parents=True, exist_ok=True)
        log(f"prediction: {name} on {self.sentences} sentences")
        partial_path(folder / "predictions.jsonl").unlink(missing_ok=True)  # a timed run answers every sentence
        run(llmner("predict", "--model", str(self.folder(trained) / "output"), "--data", str(self.test),
                   "--output", str(folder / "predictions.jsonl"), "--max-new-tokens", "96", "--dtype", "bfloat16",
                   *extra), folder / "predict.log")
        seconds = generation_seconds((folder / "predict.log").read_text(encoding="utf-8", errors="replace"))
        self.save("prediction", name, {"sentences": self.sentences, "generation_seconds": seconds,
                                       "model": trained, "options": " ".join(extra)})


def table(rows: dict, peak: float, parameters: int) -> str:
    before, lines = rows["training"].get("before"), []
    # Tokens as the template renders them: where a lever skips work (the shared prefix run once a batch), the share
    # is of the work the old path did, so it can pass what the machine computes.
    lines += ["| training | sentences | sentences/s | tokens/s (as rendered) | share of the bf16 peak (4·N a rendered "
              "token) | × before |",
              "|---|---|---|---|---|---|"]
    for name, row in rows["training"].items():
        rate = row["sentences"] / row["train_runtime_seconds"]
        tokens = row["tokens"] / row["train_runtime_seconds"]
        ratio = rate / (before["sentences"] / before["train_runtime_seconds"]) if before else float("nan")
        lines.append(f"| {name} | {row['sentences']:,} | {rate:.2f} | {tokens:.0f} | "
                     f"{4 * parameters * tokens / 1e9 / peak:.0%} | {ratio:.2f}× |")
    before = rows["prediction"].get("before")
    lines += ["", "| prediction | model | options | sentences | sentences/s | × before |", "|---|---|---|---|---|---|"]
    for name, row in rows["prediction"].items():
        rate = row["sentences"] / row["generation_seconds"]
        ratio = rate / (before["sentences"] / before["generation_seconds"]) if before else float("nan")
        lines.append(f"| {name} | {row['model']} | `{row['options'] or '(defaults)'}` | {row['sentences']} | "
                     f"{rate:.2f} | {ratio:.2f}× |")
    return "\n".join(lines) + "\n"


@click.command()
@options.data_dir(help="Raw datasets (make data's input): conll2003/train.txt and test.txt are read.")
@options.out_dir("Every row's files, rows.json and results.md.", default="runs/bench_speed")
@options.examples(help="Training sentences (a seeded sample of CoNLL-2003 train).", default=160)
@click.option("--test-size", type=click.IntRange(min=1), default=160, show_default=True,
              help="Test sentences predicted (a seeded sample of CoNLL-2003 test).")
def main(data_dir, out_dir, examples, test_size):
    """Today's training and prediction path against each lever and the new defaults, side by side."""
    raw = Path(data_dir) / "conll2003"
    if not (raw / "train.txt").is_file():
        raise DataError(raw / "train.txt", None, "expected the raw CoNLL-2003 training file (`llmner data fetch`)")
    out = Path(out_dir)
    if (out / "rows.json").exists():
        read_json(out / "rows.json")  # a cut file is one line now, not after an hour of training
    (out / "data").mkdir(parents=True, exist_ok=True)
    for split, source in (("train", "train.txt"), ("test", "test.txt")):
        if not (out / "data" / f"{split}.jsonl").exists():
            run(llmner("data", "convert", "conll2003", "--input", str(raw / source), "--output",
                       str(out / "data" / f"{split}.jsonl"), "--split", split), out / f"convert_{split}.log")
    run(llmner("model", "--out-dir", str(MODEL)), out / "model.log")
    test = out / "test_sample.jsonl"
    write_jsonl(test, seeded_sample(list(read_records(out / "data" / "test.jsonl")), test_size))
    levers = Levers(out, seeded_sample(list(read_records(out / "data" / "train.jsonl")), examples), test, test_size)
    for name in TRAINING:
        levers.train(name)
    for name in PREDICTION:
        levers.predict(name)
    peak, parameters = matmul_peak_gflops("bfloat16"), model_parameters()
    header = (f"Machine: {machine()}, bf16 matrix-multiply peak {peak:.0f} GFLOP/s "
              f"measured now; model {parameters / 1e6:.0f}M parameters.\n\n")
    (out / "results.md").write_text(header + table(levers.rows, peak, parameters), encoding="utf-8")
    click.echo(header + table(levers.rows, peak, parameters))
