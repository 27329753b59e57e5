"""The seed tasks beyond NER on real weights, one row each on the whole test split of its dataset:

    llmner bench tasks --data-dir ../shared/data --out-dir runs/bench_tasks --task ag_news     # make bench-tasks

- Classification (`ag_news`, `zh_news`): SmolLM2-135M-Instruct untouched and after LoRA SFT through the recipe
  (recipes/smollm2_135m_lora_conll.yml derived onto the task's examples), both read by label log-probabilities
  (`llmner predict-labels`): accuracy with its interval; confidence from the labels' probabilities, with a softmax
  temperature fitted on held-out items the model was not trained on; ECE before and after, with intervals. Beside
  them the classic baseline, TF-IDF + logistic regression (`llmner baseline tfidf`), trained on the same items and
  calibrated on the same held-out items.
- Multiple choice (`cmmlu`): letter accuracy on the test split of the untouched model and after LoRA on the dev
  items (CMMLU's 5 a subject, 335 in all), and the submission.csv of each. The letter is the option whose letter is
  the most probable first answer token (`llmner predict-labels`, CMMLU's own protocol): one forward pass a question,
  and an untouched model that would explain its letter is read by the letter it starts with.

AG News ships only its test split here (../shared/data/ag_news/SOURCE.md), so its rows are **2-fold cross-fitted**:
the 7,600 items are split into two seeded halves; the models of fold k are trained on SIZE items of half k, their
temperature fitted on 500 other items of half k, and they score half 1 − k. Every test item is scored once, by a model
that never saw it, but no model saw AG News's own training split: a non-standard protocol, and the table says so.

Once both rows of a pair are scored, `llmner compare` tests B − A on the same items (COMPARISONS): the fine-tuned
model against the baseline and the untouched model, and each temperature against its raw scores (ECE, paired).

Each step writes its files and is skipped when they exist, so a cut run resumes (a training run cut mid-way resumes
from its last checkpoint). With --ship-to, each row (and each fold's label scores) goes to the repository the moment
it is scored, and a run in a fresh OUT_DIR (another machine, another day) takes what was shipped there back instead of
measuring it again. Results: OUT_DIR/<task>/results.md and rows.json.
"""

from __future__ import annotations

import gzip
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from llmner.benchmarks.real import (
    MODEL,
    RECIPE,
    SAVE_STEPS,
    RowsFile,
    is_whole_split,
    llmner,
    log,
    prepare_inputs,
    run,
    run_resumably,
    seeded_sample,
    ship_rows,
    train_resumably,
    unpack,
)
from llmner.core import options
from llmner.core.errors import DataError
from llmner.core.io import read_json, write_jsonl
from llmner.core.schemas import ClassificationPrediction, Example, read_examples, read_records, read_valid

CLASSIFICATION = {"ag_news": "word", "zh_news": "char"}  # task -> the TF-IDF baseline's analyzer
# held-out items a fold's temperature is fitted on: one parameter needs few, and each costs a forward pass
CALIBRATION = 500
TASKS = (*CLASSIFICATION, "cmmlu")
# (A, B) pairs `llmner compare` tests once both are scored, B − A paired on the same test items: the fine-tuned model
# against what it must beat, and each temperature against the raw scores it rescales (ECE before and after, paired)
COMPARISONS = {
    "classification": (("tfidf_logistic_regression_calibrated", "smollm2_lora_calibrated"),
                       ("smollm2_untouched_calibrated", "smollm2_lora_calibrated"),
                       ("smollm2_untouched_raw", "smollm2_untouched_calibrated"),
                       ("tfidf_logistic_regression_raw", "tfidf_logistic_regression_calibrated"),
                       ("smollm2_lora_raw", "smollm2_lora_calibrated")),
    "mcq": (("smollm2_untouched", "smollm2_lora"),),
}
DEFAULTS = {"--size": 1600, "--test-size": None, "--seed": 42}  # the defaults, left out of results.md's command


@dataclass(frozen=True)
class Fold:
    """What one set of models is trained on, calibrated on, and scores."""

    name: str
    train: Path
    calibration: Path
    test: Path


def halves(records: list[dict], seed: int) -> tuple[list[dict], list[dict]]:
    """Two seeded halves of the records, each in file order.

    >>> [[r["id"] for r in half] for half in halves([{"id": i} for i in range(6)], 42)]
    [[0, 4, 5], [1, 2, 3]]
    """
    chosen = set(random.Random(seed).sample(range(len(records)), len(records) // 2))
    return ([r for i, r in enumerate(records) if i in chosen], [r for i, r in enumerate(records) if i not in chosen])


def log_scores(prediction: ClassificationPrediction, labels: list[str]) -> list[float]:
    """The label log-probabilities (up to a constant) behind a prediction made at temperature 1, in `labels`' order."""
    return [math.log(max(prediction.scores[label], 1e-300)) for label in labels]


def recalibrated(raw: list[ClassificationPrediction], examples: list[Example], held: list[ClassificationPrediction],
                 held_examples: list[Example]) -> tuple[float, list[ClassificationPrediction]]:
    """Temperature scaling: T fitted on the held-out examples' temperature-1 predictions (their gold labels known),
    then the raw predictions of `examples` (in their order) made again at T. (T, predictions)."""
    from llmner.prediction.label_scores import fit_temperature, gold_indices, predictions

    by_id = {p.id: p for p in held}
    temperature = fit_temperature([log_scores(by_id[e.id], e.gold.labels) for e in held_examples],
                                  gold_indices(held_examples))
    return temperature, predictions(examples, [log_scores(p, e.gold.labels) for p, e in zip(raw, examples)],
                                    temperature)


class TaskBench(RowsFile):
    def __init__(self, data_dir: Path, out_dir: Path, task: str, size: int, seed: int, test_size: int | None,
                 ship_to: Path | None = None):
        super().__init__(out_dir / task / "rows.json")
        self.data_dir, self.task, self.size, self.seed, self.test_size = data_dir, task, size, seed, test_size
        self.root = out_dir
        self.out = out_dir / task
        self.converted = out_dir / "data" / task
        self.ship_to = ship_to

    # --- inputs ------------------------------------------------------------------------------------------------
    def prepare(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        prepare_inputs(self.data_dir, self.converted.parent, self.task, self.root)
        self.test = self.out / "test.jsonl"
        records = read_records(self.converted / "test.jsonl")
        test_size = min(self.test_size or len(records), len(records))
        self.pin_options({"test_size": test_size, "size": self.size, "seed": self.seed})
        if not self.test.exists():
            write_jsonl(self.test, seeded_sample(records, test_size, self.seed))

    def options(self) -> dict:
        """What chooses the items every row is trained, calibrated and scored on (as `prepare` pinned them)."""
        return {"test_size": self._test_count(), "size": self.size, "seed": self.seed}

    def restore(self) -> list[str]:
        """The rows and folds an earlier run shipped to --ship-to (another machine's, another session's) put back
        into OUT_DIR with their facts (costs, temperatures), so that they are scored again from their predictions and
        never measured twice. Rows shipped with other options are refused, not mixed. The rows and folds restored."""
        if self.ship_to is None:
            return []
        figures = self.ship_to / "figures.json"
        missing = [name for name in (read_json(figures) if figures.exists() else {})
                   if not self.predictions_path(name).exists()]
        folds = {path: local for path, local in self.shipped_folds().items() if not local.exists()}
        if not missing and not folds:
            return []
        self.check_shipped_options(self.ship_to)
        for name, facts in read_json(self.ship_to / "facts.json").items():
            if name not in self.rows:
                self.save_row(name, facts)
        for name in missing:
            local = self.predictions_path(name)
            unpack(self.ship_to / f"{name}.predictions.jsonl.gz", local)
            submission = self.ship_to / f"{name}.submission.csv"
            if submission.is_file():
                local.with_name("submission.csv").write_bytes(submission.read_bytes())
        for shipped, local in folds.items():
            unpack(shipped, local)
        for comparison in self.ship_to.glob("compare_*.json"):  # the same pairs' tests, not run again
            if not (self.out / comparison.name).exists():
                (self.out / comparison.name).write_bytes(comparison.read_bytes())
        return missing + [f"{local.parent.name} ({local.name.removesuffix('_scored.jsonl')})"
                          for local in folds.values()]

    def shipped_folds(self) -> dict[Path, Path]:
        """The folds' label scores shipped to --ship-to (`ship_fold`, ROW.FOLD_scored.jsonl.gz), each with the path
        it has in OUT_DIR."""
        return {path: self.out / row / fold.removesuffix(".gz")
                for path in self.ship_to.glob("*.*_scored.jsonl.gz") for row, fold in [path.name.split(".", 1)]}

    def predictions_path(self, name: str) -> Path:
        """Where a row's predictions live in OUT_DIR: a classification row's raw and calibrated ones side by side in
        its model's folder.

        >>> bench = TaskBench(Path("raw"), Path("out"), "ag_news", 1600, 42, None)
        >>> str(bench.predictions_path("smollm2_lora_calibrated"))
        'out/ag_news/smollm2_lora/predictions_calibrated.jsonl'
        """
        if self.task in CLASSIFICATION:
            model, variant = name.rsplit("_", 1)
            return self.out / model / f"predictions_{variant}.jsonl"
        return self.out / name / "predictions.jsonl"

    def folds(self) -> list[Fold]:
        """The task's own splits where it has a training split; else two cross-fitted halves of the test items."""
        if (self.converted / "train.jsonl").exists():
            train, held = self.out / "train.jsonl", self.converted / "validation.jsonl"
            if not held.exists():
                held = self.out / "calibration.jsonl"
                if not held.exists():
                    self.write_fold(read_records(self.converted / "train.jsonl"), self.size, train, held)
            elif not train.exists():
                write_jsonl(train, seeded_sample(read_records(self.converted / "train.jsonl"), self.size, self.seed))
            return [Fold("test", train, held, self.test)]
        folds = []
        records = read_records(self.test)
        for k, (own, other) in enumerate([halves(records, self.seed), halves(records, self.seed)[::-1]]):
            paths = [self.out / f"fold{k}_{part}.jsonl" for part in ("train", "calibration", "test")]
            if not paths[-1].exists():
                self.write_fold(own, min(self.size, len(own) - 1), *paths[:2])
                write_jsonl(paths[2], other)
            folds.append(Fold(f"fold{k}", *paths))
        return folds

    def write_fold(self, records: list[dict], size: int, train: Path, calibration: Path) -> None:
        """`size` seeded records to train on, and up to CALIBRATION of the others to fit the temperature on (none
        where every record is trained on)."""
        trained = seeded_sample(records, size, self.seed)
        ids = {r["id"] for r in trained}
        write_jsonl(train, trained)
        write_jsonl(calibration, seeded_sample([r for r in records if r["id"] not in ids], CALIBRATION, self.seed))

    # --- rows ----------------------------------------------------------------------------------------------------
    def label_scores(self, name: str, kind: str, score_fold: Callable[[Fold, Path, Path], float],
                     seconds_key: str = "score_seconds") -> None:
        """Each fold's model scores its test half and its calibration items at temperature 1 (one pass;
        `score_fold(fold, inputs, output)` returns its seconds, kept per fold under `seconds_key`); the raw row is
        every test item's prediction, the calibrated row the same with each fold's fitted temperature."""
        folder = self.out / name
        folder.mkdir(parents=True, exist_ok=True)
        raw_path, calibrated_path = (self.predictions_path(f"{name}_{variant}") for variant in ("raw", "calibrated"))
        if not calibrated_path.exists():
            raw, calibrated, temperatures = [], [], {}
            seconds = dict(self.rows.get(name, {}).get(seconds_key, {}))
            for fold in self.folds():
                both = folder / f"{fold.name}_scored.jsonl"
                if not both.exists():
                    inputs = folder / f"{fold.name}_inputs.jsonl"
                    write_jsonl(inputs, [*read_records(fold.test), *read_records(fold.calibration)])
                    log(f"{name} ({fold.name}): scoring the labels of {sum(1 for _ in read_records(inputs))} items")
                    seconds[fold.name] = round(score_fold(fold, inputs, both), 1)
                    self.save_row(name, {**self.rows.get(name, {}), seconds_key: seconds})
                    self.ship_fold(name, both)
                scored = {p.id: p for _, p, _ in read_valid(both, ClassificationPrediction, "a prediction")}
                examples, held_examples = read_examples(fold.test), read_examples(fold.calibration)
                fold_raw = [scored[e.id] for e in examples]
                temperatures[fold.name], fold_calibrated = recalibrated(
                    fold_raw, examples, [scored[e.id] for e in held_examples], held_examples)
                raw += fold_raw
                calibrated += fold_calibrated
            write_jsonl(raw_path, (p.to_json() for p in raw))
            write_jsonl(calibrated_path, (p.to_json() for p in calibrated))
            self.save_row(name, {**self.rows.get(name, {}), "kind": kind, "temperatures": temperatures})
        for variant, path in (("raw", raw_path), ("calibrated", calibrated_path)):
            self.score(f"{name}_{variant}", path, self.rows[name])

    def llm_scores(self, name: str, model_of: Callable[[Fold], Path], kind: str) -> None:
        """`label_scores` read from the LLM's label log-probabilities (`llmner predict-labels`) of each fold's model,
        which `model_of` gives (training it) only where the fold is still to be scored."""
        def score_fold(fold: Fold, inputs: Path, output: Path) -> float:
            return sum(run_resumably(llmner(
                "predict-labels", "--model", str(model_of(fold)), "--data", str(inputs), "--output", str(output),
                "--batch-size", "16"), self.out / name, fold.name))

        self.label_scores(name, kind, score_fold)

    def score(self, name: str, predictions: Path, facts: dict) -> None:
        """The row scored, and shipped at once where --ship-to is given: a row measured is never lost to a cut run."""
        self.score_row(name, self.test, predictions, predictions.with_name(f"report_{name}.json"), facts)
        if self.ship_to is not None:
            self.ship(self.ship_to)

    def lora(self, fold: Fold) -> Path:
        """The recipe derived onto the fold's training items, trained (a checkpoint every SAVE_STEPS steps)."""
        folder = self.out / f"lora_{fold.name}"
        output = folder / "output"
        if not (output / "adapter_model.safetensors").exists():
            folder.mkdir(parents=True, exist_ok=True)
            run(llmner("derive", str(RECIPE), "--data", str(fold.train), "--out-dir", str(folder),
                       "--train-seed", str(self.seed), "--save-steps", str(SAVE_STEPS)), folder / "derive.log")
            log(f"lora ({fold.name}): training on {sum(1 for _ in read_records(fold.train))} items (seed {self.seed})")
            walls = train_resumably(folder)
            self.save_row(f"lora_{fold.name}", {"train_seed": self.seed, "train_wall_seconds": round(sum(walls), 1),
                                                "train_attempts": len(walls)})
        return output

    def tfidf(self) -> None:
        """The classic baseline, trained on each fold's training items and calibrated like the LLM: its class
        probabilities' temperature fitted on the same held-out items (a regularised logistic regression trained on
        few items is underconfident, so its raw ECE says little about what calibration can do)."""
        name = "tfidf_logistic_regression"

        def score_fold(fold: Fold, inputs: Path, output: Path) -> float:
            model, folder = self.out / name / f"model_{fold.name}", self.out / name
            return run(llmner("baseline", "tfidf", "train", "--data", str(fold.train), "--out-dir", str(model),
                              "--analyzer", CLASSIFICATION[self.task]), folder / f"train_{fold.name}.log") + \
                run(llmner("baseline", "tfidf", "predict", "--model", str(model), "--data", str(inputs),
                           "--output", str(output)), folder / f"predict_{fold.name}.log")

        self.label_scores(name, "tf-idf + logistic regression", score_fold, seconds_key="wall_seconds")

    def mcq(self) -> None:
        fold = self.folds()[0]
        for name, model_of in (("smollm2_untouched", lambda: MODEL), ("smollm2_lora", lambda: self.lora(fold))):
            folder = self.out / name
            folder.mkdir(parents=True, exist_ok=True)
            predictions = self.predictions_path(name)
            if not predictions.exists():
                model = model_of()  # the LoRA row trains its adapter only when it is still to be answered
                log(f"{name}: answering {self._test_count()} questions")
                seconds = sum(run_resumably(llmner("predict-labels", "--model", str(model), "--data", str(self.test),
                                                   "--output", str(predictions), "--batch-size", "16"),
                                            folder, "predict"))
                self.save_row(name, {"predict_seconds": round(seconds, 1)})
            if not (folder / "submission.csv").exists():
                run(llmner("score", "--data", str(self.test), "--pred", str(predictions), "--submission",
                           str(folder / "submission.csv")), folder / "submission.log")
            self.score(name, predictions, {**self.rows.get(name, {}), "kind": "letter log-probabilities, A-D"})

    def classification(self) -> None:
        self.tfidf()  # seconds: cheapest first, so a run cut early has still shipped a row
        self.llm_scores("smollm2_untouched", lambda fold: MODEL, "label scores, untouched")
        self.llm_scores("smollm2_lora", self.lora, "label scores, LoRA SFT")

    def comparisons(self) -> list[tuple[str, str, Path]]:
        """Each of the task's (A, B) pairs whose rows are both scored, with its compare JSON (made once)."""
        scored = self.scored()
        pairs = []
        for a, b in COMPARISONS["classification" if self.task in CLASSIFICATION else "mcq"]:
            if a in scored and b in scored:
                out = self.out / f"compare_{b}_vs_{a}.json"
                if not out.exists():
                    run(llmner("compare", "--data", str(self.test), "--pred", self.rows[a]["predictions"],
                               "--pred", self.rows[b]["predictions"], "--json", str(out)), out.with_suffix(".log"))
                pairs.append((a, b, out))
        return pairs

    def write_results(self) -> Path:
        from llmner.benchmarks.real_report import comparison_cell, interval

        scope = "the whole test split" if self.test_size is None else "a seeded sample of the test split"
        lines = [f"# {self.task}: SmolLM2-135M-Instruct on {scope} ({self._test_count():,} items)", "",
                 f"Command: `{self.command()}`.", ""]
        if not (self.converted / "train.jsonl").exists():
            lines += ["Protocol: 2-fold cross-fitted on the test split (no training split here): each half scored by "
                      "models trained and calibrated on the other half only. Non-standard.", ""]
        lines += ["| row | kind | accuracy [95% CI] | ECE [95% CI] | temperature | cost on this machine |",
                  "|---|---|---|---|---|---|"]
        for name, row in self.rows.items():
            if "report" not in row:
                continue
            report = read_json(row["report"])
            ece = interval(report["ece"], report.get("ece_ci")) if "ece" in report else "n/a"
            base = self.rows.get(name.rsplit("_", 1)[0], {})
            temperature = ", ".join(f"{t:.2f}" for t in base.get("temperatures", {}).values()) \
                if name.endswith("_calibrated") else "1"
            accuracy = interval(report["accuracy"], report.get("accuracy_ci"))
            lines.append(f"| `{name}` | {row.get('kind', '')} | {accuracy} | {ece} | {temperature} | "
                         f"{self.cost(name)} |")
        pairs = self.comparisons()
        if pairs:
            lines += ["", "B − A, paired on the same test items (`llmner compare`, 10,000 resamples; one run a "
                      "side, so two checkpoints):", "",
                      "| B | A | accuracy B − A [95% CI], p | ECE B − A [95% CI], p |", "|---|---|---|---|"]
            for a, b, path in pairs:
                ece = comparison_cell(str(path), "ece") if "ece" in read_json(path)["figures"] else "n/a"
                lines.append(f"| `{b}` | `{a}` | {comparison_cell(str(path), 'accuracy')} | {ece} |")
        path = self.out / "results.md"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def cost(self, name: str) -> str:
        """What a row cost, from the seconds its steps recorded: LoRA training (every fold), then scoring or
        prediction; a step that ran before its time was recorded is left out, not guessed."""
        base = name.removesuffix("_raw").removesuffix("_calibrated")
        row = {**self.rows.get(base, {}), **self.rows.get(name, {})}
        parts = []
        if base.startswith("smollm2_lora"):
            walls = [self.rows[k]["train_wall_seconds"] for k in self.rows if k.startswith("lora_")]
            parts.append(f"LoRA trained in {sum(walls):,.0f} s" + (f" ({len(walls)} folds)" if len(walls) > 1 else ""))
        for key, what in (("score_seconds", "labels scored in"), ("predict_seconds", "answered in"),
                          ("wall_seconds", "trained and predicted in")):
            if key in row:  # per fold where the step ran once a fold
                seconds = sum(row[key].values()) if isinstance(row[key], dict) else row[key]
                parts.append(f"{what} {seconds:,.0f} s")
        return "; ".join(parts) or "not recorded"

    def _test_count(self) -> int:
        return sum(1 for _ in read_records(self.test))

    def whole_test_set(self) -> bool:
        """Whether the rows are scored on every item of the task's test split (not a sample of it)."""
        return is_whole_split(self.test, self.converted / "test.jsonl")

    def command(self) -> str:
        """The command that measures these rows, with every option that differs from its default."""
        chosen = [f"--task {self.task}"] + [f"{flag} {value}" for flag, value in (
            ("--size", self.size), ("--test-size", self.test_size), ("--seed", self.seed)) if value != DEFAULTS[flag]]
        return "llmner bench tasks " + " ".join(chosen)

    def ship_fold(self, name: str, scored: Path) -> None:
        """A fold's label scores shipped the moment they exist, where --ship-to is given: a row of two folds takes an
        hour here, and its first fold is not lost to a session that ends before the second. `ship` removes them once
        their row is shipped whole."""
        if self.ship_to is not None:
            self.ship_to.mkdir(parents=True, exist_ok=True)
            (self.ship_to / f"{name}.{scored.name}.gz").write_bytes(gzip.compress(scored.read_bytes(), mtime=0))
            self.ship_facts(self.ship_to)

    def ship(self, dest: Path) -> list[str]:
        """Every scored row into `dest` for the repository (`ship_rows`: predictions, figures, the test's ids
        where it is a sample), each multiple-choice row's submission.csv as <row>.submission.csv, and what `restore`
        needs to take them back: every row's facts (costs, temperatures, training) and the options. The rows
        shipped."""
        scored = {name: (Path(row["predictions"]), {"accuracy": round(report["accuracy"], 4),
                                                    "examples": report["examples"], "kind": row.get("kind", "")}
                         | ({"ece": round(report["ece"], 4)} if "ece" in report else {}))
                  for name, (row, report) in self.scored().items()}
        shipped = ship_rows(dest, scored, None if self.whole_test_set() else self.test)
        self.ship_facts(dest)
        for name in scored:  # a row shipped whole: its folds' scores are in its predictions
            for fold_scores in dest.glob(f"{name.removesuffix('_raw').removesuffix('_calibrated')}.*_scored.jsonl.gz"):
                fold_scores.unlink()
        for _, _, path in self.comparisons():
            (dest / path.name).write_bytes(path.read_bytes())
        for name, (predictions, _) in scored.items():
            if predictions.with_name("submission.csv").is_file():
                (dest / f"{name}.submission.csv").write_bytes(predictions.with_name("submission.csv").read_bytes())
        return shipped


@click.command()
@options.data_dir(help="Raw datasets (make data's input).")
@options.out_dir("OUT_DIR/<task>/: every row's files, rows.json and results.md.", default="runs/bench_tasks")
@click.option("--task", type=click.Choice(TASKS), required=True, help="The seed task to measure.")
@click.option("--size", type=click.IntRange(min=2), default=DEFAULTS["--size"], show_default=True,
              help="Training items of the LoRA and TF-IDF models (per fold where the rows are cross-fitted).")
@click.option("--test-size", type=click.IntRange(min=2), default=DEFAULTS["--test-size"],
              help="Only a seeded sample of the test items (a quick look) [default: the whole test split].")
@options.seed(default=DEFAULTS["--seed"], help="Seed of the folds and the samples.")
@click.option("--ship-to", type=click.Path(file_okay=False), default=None,
              help="Also copy every scored row's predictions (gzip), figures and submission.csv here, for the "
                   "repository (e.g. benchmarks/results/ag_news).")
def main(data_dir, out_dir, task, size, seed, test_size, ship_to):
    """Measure one seed task's rows (resumable) and write OUT_DIR/<task>/results.md."""
    if not Path(data_dir).is_dir():
        raise DataError(data_dir, None, "expected the raw datasets folder (`llmner data fetch` writes it)")
    bench = TaskBench(Path(data_dir), Path(out_dir), task, size, seed, test_size, Path(ship_to) if ship_to else None)
    bench.prepare()
    restored = bench.restore()
    if restored:
        log(f"took back {len(restored)} rows shipped to {ship_to}: {', '.join(restored)}")
    if task in CLASSIFICATION:
        bench.classification()
    else:
        bench.mcq()
    log(f"wrote {bench.write_results()}")
    if ship_to:  # each row was shipped as it was scored (TaskBench.score)
        log(f"{len(bench.scored())} rows shipped to {ship_to}")
