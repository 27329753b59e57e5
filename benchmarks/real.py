"""The measured table on real data with a real pretrained model (SmolLM2-135M-Instruct, `make model`), on this machine:

    llmner bench real --data-dir ../shared/data --out-dir runs/bench_real        # make bench-real

Every row is predicted on the same fixed subset of CoNLL-2003 test (a seeded sample, its size printed), scored by the
evaluator with 95% intervals, and compared with the fine-tuned row by paired bootstrap:
- SmolLM2 zero-shot and few-shot prompting (prediction, the recipe's prompt; few-shot puts solved training sentences
  in the system prompt);
- SmolLM2 LoRA SFT through the recipe (recipes/smollm2_135m_lora_conll.yml, derived onto training subsets of growing
  size: the learning curve), with its training examples, steps, wall time and tokens/s;
- the largest LoRA model with grounded constrained decoding, in each of its modes (skip, end, force);
- the seeds' LLM + linear + CRF tagger with SmolLM2 as the backbone;
- spaCy from scratch on the same training subsets;
- AG News: label log-probability scoring, accuracy and ECE before and after temperature scaling.
Each step writes its result files and is skipped when they exist, so a cut run resumes where it stopped (a training
run cut mid-way starts that run again). Results: OUT_DIR/results.md, OUT_DIR/learning_curve.png, OUT_DIR/rows.json.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import click
import yaml

from llmner.core import options
from llmner.core.answer_format import DEFAULT_FORMAT, parse_answer, render_lines
from llmner.core.errors import DataError
from llmner.core.examples import draw_shots
from llmner.core.io import read_json, read_jsonl, write_jsonl
from llmner.core.recipes import load_recipe
from llmner.core.schemas import NerPrediction, read_examples, read_records

RECIPE = Path("recipes/smollm2_135m_lora_conll.yml")
BEFORE_RECIPE = Path("benchmarks/fixtures/smollm2_135m_lora_conll.before.yml")
MODEL = Path("models/smollm2-135m-instruct")
CRF_CONFIG = Path("baselines/configs/smollm2_135m_lora_crf_conll.yml")
RECIPE_SEED = 42  # the recipe's training seed: its row keeps the plain name
# new tokens a prediction may take, by answer format: past the longest gold answer of the corpora here (CoNLL-2003
# lines 123 tokens at most, inline 220; CCFBDCI's JSON 258 in test), so none is cut; generation stops at the end of
# the answer anyway, and loop stop ends a runaway
ANSWER_TOKENS = {"lines": 96, "inline": 256, "json": 384}
SAVE_STEPS = 100  # a checkpoint every 800 sentences (~5 minutes of CPU training): what a cut run loses at most


def answer_format_of(path: Path) -> str:
    """The answer format an NER examples file is written in (its first example's: a converted file has one)."""
    return read_examples(path, limit=1)[0].gold.answer_format


def log(message: str) -> None:
    click.echo(f"[{time.strftime('%H:%M:%S')}] {message}", err=True)


def run(command: list[str], log_path: Path) -> float:
    """Run one step with its output in a log file; the wall time in seconds. A failure names the log; a step's bad
    input (exit 2, its one `error:` line) is the benchmark's bad input, reported as that line."""
    started = time.time()
    with open(log_path, "w", encoding="utf-8") as handle:
        status = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, env=environment()).returncode
    error = step_error(log_path.read_text(encoding="utf-8", errors="replace")) if status == 2 else None
    if error:
        raise error
    if status:
        raise click.ClickException(f"{' '.join(command)} failed (exit {status}); see {log_path}")
    return time.time() - started


def step_error(log_text: str) -> DataError | None:
    """The DataError a step's last `error: FILE[:LINE]: expected ...` line reports, or None if it has none.

    >>> str(step_error("converting\\nerror: raw/x.txt:3: expected a tag: got none\\n"))
    'raw/x.txt:3: expected a tag: got none'
    """
    lines = [line.removeprefix("error: ") for line in log_text.splitlines() if line.startswith("error: ")]
    found = re.match(r"(.+?)(?::(\d+))?: (expected.*)", lines[-1]) if lines else None
    return DataError(found[1], int(found[2]) if found[2] else None, found[3]) if found else None


def environment() -> dict:
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
            "AXOLOTL_DO_NOT_TRACK": "1", "TOKENIZERS_PARALLELISM": "false"}


def llmner(*args: str) -> list[str]:
    """A step as the command a user types: `llmner ARGS`, run by this Python."""
    return [sys.executable, "-m", "llmner", *args]


def lora_row(size: int, train_seed: int = RECIPE_SEED, variant: str = "") -> str:
    """The row name of the LoRA run on `size` sentences with `train_seed` (a `variant` of the recipe: an answer format).

    >>> lora_row(1600), lora_row(14041, 1), lora_row(1600, 43, "inline")
    ('smollm2_lora_1600', 'smollm2_lora_14041_seed1', 'smollm2_lora_1600_inline_seed43')
    """
    return f"smollm2_lora_{size}" + (f"_{variant}" if variant else "") + \
        ("" if train_seed == RECIPE_SEED else f"_seed{train_seed}")


def spacy_row(size: int, train_seed: int = RECIPE_SEED) -> str:
    return f"spacy_{size}" + ("" if train_seed == RECIPE_SEED else f"_seed{train_seed}")


def seeded_sample(records: list[dict], size: int, seed: int = 42) -> list[dict]:
    """A fixed subset in file order: the same ids on every run and machine (random.Random is stable across versions).

    >>> [r["id"] for r in seeded_sample([{"id": i} for i in range(10)], 3)]
    [0, 1, 4]
    """
    if size >= len(records):
        return records
    chosen = sorted(random.Random(seed).sample(range(len(records)), size))
    return [records[i] for i in chosen]


def with_shots(example: dict, shots: list[dict]) -> dict:
    """The example with solved training sentences appended to its system prompt (prediction drops assistant turns,
    so the shots live in the system turn)."""
    block = "\n\n".join(f"Text: {s['gold']['text']}\nAnswer:\n{s['messages'][-1]['content']}" for s in shots)
    messages = [dict(turn) for turn in example["messages"]]
    messages[0]["content"] += "\n\nExamples:\n\n" + block
    return {**example, "messages": messages}


def throughput(tokens: int, runtime: float | None, walls: list[float]) -> float | None:
    """Training tokens per second of the trainer's own clock, or None where it did not time the whole run: a resumed
    run's logged runtime is its last attempt's only (its cost is the attempts' wall time, reported beside it).

    >>> throughput(1000, 8.0, [10.0]), throughput(1000, 8.0, [30.0, 10.0])
    (125.0, None)
    """
    return round(tokens / runtime, 1) if runtime and len(walls) == 1 else None


def logged_train_runtime(output_dir: Path) -> float | None:
    log_text = (output_dir / "debug.log").read_text(encoding="utf-8", errors="replace")
    found = re.findall(r"'train_runtime': '?([\d.]+)", log_text)
    return float(found[-1]) if found else None


def training_tokens(model_dir: Path, examples: list[dict]) -> int:
    """Tokens the model processes in one pass over the examples (prompt and answer, as the template renders them)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    return sum(len(tokenizer.apply_chat_template(e["messages"], tokenize=True, return_dict=True)["input_ids"])
               for e in examples)


def attempt_seconds(attempt: dict, folder: Path) -> float:
    """One attempt's wall seconds: as timed when it ended, or, for an attempt cut before it could be timed (its
    process killed), from its start to its log's last write.

    >>> attempt_seconds({"log": "train.0.log", "started": 1765000000.0, "seconds": 61.5}, Path("."))
    61.5
    """
    if "seconds" in attempt:
        return attempt["seconds"]
    return round((folder / attempt["log"]).stat().st_mtime - attempt["started"], 1)


def run_resumably(command: list[str], folder: Path, step: str) -> list[float]:
    """Run a step that resumes where a cut attempt stopped (training from its last checkpoint, prediction from its
    partial file), each attempt logged to folder/STEP.N.log; the wall seconds of every attempt so far, this one last.
    An attempt is recorded before it starts, so one cut by a kill still counts."""
    path = folder / f"{step}_attempts.json"
    attempts = read_json(path, list) if path.exists() else []
    attempts.append({"log": f"{step}.{len(attempts)}.log", "started": round(time.time(), 1)})
    path.write_text(json.dumps(attempts) + "\n", encoding="utf-8")
    attempts[-1]["seconds"] = round(run(command, folder / attempts[-1]["log"]), 1)
    path.write_text(json.dumps(attempts) + "\n", encoding="utf-8")
    return attempts_seconds(folder, step)


def attempts_seconds(folder: Path, step: str) -> list[float]:
    """The wall seconds of every attempt at a step that run_resumably recorded in folder."""
    return [attempt_seconds(attempt, folder) for attempt in read_json(folder / f"{step}_attempts.json", list)]


def train_resumably(folder: Path) -> list[float]:
    """Train folder/recipe.yml, resuming from its last checkpoint; every attempt's wall seconds (run_resumably)."""
    return run_resumably(llmner("train", str(folder / "recipe.yml")), folder, "train")


def prepare_inputs(data_dir: Path, converted: Path, dataset: str, logs: Path) -> None:
    """Every dataset in `data_dir` converted into `converted` (once: skipped when `dataset`'s test split is there)
    and the model in place."""
    if not (converted / dataset / "test.jsonl").exists():
        log("converting every dataset found in --data-dir")
        run(llmner("data", "convert-all", "--data-dir", str(data_dir), "--out-dir", str(converted)),
            logs / "convert.log")
    run(llmner("model", "--out-dir", str(MODEL)), logs / "model.log")


def is_whole_split(test: Path, split: Path) -> bool:
    """Whether `test` (a seeded sample of `split`) holds every item of it."""
    return sum(1 for _ in read_records(test)) == sum(1 for _ in read_records(split))


def answers_are_spans(predictions: Path) -> bool:
    """Whether a predictions file holds character spans (spaCy's, the CRF's), which no answer format parses, rather
    than generated text."""
    for _, record in read_jsonl(predictions):
        return NerPrediction.model_validate(record).entities is not None
    return False


def unpack(shipped: Path, local: Path) -> None:
    """A file shipped gzip-compressed, written back where a run keeps it."""
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(gzip.decompress(shipped.read_bytes()))


def ship_rows(dest: Path, scored: dict[str, tuple[Path, dict]], sample: Path | None) -> list[str]:
    """Scored rows (name -> predictions file, figures) into `dest` for the repository: each row's predictions
    gzip-compressed (byte-identical on every ship, so git sees only new rows), its figures added to figures.json
    (what the re-score test checks them against), and the test items' ids where the test set is a `sample` of its
    split. The rows shipped."""
    dest.mkdir(parents=True, exist_ok=True)
    figures_path = dest / "figures.json"
    figures = read_json(figures_path) if figures_path.exists() else {}
    for name, (predictions, row_figures) in scored.items():
        (dest / f"{name}.predictions.jsonl.gz").write_bytes(gzip.compress(predictions.read_bytes(), mtime=0))
        figures[name] = row_figures
    figures_path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    if sample is not None:
        test_ids = [example["id"] for example in read_records(sample)]
        (dest / "test_ids.json").write_text(json.dumps(test_ids) + "\n", encoding="utf-8")
    return list(figures)


# a row's paths in its OUT_DIR: not shipped, meaningless elsewhere
LOCAL_FACTS = ("report", "predictions", "comparison")
# the facts a NER row's figures carry beside its scores (how to re-score it, what it was trained on)
FIGURE_FACTS = ("answer_format", "train_seed", "train_examples")


class RowsFile:
    """A bench's rows.json: each row's facts, written the moment the row is measured. A save re-reads the file under
    a lock and keeps the rows another bench wrote to it meanwhile (a second row run beside this one); the rows this
    bench saved are its own."""

    def __init__(self, path: Path):
        self.rows_path = path
        self.rows = read_json(path) if path.exists() else {}
        self._saved: set[str] = set()

    def save_row(self, name: str, row: dict) -> None:
        self.rows[name] = row
        self._saved.add(name)
        self.rows_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.rows_path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            on_disk = read_json(self.rows_path) if self.rows_path.exists() else {}
            self.rows = {**self.rows, **on_disk, **{own: self.rows[own] for own in self._saved}}
            written = self.rows_path.with_suffix(".json.tmp")
            written.write_text(json.dumps(self.rows, indent=2) + "\n", encoding="utf-8")
            written.replace(self.rows_path)  # whole or not at all: a reader never sees half a file

    def scored(self) -> dict[str, tuple[dict, dict]]:
        """The rows scored so far, each with its report: name -> (row, report)."""
        return {name: (row, read_json(row["report"])) for name, row in self.rows.items()
                if "report" in row and Path(row["report"]).is_file()}

    def pin_options(self, options: dict) -> None:
        """The options that choose the sentences every row is trained and scored on, kept in options.json beside
        rows.json on the first run. Steps are skipped once their files exist, so a later run with other values would
        silently reuse the first run's sample and rows under the same names: it stops instead, naming the option."""
        path = self.rows_path.with_name("options.json")
        pinned = read_json(path) if path.exists() else {}
        changed = [f"--{key.replace('_', '-')} {pinned[key]} (not {value})" for key, value in options.items()
                   if key in pinned and pinned[key] != value]
        if changed:
            raise DataError(path, None, f"expected the options this out-dir was measured with, {', '.join(changed)}; "
                                        "give another --out-dir for other ones")
        if options.items() - pinned.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({**pinned, **options}, indent=2) + "\n", encoding="utf-8")

    def options(self) -> dict:
        """What chooses the items every row is trained and scored on, as the first run pinned them."""
        path = self.rows_path.with_name("options.json")
        return read_json(path) if path.exists() else {}

    def ship_facts(self, dest: Path) -> None:
        """What a later run's restore needs besides predictions: every row's facts (costs, seeds, training; not its
        paths here) and the options."""
        facts = {name: {key: value for key, value in row.items() if key not in LOCAL_FACTS}
                 for name, row in self.rows.items()}
        (dest / "facts.json").write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
        (dest / "options.json").write_text(json.dumps(self.options(), indent=2) + "\n", encoding="utf-8")

    def check_shipped_options(self, shipped: Path) -> None:
        """Rows shipped with other options (another test sample, another seed) are refused, not mixed."""
        path = shipped / "options.json"
        if not path.exists() or read_json(path) != self.options():
            raise DataError(path, None, f"expected rows measured with the options of this run, {self.options()}; "
                                        "give another --ship-to for other ones")

    def score_row(self, name: str, gold: Path, predictions: Path, report: Path, facts: dict) -> None:
        """The row's predictions scored against `gold` by `llmner score` (once), its facts and report saved."""
        if not report.exists() or name not in self.rows:
            run(llmner("score", "--data", str(gold), "--pred", str(predictions), "--json", str(report),
                       "--system", name), report.with_suffix(".log"))
            self.save_row(name, {**self.rows.get(name, {}), **facts, "report": str(report),
                                 "predictions": str(predictions)})


class Bench(RowsFile):
    def __init__(self, data_dir: Path, out_dir: Path, test_size: int, sizes: list[int], seed: int,
                 dataset: str = "conll2003"):
        super().__init__(out_dir / "rows.json")
        self.data_dir, self.out, self.test_size, self.sizes, self.seed = data_dir, out_dir, test_size, sizes, seed
        self.dataset = dataset
        self.converted = out_dir / "data"
        # what every row is predicted and compared on (CoNLL's keeps the name its first runs gave it)
        self.test = out_dir / ("conll_test_subset.jsonl" if dataset == "conll2003" else f"{dataset}_test_subset.jsonl")
        self.validation = self.converted / dataset / "validation.jsonl"

    def own_format(self) -> str:
        """The answer format of the corpus as converted (CoNLL-2003 and GMB: lines; zh_ner: seed 003's JSON)."""
        return answer_format_of(self.test)

    def whole_test_set(self) -> bool:
        """Whether the rows are scored on every sentence of the dataset's test split (not a sample of it)."""
        return is_whole_split(self.test, self.converted / self.dataset / "test.jsonl")

    # --- inputs ------------------------------------------------------------------------------------------------
    def prepare(self) -> None:
        prepare_inputs(self.data_dir, self.converted, self.dataset, self.out)
        self.train_pool = read_records(self.converted / self.dataset / "train.jsonl")
        split = read_records(self.converted / self.dataset / "test.jsonl")
        self.pin_options({"corpus": self.dataset, "test_size": min(self.test_size, len(split)), "seed": self.seed})
        if not self.test.exists():
            write_jsonl(self.test, seeded_sample(split, self.test_size, self.seed))

    # --- rows ----------------------------------------------------------------------------------------------------
    def predict_row(self, name: str, model: Path, data: Path, extra: tuple[str, ...] = (), **facts) -> None:
        folder = self.out / name
        folder.mkdir(parents=True, exist_ok=True)
        predictions, report = folder / "predictions.jsonl", folder / "report.json"
        if not predictions.exists():
            log(f"{name}: predicting {self.test_size} sentences")
            budget = str(ANSWER_TOKENS[answer_format_of(data)])
            walls = run_resumably(llmner("predict", "--model", str(model), "--data", str(data), "--output",
                                         str(predictions), "--max-new-tokens", budget, "--batch-size", "16",
                                         *extra), folder, "predict")
            facts |= {"predict_seconds": round(sum(walls), 1), "predict_attempts": len(walls)}
        self.score_row(name, data, predictions, report, facts)

    def zero_shot(self) -> None:
        self.predict_row("smollm2_zero_shot", MODEL, self.test, kind="prompting", shots=0)

    def few_shot(self, shots: int = 1) -> None:
        """One solved sentence: each shot adds ~60 prompt tokens to every one of the 500 prompts."""
        few = self.out / f"conll_test_subset_{shots}shot.jsonl"
        if not few.exists():
            chosen = draw_shots([e for e in self.train_pool if e["gold"]["entities"]], shots, self.seed)
            write_jsonl(few, (with_shots(e, chosen) for e in read_records(self.test)))
        self.predict_row(f"smollm2_{shots}_shot", MODEL, few, kind="prompting", shots=shots)

    def in_format(self, split: str, answer_format: str) -> Path:
        """CoNLL-2003's `split` converted with its answers in `answer_format` (once; the same sentences and ids)."""
        path = self.converted / f"conll2003_{answer_format}" / f"{split}.jsonl"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            run(llmner("data", "convert", "conll2003", "--input", str(self.data_dir / "conll2003" / f"{split}.txt"),
                       "--output", str(path), "--split", split, "--answer-format", answer_format),
                path.with_suffix(".log"))
        return path

    def answering_in(self, records: list[dict], split: str, answer_format: str) -> list[dict]:
        """The same sentences (by id, in order) with their answers in `answer_format`."""
        if answer_format == self.own_format():
            return records
        by_id = {e["id"]: e for e in read_records(self.in_format(split, answer_format))}
        return [by_id[e["id"]] for e in records]

    def format_test(self, answer_format: str) -> Path:
        """The test subset every CoNLL row is scored on, its answers in `answer_format`."""
        if answer_format == self.own_format():
            return self.test
        path = self.out / f"conll_test_subset_{answer_format}.jsonl"
        if not path.exists():
            write_jsonl(path, self.answering_in(list(read_records(self.test)), "test", answer_format))
        return path

    def lora(self, size: int, name: str | None = None, recipe: Path = RECIPE, prompt: str | None = None,
             predict_options: tuple[str, ...] = (), answer_format: str | None = None,
             train_seed: int = RECIPE_SEED) -> Path:
        """The recipe derived onto `size` training sentences (the examples' own instruction, or the `prompt` style
        llmner derive --prompt names), trained with `train_seed`, predicted and scored; answers in `answer_format`, on
        the same sentences whatever the format. Training keeps a checkpoint every SAVE_STEPS steps: a cut run resumes
        from it, and the row's wall time adds up every attempt."""
        name = name or lora_row(size, train_seed)
        answer_format = answer_format or self.own_format()
        folder = self.out / name
        output = folder / "output"
        # a row taken back from --ship-to has its predictions, not its adapter: it is scored, not trained again
        if not (output / "adapter_model.safetensors").exists() and not (folder / "predictions.jsonl").exists():
            pool = folder / "pool.jsonl"
            subset = self.answering_in(seeded_sample(self.train_pool, size, self.seed), "train", answer_format)
            folder.mkdir(parents=True, exist_ok=True)
            write_jsonl(pool, subset)
            run(llmner("derive", str(recipe), "--data", str(pool), "--out-dir", str(folder),
                       "--train-seed", str(train_seed), "--save-steps", str(SAVE_STEPS),
                       *(("--prompt", prompt) if prompt else ())), folder / "derive.log")
            log(f"{name}: training on {size} examples (seed {train_seed})")
            walls = train_resumably(folder)
            runtime = logged_train_runtime(output)
            tokens = training_tokens(MODEL, list(read_records(folder / "train.jsonl")))
            config = load_recipe(folder / "recipe.yml")
            steps = -(-size // config["micro_batch_size"]) * config["num_epochs"]
            self.save_row(name, {"kind": "lora", "train_examples": size, "train_seed": train_seed, "answer_format":
                                 answer_format, "steps": steps,
                                 "epochs": config["num_epochs"], "train_wall_seconds": round(sum(walls), 1),
                                 "train_attempts": len(walls), "train_runtime_seconds": runtime,
                                 "train_tokens": tokens, "tokens_per_second": throughput(tokens, runtime, walls)})
            run(llmner("plot-loss", str(output)), folder / "plot.log")
        self.predict_row(name, output, self.format_test(answer_format), predict_options, **self.rows.get(name, {}))
        return output

    def before(self, size: int) -> None:
        """The row as the project trained and predicted it before the CPU-speed levers: the recipe then
        (benchmarks/fixtures), the full instruction, the adapter unmerged, no loop stop. The quality check of the
        levers is the paired comparison of this row with smollm2_lora_SIZE."""
        self.lora(size, f"smollm2_lora_{size}_before", BEFORE_RECIPE, None, ("--no-merge", "--loop-stop", "off"))

    def json_answers(self, size: int) -> None:
        """The seed-003 JSON answers against `lines`, the same sentences and steps; a JSON entity takes ~4× the
        tokens of a line, so its answers get 256 new tokens instead of 96 (loop stop ends a runaway either way)."""
        self.lora(size, f"smollm2_lora_{size}_json", predict_options=("--max-new-tokens", "256"),  # as measured
                  answer_format="json")

    def inline_answers(self, size: int, constrained: str | None = None, train_seed: int = RECIPE_SEED) -> None:
        """Inline brackets (Zhan et al. 2026) against `lines`, the same sentences and steps: the answer copies the
        sentence, so it gets 256 new tokens; `constrained` also predicts with that grounded decoding mode, where
        every answer is an exact copy and so grounded."""
        name = lora_row(size, train_seed, "inline")
        adapter = self.lora(size, name, answer_format="inline", train_seed=train_seed)
        if constrained:
            self.predict_row(f"{name}_constrained_{constrained}", adapter, self.format_test("inline"),
                             ("--constrained", constrained),
                             kind=f"lora + constrained decoding ({constrained})", train_examples=size,
                             answer_format="inline")

    def constrained(self, adapter: Path, size: int) -> None:
        """`skip` is the free generation with its ungrounded lines dropped: computed from the unconstrained row's
        predictions by the function `--constrained skip` applies (prediction.constrained.grounded_lines)."""
        from llmner.prediction.constrained import grammar_of, grounded_lines

        name = f"smollm2_lora_{size}_constrained_skip"
        skipped = self.out / name / "predictions.jsonl"
        if not skipped.exists():
            skipped.parent.mkdir(parents=True, exist_ok=True)
            examples = {e.id: e for e in read_examples(self.test)}
            free = [record for _, record in read_jsonl(self.out / f"smollm2_lora_{size}" / "predictions.jsonl")]
            write_jsonl(skipped, ({"id": p["id"], "output": grounded_lines(grammar_of(examples[p["id"]]), p["output"])}
                                  for p in free))
        self.score_row(name, self.test, skipped, skipped.with_name("report.json"),
                       {"kind": "lora + constrained decoding (skip)", "train_examples": size})
        self.predict_row(f"smollm2_lora_{size}_constrained_end", adapter, self.test, ("--constrained", "end"),
                         kind="lora + constrained decoding (end)", train_examples=size)

    def constrained_force(self, adapter: Path, size: int) -> None:
        """The first design, the slowest (a Python grammar check per candidate token): measured last."""
        self.predict_row(f"smollm2_lora_{size}_constrained_force", adapter, self.test, ("--constrained", "force"),
                         kind="lora + constrained decoding (force)", train_examples=size)

    def crf(self, size: int) -> None:
        name = f"smollm2_crf_{size}"
        folder = self.out / name
        config_path = folder / "config.yml"
        predictions, report = folder / "predictions.jsonl", folder / "report.json"
        if not predictions.exists():
            folder.mkdir(parents=True, exist_ok=True)
            train = folder / "train.jsonl"
            write_jsonl(train, seeded_sample(self.train_pool, size, self.seed))  # the LoRA row's examples
            config = load_recipe(CRF_CONFIG)
            # one epoch, not the config's three: a CPU pass over 1,600 sentences takes ~10 minutes (fp32, batch 16)
            config["tagger"] |= {"train": str(train), "dev": str(self.validation), "output_dir": str(folder / "model"),
                                 "epochs": 1}
            config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
            log(f"{name}: training the CRF tagger on {size} examples")
            if not (folder / "model" / "training.json").exists():  # written last, once the tagger is saved
                # a cut run goes on from the tagger's last checkpoint (save_steps) in folder/model
                run_resumably(llmner("baseline", "crf", "train", str(config_path)), folder, "train")
            walls = attempts_seconds(folder, "train")
            run(llmner("baseline", "crf", "predict", str(config_path), "--data", str(self.test), "--output",
                       str(predictions)), folder / "predict.log")
            self.save_row(name, {"kind": "crf (1 epoch)", "train_examples": size,
                                 "train_wall_seconds": round(sum(walls), 1), "train_attempts": len(walls)})
        self.score_row(name, self.test, predictions, report, self.rows.get(name, {}))

    def spacy(self, size: int, train_seed: int = RECIPE_SEED) -> None:
        name = spacy_row(size, train_seed)
        folder = self.out / name
        predictions, report = folder / "predictions.jsonl", folder / "report.json"
        if not predictions.exists():
            folder.mkdir(parents=True, exist_ok=True)
            train = folder / "train.jsonl"
            write_jsonl(train, seeded_sample(self.train_pool, size, self.seed))
            log(f"{name}: training spaCy from scratch on {size} examples (seed {train_seed})")
            wall = run(llmner("baseline", "spacy", "train", "--data", str(train), "--eval-data", str(self.validation),
                              "--out-dir", str(folder / "model"), "--epochs", "10", "--eval-frequency", "100",
                              "--seed", str(train_seed)),
                       folder / "train.log")
            run(llmner("baseline", "spacy", "predict", "--model", str(folder / "model" / "model-best"), "--data",
                       str(self.test), "--output", str(predictions)), folder / "predict.log")
            self.save_row(name, {"kind": "spacy", "train_examples": size, "train_seed": train_seed,
                                 "train_wall_seconds": round(wall, 1)})
        self.score_row(name, self.test, predictions, report, self.rows.get(name, {}))

    def ag_news(self, size: int = 300, calibration: int = 200) -> None:
        name = "smollm2_ag_news_label_scores"
        folder = self.out / name
        folder.mkdir(parents=True, exist_ok=True)
        items = seeded_sample(read_records(self.out / "data/ag_news/test.jsonl"), size + calibration, self.seed)
        evaluated, held = folder / "test.jsonl", folder / "calibration.jsonl"
        if not evaluated.exists():
            write_jsonl(evaluated, items[:size])
            write_jsonl(held, items[size:])
        for variant, extra in (("raw", ()), ("calibrated", ("--calibration-data", str(held)))):
            predictions, report = folder / f"predictions_{variant}.jsonl", folder / f"report_{variant}.json"
            if not predictions.exists():
                log(f"{name} ({variant}): scoring 4 labels for {size} items")
                run(llmner("predict-labels", "--model", str(MODEL), "--data", str(evaluated), "--output",
                           str(predictions), "--batch-size", "16", *extra),
                    folder / f"predict_{variant}.log")
            self.score_row(f"{name}_{variant}", evaluated, predictions, report, {"kind": "label scores"})

    def compare_seeds(self, size: int, seeds: list[int]) -> Path | None:
        """The headline verdict: the LoRA runs against the spaCy runs at `size`, every seed measured so far on each
        side, by `llmner compare` over runs (examples and runs resampled; Welch's test where both sides have
        several)."""
        # a run counts once it is scored: one trained, or taken back from --ship-to, has no predictions here yet
        sides = [[self.rows[name]["predictions"] for name in names if "predictions" in self.rows.get(name, {})]
                 for names in ([lora_row(size, seed) for seed in seeds], [spacy_row(size, seed) for seed in seeds])]
        if not all(sides):
            return None
        out = self.out / f"compare_lora_vs_spacy_{size}.json"
        run(llmner("compare", "--data", str(self.test), "--pred", ",".join(sides[1]), "--pred", ",".join(sides[0]),
                   "--json", str(out)), out.with_suffix(".log"))
        return out

    def ship(self, dest: Path) -> list[str]:
        """Every scored row into `dest` for the repository (`ship_rows`), and the verdict's comparison. The rows
        shipped."""
        scored = {}
        for name, (row, report) in self.scored().items():
            if "ag_news" in name:
                continue
            scored[name] = (Path(row["predictions"]),
                            {"entity.micro.f1": round(report["entity"]["micro"]["f1"], 4),
                             "ungrounded_mentions": report["ungrounded_mentions"],
                             "unparseable_outputs": report["unparseable_outputs"]}
                            | {key: row[key] for key in FIGURE_FACTS
                               if key in row})
        shipped = ship_rows(dest, scored, None if self.whole_test_set() else self.test)
        self.ship_facts(dest)
        for verdict in self.out.glob("compare_lora_vs_spacy_*.json"):
            (dest / verdict.name).write_bytes(verdict.read_bytes())
        return shipped

    def restore(self, shipped: Path) -> list[str]:
        """The rows an earlier run shipped to `shipped` (its out-dir gone with its machine or session) put back in
        this out-dir: each row's predictions where this out-dir has none, and its facts (facts.json; a folder
        shipped before there was one gives the figures' seed, size and format), so that each row is scored again
        when the run reaches it, never trained or predicted again. The rows restored."""
        figures = read_json(shipped / "figures.json") if (shipped / "figures.json").exists() else {}
        missing = [name for name in figures if not (self.out / name / "predictions.jsonl").exists()]
        if not missing:
            return []
        self.check_shipped_options(shipped)
        facts = read_json(shipped / "facts.json") if (shipped / "facts.json").exists() else {}
        for name in missing:
            unpack(shipped / f"{name}.predictions.jsonl.gz", self.out / name / "predictions.jsonl")
            kept = facts.get(name) or {key: value for key, value in figures[name].items()
                                       if key in FIGURE_FACTS}
            self.save_row(name, {key: value for key, value in kept.items() if key not in LOCAL_FACTS})
        return missing

    def in_reference_format(self, name: str, row: dict) -> str:
        """The row's predictions in the corpus's own answer format, the one the reference's gold reads. A CoNLL-2003
        row trained in another format is parsed in that format against its own gold and its mentions written back as
        lines (the same mentions, so the same strict F1)."""
        answer_format = row.get("answer_format", DEFAULT_FORMAT)
        if answer_format == self.own_format() or answers_are_spans(Path(row["predictions"])):
            return row["predictions"]
        if self.own_format() != DEFAULT_FORMAT:
            raise DataError(self.test, None, f"expected lines answers to compare a {answer_format} row with")
        path = self.out / name / "predictions.as_lines.jsonl"
        if not path.exists():
            golds = {example.id: example.gold for example in read_examples(self.format_test(answer_format))}
            write_jsonl(path, ({"id": p["id"], "output": render_lines(parse_answer(
                p["output"], answer_format, golds[p["id"]].text, golds[p["id"]].tokens).mentions)}
                for _, p in read_jsonl(row["predictions"])))
        return str(path)

    def compare_with(self, reference: str) -> None:
        for name, row in self.rows.items():
            if name == reference or "ag_news" in name or "comparison" in row or "predictions" not in row:
                continue  # compared already, or not predicted yet (trained, its prediction to come)
            gold = self.out / f"conll_test_subset_{row['shots']}shot.jsonl" if row.get("shots") else self.test
            out = self.out / name / "compare.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            run(llmner("compare", "--data", str(gold), "--pred", self.rows[reference]["predictions"],
                       "--pred", self.in_reference_format(name, row), "--json", str(out)), out.with_suffix(".log"))
            self.save_row(name, {**row, "comparison": str(out)})


@click.command()
@options.data_dir(help="Raw datasets (make data's input).")
@options.out_dir("Every row's files, rows.json, results.md and learning_curve.png.", default="runs/bench_real")
@click.option("--corpus", type=click.Choice(["conll2003", "gmb", "wnut17", "zh_ner"]), default="conll2003",
              show_default=True, help="NER corpus of every row (the rows past LoRA and spaCy are CoNLL-2003's).")
@click.option("--test-size", type=click.IntRange(min=1), default=500, show_default=True,
              help="Test sentences (a seeded sample; the whole test split from its size up, CoNLL-2003's 3,453).")
@click.option("--size", "sizes", type=click.IntRange(min=1), multiple=True, default=(100, 400, 1600),
              show_default=True, help="Training examples of one point of the learning curve; repeat it for several.")
@options.seed(help="Seed of the test sample and the training subsets.")
@click.option("--train-seed", "train_seeds", type=int, multiple=True, default=(RECIPE_SEED,), show_default=True,
              help="Training seed of the LoRA and spaCy runs at the largest size; repeat it for several runs a system.")
@click.option("--rows", type=click.Choice(["all", "headline", "pair"]), default="all", show_default=True,
              help="headline: only the LoRA and spaCy runs (every seed at the largest size, then the learning curve) "
                   "and the CRF tagger, the full-scale table's rows, in order of what they decide; pair: only the "
                   "LoRA and spaCy runs at the largest size (every seed).")
@click.option("--ship-to", type=click.Path(file_okay=False), default=None,
              help="After each report, also copy every scored row's predictions (gzip), figures and facts here, for "
                   "the repository (e.g. benchmarks/results/conll2003_full); the rows shipped there before are taken "
                   "back, not measured again.")
@click.option("--report-only", is_flag=True, help="Only compare and write results.md from the rows measured so far.")
def main(data_dir, out_dir, corpus, test_size, sizes, seed, train_seeds, rows, ship_to, report_only):
    """Train, predict and score every row (the fine-tuned ones first); resumes where a previous run stopped."""
    from llmner.benchmarks import real_report

    if not report_only and not Path(data_dir).is_dir():
        raise DataError(data_dir, None, "expected the raw datasets folder (`llmner data fetch` writes it)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sizes, seeds = sorted(set(sizes)), list(dict.fromkeys(train_seeds))
    largest = max(sizes)
    if corpus != "conll2003" and rows == "all":
        raise DataError("--rows", None, f"headline or pair for {corpus} (the other rows are CoNLL-2003's)")
    bench = Bench(Path(data_dir), out, test_size, sizes, seed, corpus)

    def report() -> None:
        reference = lora_row(largest)
        if reference in bench.rows:
            bench.compare_with(reference)
        tested = bench.test.exists() and bench.converted.exists()
        sentences = sum(1 for _ in read_records(bench.test)) if tested else test_size
        real_report.write(out, bench.rows, sentences, sizes, bench.compare_seeds(largest, seeds), corpus,
                          tested and bench.whole_test_set())
        log(f"wrote {out / 'results.md'}")
        if ship_to:
            log(f"shipped {len(bench.ship(Path(ship_to)))} rows to {ship_to}")

    if not report_only:
        bench.prepare()
        restored = bench.restore(Path(ship_to)) if ship_to else []
        if restored:
            log(f"took back {len(restored)} rows shipped to {ship_to}: {', '.join(restored)}")
        if rows == "all":
            every_row(bench, sizes, seeds)
        else:
            headline(bench, largest, seeds, report, with_curve=rows == "headline")
    report()


def headline(bench: Bench, largest: int, seeds: list[int], report, with_curve: bool = True) -> None:
    """The full-scale table: each seed's LoRA and spaCy run at the largest size, the verdict so far reported after
    each pair (a cut run has stated what it measured), then the CRF tagger and the learning curve's smaller sizes."""
    for train_seed in seeds:
        bench.lora(largest, train_seed=train_seed)
        bench.spacy(largest, train_seed)
        report()
    if not with_curve:
        return
    if bench.dataset == "conll2003":  # the CRF tagger's config is CoNLL-2003's
        bench.crf(largest)
    for size in bench.sizes[:-1]:
        bench.lora(size)
        bench.spacy(size)


def every_row(bench: Bench, sizes: list[int], seeds: list[int]) -> None:
    largest = max(sizes)
    bench.zero_shot()
    adapters = {size: bench.lora(size) for size in sizes}
    for train_seed in seeds[1:]:
        bench.lora(largest, train_seed=train_seed)
    bench.before(largest)
    bench.json_answers(largest)
    bench.inline_answers(largest, constrained="force")
    for size in sizes:
        bench.spacy(size)
    for train_seed in seeds[1:]:
        bench.spacy(largest, train_seed)
    bench.constrained(adapters[largest], largest)
    bench.crf(largest)
    bench.ag_news()
    bench.few_shot()
    bench.constrained_force(adapters[largest], largest)
