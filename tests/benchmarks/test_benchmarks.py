"""The benchmark scripts run (smoke tests: their figures are printed by the scripts, never asserted as timings)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from llmner.converters.registry import REGISTRY
from tests.cli import llmner
from tests.constants import ROOT, SHARED_DATA, shared


@pytest.mark.data
def test_cpu_speed_prints_measured_figures(tmp_path):
    shared("conll2003")
    result = llmner("bench", "cpu", "--data-dir", SHARED_DATA, "--repeats", "1", "--json", tmp_path / "f.json")
    assert result.exit_code == 0, result.output
    figures = json.loads((tmp_path / "f.json").read_text())
    assert figures["scoring_sentences"] == 3453 and figures["gmb_sentences"] == 47959
    assert "scoring CoNLL-2003 test from generations" in result.stdout


@pytest.mark.data
@pytest.mark.training
def test_gpu_suite_runs_at_toy_size(converted, tmp_path):
    """The GPU suite's path at toy size on CPU, as bench_gpu.sh starts it (`python -m llmner bench gpu`, from the
    repository root): axolotl train (with the step timer plugin), the seeds' Trainer and prediction one at a time,
    batched and constrained; one JSON and one Markdown table."""
    result = subprocess.run([sys.executable, "-m", "llmner", "bench", "gpu", "--toy", "--out-dir", str(tmp_path),
                             "--data", str(converted / "gmb" / "train.jsonl"),
                             "--eval-data", str(converted / "gmb" / "test.jsonl"),
                             "--run", "ds15b_fft", "--run", "seeds", "--run", "prediction"],
                            cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads((tmp_path / "results.json").read_text())
    for run in ("ds15b_fft", "seeds"):
        assert figures["runs"][run]["tokens_per_s"] > 0, figures["runs"][run]
    predict = figures["runs"]["prediction"]
    for key in ("one_at_a_time_examples_per_s", "batched_examples_per_s", "constrained_examples_per_s"):
        assert predict[key] > 0
    assert figures["summary"]["training_speedup"] > 0
    table = (tmp_path / "results.md").read_text()
    assert "| ds15b_fft (without ZeRO) |" in table and "≥ 3.00×" in table and "≥ 20.0×" in table


def test_bench_real_report_only_runs_no_step(tmp_path, monkeypatch):
    """--report-only compares and writes results.md from the rows so far: no conversion, no model download."""
    from llmner.benchmarks import real

    steps = []
    monkeypatch.setattr(real, "run", lambda command, log_path: steps.append(command) or 0.0)
    result = llmner("bench", "real", "--report-only", "--data-dir", tmp_path / "nowhere", "--out-dir", tmp_path / "o")
    assert result.exit_code == 0, (result.output, result.exception)
    assert steps == [] and (tmp_path / "o" / "results.md").exists()


def test_bench_real_refuses_a_missing_data_dir_before_starting(tmp_path):
    result = llmner("bench", "real", "--data-dir", tmp_path / "nowhere", "--out-dir", tmp_path / "o")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, (result.output, result.exception)
    assert result.stderr.startswith(f"error: {tmp_path / 'nowhere'}: expected") and not (tmp_path / "o").exists()


def test_bench_real_passes_on_a_step_s_bad_input_line(tmp_path):
    """A step that ends in bad input (exit 2) ends the benchmark the same way, with the step's own error line."""
    (tmp_path / "raw").mkdir()  # no dataset folder in it: `llmner data convert-all` refuses it
    result = llmner("bench", "real", "--data-dir", tmp_path / "raw", "--out-dir", tmp_path / "o")
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]  # after its progress line
    assert result.exit_code == 2 and result.stderr.splitlines()[-1] == errors[0], (result.output, result.exception)
    assert errors == [f"error: {tmp_path / 'raw'}: expected dataset folders ({', '.join(REGISTRY)}); found none "
                      "(`llmner data fetch` fetches them)"]


def test_bench_gpu_uses_the_given_data_or_says_what_is_missing(tmp_path, monkeypatch):
    """A --data given without test.jsonl beside it is refused, never replaced by GMB converted from elsewhere."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "raw"))
    (tmp_path / "given").mkdir()
    (tmp_path / "given" / "train.jsonl").write_text("")
    result = llmner("bench", "gpu", "--toy", "--data", tmp_path / "given" / "train.jsonl", "--out-dir", tmp_path / "o")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, (result.output, result.exception)
    assert result.stderr == (f"error: {tmp_path / 'given' / 'test.jsonl'}: expected converted test examples beside "
                             "--data (or give --eval-data)\n")


def test_bench_gpu_converts_from_data_dir_only_for_the_default_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no data/gmb here: the default --data is absent
    result = llmner("bench", "gpu", "--toy", "--data-dir", tmp_path / "raw", "--out-dir", tmp_path / "o")
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {tmp_path / 'raw' / 'gmb'}"), result.stderr


def test_the_speed_table_gives_each_lever_against_before():
    from llmner.benchmarks.cpu_levers import generation_seconds, table

    rows = {"training": {"before": {"sentences": 160, "tokens": 24000, "train_runtime_seconds": 160.0},
                         "after": {"sentences": 160, "tokens": 9600, "train_runtime_seconds": 40.0}},
            "prediction": {"before": {"sentences": 100, "generation_seconds": 50.0, "model": "before",
                                      "options": "--no-merge"},
                           "after": {"sentences": 100, "generation_seconds": 10.0, "model": "after", "options": ""}}}
    text = table(rows, peak=400.0, parameters=135_000_000)
    assert "| before | 160 | 1.00 | 150 | 20% | 1.00× |" in text  # 4 · 135M · 150 tokens/s = 81 GFLOP/s of 400
    assert "| after | 160 | 4.00 | 240 | 32% | 4.00× |" in text
    assert "| after | after | `(defaults)` | 100 | 10.00 | 5.00× |" in text
    assert generation_seconds("x\nwrote 3 predictions to p.jsonl (generated in 12.5 s)\n") == 12.5


# a shipped folder's name is its dataset's, or starts with it: conll2003_full, gmb_1600, zh_ner_1600, ag_news, cmmlu
RAW_TEST = {"conll2003": "test.txt", "gmb": "ner_dataset.csv", "zh_ner": "ccfbdci.jsonl", "ag_news": "test.csv",
            "zh_news": "test.txt", "cmmlu": "test"}
SHIPPED = sorted(path.parent.name for path in (ROOT / "benchmarks" / "results").glob("*/figures.json"))


@pytest.mark.data
@pytest.mark.parametrize("folder_name", SHIPPED)
def test_the_shipped_predictions_rescore_to_the_printed_figures(folder_name, tmp_path):
    """Each folder of benchmarks/results: every row's predictions (.jsonl, or .jsonl.gz where large), re-scored
    on the same test items of its dataset (test_ids.json, or the whole test split where there is none), give the
    figures RESULTS.md prints (figures.json, written from the run's reports): strict entity F1, or accuracy and
    ECE; a multiple-choice row's submission.csv is written again byte for byte."""
    folder = ROOT / "benchmarks" / "results" / folder_name
    corpus = max((name for name in RAW_TEST if folder_name == name or folder_name.startswith(name + "_")), key=len)
    ids = set(json.loads((folder / "test_ids.json").read_text())) if (folder / "test_ids.json").exists() else None

    def gold_in(answer_format: str) -> Path:
        """The test sentences, their answers in the format a row was trained to write."""
        converted, gold = tmp_path / f"test_{answer_format}.jsonl", tmp_path / f"subset_{answer_format}.jsonl"
        if not gold.exists():
            ner = ("--answer-format", answer_format) if REGISTRY[corpus].task == "ner" else ()
            assert llmner("data", "convert", corpus, "--input", shared(corpus, RAW_TEST[corpus]), "--output",
                          converted, "--split", "test", *ner).exit_code == 0
            gold.write_text("".join(line for line in converted.read_text().splitlines(keepends=True)
                                    if ids is None or json.loads(line)["id"] in ids))
        return gold

    figures_of = json.loads((folder / "figures.json").read_text())
    assert figures_of, folder
    for name, figures in figures_of.items():
        report = tmp_path / f"{name}.json"
        predictions = next(folder.glob(f"{name}.predictions.jsonl*"))
        shipped_submission = folder / f"{name}.submission.csv"  # a multiple-choice row's, written from the same
        submission = ("--submission", tmp_path / f"{name}.csv") if shipped_submission.exists() else ()
        result = llmner("score", "--data", gold_in(figures.get("answer_format", "lines")), "--pred", predictions,
                        "--json", report, "--resamples", "10", *submission)
        assert result.exit_code == 0, result.output
        if submission:
            assert submission[1].read_bytes() == shipped_submission.read_bytes(), name
        scored = json.loads(report.read_text())
        if "accuracy" in figures:
            assert round(scored["accuracy"], 4) == figures["accuracy"], name
            assert scored["examples"] == figures["examples"], name
            assert round(scored.get("ece", -1), 4) == figures.get("ece", -1), name
            continue
        assert round(scored["entity"]["micro"]["f1"], 4) == figures["entity.micro.f1"], name
        assert scored["ungrounded_mentions"] == figures["ungrounded_mentions"], name


def test_the_headline_verdict_compares_every_seed_of_each_side(tmp_path):
    """bench real --rows headline's verdict: the LoRA runs (every training seed measured) against the spaCy runs by
    `llmner compare` over runs, with each side's mean ± sd and its runs' F1, the interval, Welch's test and the
    few-runs warning in results.md."""
    from llmner.benchmarks import real, real_report

    gold = [json.loads(line) for line in (ROOT / "tests" / "fixtures" / "five.expected.jsonl").open()]
    out = tmp_path / "o"
    bench = real.Bench(tmp_path, out, 5, [100, 14041], 42)
    out.mkdir()
    bench.test.write_text("".join(json.dumps(example) + "\n" for example in gold))
    split = out / "data" / "conll2003" / "test.jsonl"  # the test split the five are a sample of
    split.parent.mkdir(parents=True)
    split.write_text(bench.test.read_text() + json.dumps({**gold[0], "id": "conll2003/test/99"}) + "\n")

    def row(name: str, keep: int) -> None:  # a run that found the gold answers of the first `keep` sentences
        path = out / f"{name}.jsonl"
        path.write_text("".join(json.dumps({"id": e["id"], "output": e["messages"][-1]["content"] if i < keep
                                            else "none"}) + "\n" for i, e in enumerate(gold)))
        bench.rows[name] = {"predictions": str(path)}

    for name, keep in (("smollm2_lora_14041", 5), ("smollm2_lora_14041_seed43", 4), ("smollm2_lora_14041_seed44", 5),
                       ("spacy_14041", 2), ("spacy_14041_seed43", 3), ("smollm2_lora_100", 1)):
        row(name, keep)
    verdict = bench.compare_seeds(14041, [42, 43, 44])
    compared = json.loads(verdict.read_text())
    assert compared["runs"] == {"a": 2, "b": 3}
    lines = "\n".join(real_report.verdict_lines(verdict))
    assert "| spaCy from scratch | 2 |" in lines and "| SmolLM2-135M LoRA | 3 |" in lines
    assert "Welch's test over the runs' scores: p = " in lines and "fewer than 5 runs a side" in lines
    assert bench.compare_seeds(14041, [45]) is None  # no run of that seed on either side: no verdict

    # shipped for the repository: predictions gzip-compressed, byte-identical on a second ship; figures as scored
    for name in ("smollm2_lora_14041_seed43", "spacy_14041"):
        bench.score_row(name, bench.test, Path(bench.rows[name]["predictions"]), out / f"{name}.report.json",
                        {"train_seed": 43})
    dest = tmp_path / "shipped"
    assert bench.ship(dest) == ["smollm2_lora_14041_seed43", "spacy_14041"]
    first = (dest / "spacy_14041.predictions.jsonl.gz").read_bytes()
    assert gzip.decompress(first) == (out / "spacy_14041.jsonl").read_bytes()
    figures = json.loads((dest / "figures.json").read_text())
    found, total = (sum(len(e["gold"]["entities"]) for e in chosen) for chosen in (gold[:4], gold))
    assert figures["smollm2_lora_14041_seed43"] == {"entity.micro.f1": round(2 * found / (found + total), 4),
                                                    "ungrounded_mentions": 0,
                                                    "unparseable_outputs": 0, "train_seed": 43}
    assert json.loads((dest / "test_ids.json").read_text()) == [example["id"] for example in gold]
    assert (dest / verdict.name).exists()
    bench.ship(dest)
    assert (dest / "spacy_14041.predictions.jsonl.gz").read_bytes() == first


def test_a_full_scale_row_shipped_by_one_run_is_scored_not_trained_again_by_the_next(tmp_path, monkeypatch):
    """`make bench-full` ships each row to benchmarks/results/conll2003_full as it is scored; its out-dir lives and
    dies with its machine. A run in a fresh out-dir takes the shipped rows back (predictions and facts) and scores
    them when it reaches them, training and predicting nothing again (a LoRA seed is 1 h 45 min of this CPU): the
    same figure, the same costs. Rows shipped with other options are refused, not mixed."""
    from llmner.benchmarks import real
    from llmner.core.errors import DataError

    gold = [json.loads(line) for line in (ROOT / "tests" / "fixtures" / "five.expected.jsonl").open()]

    def bench_in(out: Path, seed: int = 42):
        bench = real.Bench(tmp_path, out, 5, [100, 14041], seed)
        out.mkdir()
        bench.test.write_text("".join(json.dumps(example) + "\n" for example in gold))
        split = bench.converted / "conll2003" / "test.jsonl"  # the five are the whole test split
        split.parent.mkdir(parents=True)
        split.write_text(bench.test.read_text())
        bench.pin_options({"corpus": "conll2003", "test_size": 5, "seed": seed})
        return bench

    first, name = bench_in(tmp_path / "first"), "smollm2_lora_14041"
    predictions = first.out / name / "predictions.jsonl"
    predictions.parent.mkdir()
    predictions.write_text("".join(json.dumps({"id": e["id"], "output": e["messages"][-1]["content"] if i < 4
                                               else "none"}) + "\n" for i, e in enumerate(gold)))
    facts = {"kind": "lora", "train_examples": 14041, "train_seed": 42, "train_wall_seconds": 6274.0}
    first.score_row(name, first.test, predictions, predictions.with_name("report.json"), facts)
    shipped = tmp_path / "shipped"
    first.ship(shipped)

    real_run = real.run

    def measuring_refused(command, log_path):
        assert command[3] in ("score", "compare"), f"measured again: {command[3]}"
        return real_run(command, log_path)

    monkeypatch.setattr(real, "run", measuring_refused)
    monkeypatch.setattr(real, "train_resumably", lambda folder: pytest.fail("trained again"))
    second = bench_in(tmp_path / "second")
    assert second.restore(shipped) == [name]
    assert second.compare_seeds(14041, [42]) is None  # taken back, not scored yet: no run to compare (a KeyError)
    second.lora(14041, train_seed=42)
    f1 = [json.loads(Path(run.rows[name]["report"]).read_text())["entity"]["micro"]["f1"] for run in (first, second)]
    assert f1[0] == f1[1] and 0 < f1[1] < 1
    assert {key: second.rows[name][key] for key in facts} == facts
    assert second.restore(shipped) == []  # nothing left to take back
    with pytest.raises(DataError, match="options.json: expected rows measured with the options of this run"):
        bench_in(tmp_path / "other", seed=43).restore(shipped)


def test_a_row_trained_but_not_yet_predicted_waits_for_its_comparison(tmp_path):
    """The report after each pair compares every scored row with the reference; a row whose training finished but
    whose prediction has not run (cut, or queued behind the pair) is compared and tabled later, not read (a KeyError
    on its predictions, then on its report, stopped the full-scale run)."""
    from llmner.benchmarks import real, real_report

    gold = [json.loads(line) for line in (ROOT / "tests" / "fixtures" / "five.expected.jsonl").open()]
    bench = real.Bench(tmp_path, tmp_path / "o", 5, [100, 14041], 42)
    bench.out.mkdir()
    bench.test.write_text("".join(json.dumps(example) + "\n" for example in gold))
    answers = bench.out / "reference.jsonl"
    answers.write_text("".join(json.dumps({"id": e["id"], "output": e["messages"][-1]["content"]}) + "\n"
                               for e in gold))
    bench.rows = {"smollm2_lora_14041": {"predictions": str(answers)}, "spacy_100": {"predictions": str(answers)},
                  "smollm2_lora_100": {"kind": "lora", "train_examples": 100, "train_wall_seconds": 88.9}}
    bench.compare_with("smollm2_lora_14041")
    assert "comparison" in bench.rows["spacy_100"] and "comparison" not in bench.rows["smollm2_lora_100"]
    for name in ("smollm2_lora_14041", "spacy_100"):
        bench.score_row(name, bench.test, answers, bench.out / f"{name}.report.json", {})
    real_report.write(bench.out, bench.rows, 5, [100, 14041])
    table = (bench.out / "results.md").read_text()
    assert "| `spacy_100`" in table and "| `smollm2_lora_100`" not in table  # in the table once it is scored


def test_the_learning_curve_is_titled_with_the_test_set_its_points_are_scored_on(tmp_path, monkeypatch):
    """The full-scale table's curve scores every point on the whole test set; its picture said "test subset"."""
    from matplotlib.figure import Figure

    from llmner.benchmarks import real_report

    report = tmp_path / "report.json"
    report.write_text(json.dumps({"entity": {"micro": {"f1": 0.5, "f1_ci": [0.4, 0.6]}}}))
    titles = []
    monkeypatch.setattr(Figure, "savefig", lambda figure, path, **options: titles.append(figure.axes[0].get_title()))
    monkeypatch.setattr(real_report, "row_line", lambda name, row: "")
    for whole, sentences in ((True, 3453), (False, 500)):
        real_report.write(tmp_path, {"spacy_100": {"report": str(report)}}, sentences, [100], whole=whole)
    assert titles == ["conll2003: the whole test set, 3,453 sentences",
                      "conll2003: 500 test sentences (seeded sample, seed 42)"]


def test_a_row_in_another_answer_format_is_compared_on_its_own_answers(tmp_path):
    """bench real compares every row with the LoRA reference on one gold file (the reference's `lines`): a row trained
    to answer in JSON or inline is read in its own format against its own gold and written back as lines (the same
    mentions, so the same strict F1), never parsed as lines, where every answer would be unparseable."""
    from llmner.benchmarks import real
    from llmner.core.answer_format import render_answer
    from llmner.core.spans import Entity

    gold = [json.loads(line) for line in (ROOT / "tests" / "fixtures" / "five.expected.jsonl").open()]
    out = tmp_path / "o"
    bench = real.Bench(tmp_path, out, 5, [1600], 42)
    out.mkdir()
    bench.test.write_text("".join(json.dumps(example) + "\n" for example in gold))
    for answer_format in ("json", "inline"):
        in_format = [{**e, "gold": {**e["gold"], "answer_format": answer_format}} for e in gold]
        answers = out / f"conll_test_subset_{answer_format}.jsonl"
        answers.write_text("".join(json.dumps(e) + "\n" for e in in_format))
        predictions = out / f"{answer_format}.jsonl"
        predictions.write_text("".join(json.dumps({"id": e["id"], "output": render_answer(
            e["gold"]["text"], [Entity.of(x) for x in e["gold"]["entities"]], answer_format, e["gold"]["tokens"])})
            + "\n" for e in gold))
        bench.rows[f"smollm2_lora_1600_{answer_format}"] = {"predictions": str(predictions),
                                                            "answer_format": answer_format}
        (out / f"smollm2_lora_1600_{answer_format}").mkdir()
    reference = out / "reference.jsonl"
    reference.write_text("".join(json.dumps({"id": e["id"], "output": "none"}) + "\n" for e in gold))
    bench.rows["smollm2_lora_1600"] = {"predictions": str(reference)}
    bench.compare_with("smollm2_lora_1600")
    for answer_format in ("json", "inline"):
        compared = json.loads(Path(bench.rows[f"smollm2_lora_1600_{answer_format}"]["comparison"]).read_text())
        assert compared["figures"]["entity.micro.f1"]["b"] == 1.0, answer_format  # every gold entity, found


def test_temperature_is_fitted_on_held_out_items_and_changes_confidence_not_answers():
    """bench tasks' calibration: T fitted on the held-out items' temperature-1 probabilities (an overconfident model
    gets T > 1), then every test prediction's probabilities recomputed at T; the predicted labels stay."""
    from llmner.benchmarks.tasks import recalibrated
    from llmner.core.schemas import ClassificationPrediction, Example

    labels = ["World", "Sports"]

    def example(i: int, label: str) -> Example:
        return Example.model_validate({"id": str(i), "messages": [{"role": "user", "content": "news"}],
                                       "gold": {"task": "classification", "label": label, "labels": labels}})

    def prediction(i: int, p_world: float) -> ClassificationPrediction:
        return ClassificationPrediction(id=str(i), label="World" if p_world > 0.5 else "Sports",
                                        confidence=max(p_world, 1 - p_world),
                                        scores={"World": p_world, "Sports": 1 - p_world})

    # held out: 99% sure of World every time, right only 60% of the time
    held = [prediction(i, 0.99) for i in range(100)]
    held_examples = [example(i, "World" if i < 60 else "Sports") for i in range(100)]
    raw = [prediction(100 + i, p) for i, p in enumerate((0.99, 0.2, 0.7))]
    examples = [example(100 + i, "World") for i in range(3)]
    temperature, calibrated = recalibrated(raw, examples, held, held_examples)
    assert temperature > 1
    assert [p.label for p in calibrated] == [p.label for p in raw]
    assert [p.id for p in calibrated] == [p.id for p in raw]
    assert calibrated[0].confidence == pytest.approx(0.6, abs=0.01)  # what the held-out items say it is worth
    assert all(sum(p.scores.values()) == pytest.approx(1.0) for p in calibrated)


def test_two_benches_writing_one_rows_file_keep_each_other_s_rows(tmp_path):
    """Two row runs beside each other in one out dir (the inline row beside the full-scale chain): each save re-reads
    rows.json, so neither overwrites the rows the other measured meanwhile."""
    from llmner.benchmarks import real

    first, second = (real.Bench(tmp_path, tmp_path, 5, [100], 42) for _ in range(2))
    first.save_row("smollm2_lora_1600_inline", {"kind": "lora"})
    second.save_row("spacy_14041_seed43", {"kind": "spacy"})
    first.save_row("smollm2_lora_1600_inline", {"kind": "lora", "predict_seconds": 9.0})
    on_disk = json.loads((tmp_path / "rows.json").read_text())
    assert on_disk == {"smollm2_lora_1600_inline": {"kind": "lora", "predict_seconds": 9.0},
                       "spacy_14041_seed43": {"kind": "spacy"}}
    assert real.Bench(tmp_path, tmp_path, 5, [100], 42).rows == first.rows == on_disk


def test_a_training_attempt_cut_before_it_ends_still_counts_in_the_row_s_wall_time(tmp_path, monkeypatch):
    """A LoRA row trained over two attempts (the first killed at the end of a session) costs both: the cut attempt
    counts from its start to its log's last write, not zero. Its tokens/s is not the trainer's last-attempt clock
    against the whole run's tokens: left out."""
    import os
    import time

    from llmner.benchmarks import real

    bench = five_sentence_bench(tmp_path)
    attempts = []

    def fake_run(command, log_path):
        log_path.write_text("training\n")
        if "train" in command:
            attempts.append(log_path.name)
            if len(attempts) == 1:  # cut: its log last written 120 s after it started, then the process killed
                os.utime(log_path, (time.time() + 120, time.time() + 120))
                raise KeyboardInterrupt
            (log_path.parent / "output").mkdir(exist_ok=True)
            (log_path.parent / "output" / "adapter_model.safetensors").write_text("")
            return 30.0
        if "derive" in command:
            (log_path.parent / "train.jsonl").write_text((log_path.parent / "pool.jsonl").read_text())
        return 0.0

    monkeypatch.setattr(real, "run", fake_run)
    monkeypatch.setattr(real, "training_tokens", lambda model, examples: 6000)
    monkeypatch.setattr(real, "logged_train_runtime", lambda output: 25.0)
    monkeypatch.setattr(real, "load_recipe", lambda path: {"micro_batch_size": 8, "num_epochs": 1})
    monkeypatch.setattr(real.Bench, "predict_row", lambda self, *args, **facts: None)
    with pytest.raises(KeyboardInterrupt):
        bench.lora(5)
    bench.lora(5)
    row = bench.rows["smollm2_lora_5"]
    assert attempts == ["train.0.log", "train.1.log"]
    assert row["train_attempts"] == 2 and 149 <= row["train_wall_seconds"] <= 152
    assert row["tokens_per_second"] is None


AG_NEWS_LABELS = ["World", "Sports", "Business", "Sci/Tech"]


def classification_items(split: str, labels: list[str], texts: list[str]) -> list[dict]:
    """Classification examples `split/i` (e.g. ag_news/test/3), the i-th text labelled labels[i % len(labels)]."""
    return [{"id": f"{split}/{i}", "messages": [{"role": "system", "content": "Classify."},
                                                {"role": "user", "content": text},
                                                {"role": "assistant", "content": labels[i % len(labels)]}],
             "gold": {"task": "classification", "label": labels[i % len(labels)], "labels": labels}}
            for i, text in enumerate(texts)]


def ag_news_bench(tmp_path: Path, items: list[dict], size: int, ship_to: Path | None = None):
    """bench tasks on AG News (no training split: cross-fitted) with `items` as its whole test set."""
    from llmner.benchmarks import tasks

    bench = tasks.TaskBench(tmp_path, tmp_path / "out", "ag_news", size, 42, None, ship_to)
    bench.out.mkdir(parents=True)
    bench.converted.mkdir(parents=True)
    write_examples(bench.converted / "test.jsonl", items)
    bench.test = bench.out / "test.jsonl"
    write_examples(bench.test, items)
    return bench


def confident_label_scorer(real_run):
    """`run` with predict-labels replaced by a model that is 90% sure of AG News items and right two times in three
    (12.5 s a call); every other step runs for real."""
    labels = AG_NEWS_LABELS

    def fake_run(command, log_path):
        if "predict-labels" not in command:
            return real_run(command, log_path)
        data, output = (Path(command[command.index(flag) + 1]) for flag in ("--data", "--output"))
        with output.open("w") as handle:
            for line in data.read_text().splitlines():
                item = json.loads(line)
                number, gold = int(item["id"].rsplit("/", 1)[1]), item["gold"]["label"]
                guess = gold if number % 3 else labels[(labels.index(gold) + 1) % 4]
                scores = {label: 0.9 if label == guess else 0.1 / 3 for label in labels}
                handle.write(json.dumps({"id": item["id"], "label": guess, "confidence": 0.9, "scores": scores}) + "\n")
        return 12.5

    return fake_run


def test_a_crf_row_cut_in_training_goes_on_and_one_cut_in_prediction_is_not_trained_again(tmp_path, monkeypatch):
    """The CRF tagger's row over three attempts: training cut (the tagger keeps its checkpoint), training finished,
    prediction cut; then prediction only. The row costs both training attempts, the cut one from its start to its
    log's last write."""
    import os
    import time

    from llmner.benchmarks import real

    bench = five_sentence_bench(tmp_path)
    steps = []

    def fake_run(command, log_path):
        log_path.write_text("working\n")
        step = command[command.index("crf") + 1] if "crf" in command else command[0]
        steps.append(step)
        if steps == ["train"]:  # cut: its log last written 120 s after it started
            os.utime(log_path, (time.time() + 120, time.time() + 120))
            raise KeyboardInterrupt
        if step == "train":
            (log_path.parent / "model").mkdir()
            (log_path.parent / "model" / "training.json").write_text('{"steps": 1, "seconds": 25.0}')
            return 30.0
        if step == "predict" and steps.count("predict") == 1:
            raise KeyboardInterrupt
        if step == "predict":
            write_examples(log_path.parent / "predictions.jsonl", [])
        return 0.0

    monkeypatch.setattr(real, "run", fake_run)
    monkeypatch.setattr(real.Bench, "score_row", lambda self, *args: None)
    for _ in range(2):
        with pytest.raises(KeyboardInterrupt):
            bench.crf(5)
    bench.crf(5)
    assert steps == ["train", "train", "predict", "predict"]
    row = bench.rows["smollm2_crf_5"]
    assert row["train_attempts"] == 2 and 149.0 <= row["train_wall_seconds"] <= 152.0, row


def test_bench_tasks_scores_every_test_item_once_with_each_fold_s_own_temperature(tmp_path, monkeypatch):
    """bench tasks on a task without a training split: two cross-fitted folds, each scoring the other half with the
    temperature fitted on its own held-out items; the raw and calibrated rows hold every test item once, with the
    same labels, and `llmner score` reads both (accuracy and ECE with intervals). predict-labels is replaced by a
    model that is 90% sure and right two times in three; every other step runs."""
    from llmner.benchmarks import real, tasks

    items = classification_items("ag_news/test", AG_NEWS_LABELS, [f"news {i}" for i in range(40)])
    bench = ag_news_bench(tmp_path, items, size=4)
    fake_run = confident_label_scorer(real.run)
    monkeypatch.setattr(tasks, "run", fake_run)
    monkeypatch.setattr(real, "run", fake_run)  # the scoring step runs resumably, through real.run_resumably
    bench.llm_scores("smollm2_untouched", lambda fold: Path("m"), "label scores, untouched")
    folder = bench.out / "smollm2_untouched"
    raw, calibrated = ([json.loads(line) for line in (folder / f"predictions_{variant}.jsonl").read_text().splitlines()]
                       for variant in ("raw", "calibrated"))
    assert sorted(p["id"] for p in raw) == sorted(p["id"] for p in calibrated) == sorted(i["id"] for i in items)
    assert [p["label"] for p in raw] == [p["label"] for p in calibrated]
    temperatures = bench.rows["smollm2_untouched"]["temperatures"]
    assert set(temperatures) == {"fold0", "fold1"} and all(t > 1 for t in temperatures.values())  # 90% sure, 67% right
    reports = {variant: json.loads(Path(bench.rows[f"smollm2_untouched_{variant}"]["report"]).read_text())
               for variant in ("raw", "calibrated")}
    assert reports["raw"]["accuracy"] == reports["calibrated"]["accuracy"] == pytest.approx(26 / 40)
    assert reports["calibrated"]["ece"] < reports["raw"]["ece"] and "ece_ci" in reports["calibrated"]
    assert bench.rows["smollm2_untouched"]["score_seconds"] == {"fold0": 12.5, "fold1": 12.5}
    results = bench.write_results().read_text()
    assert results.count("labels scored in 25 s") == 2  # each row says what it cost: the raw and calibrated rows
    assert "Command: `llmner bench tasks --task ag_news --size 4`." in results  # the options it was measured with
    compared = json.loads((bench.out / "compare_smollm2_untouched_calibrated_vs_smollm2_untouched_raw.json")
                          .read_text())
    ece = compared["figures"]["ece"]
    assert ece["difference"] == pytest.approx(reports["calibrated"]["ece"] - reports["raw"]["ece"])
    assert ece["difference"] < 0 and ece["difference_ci"][0] < ece["difference"] < ece["difference_ci"][1]
    assert ("| `smollm2_untouched_calibrated` | `smollm2_untouched_raw` | +0.0000 [+0.0000, +0.0000], p = 1.0000 | "
            f"{ece['difference']:+.4f} [") in results
    assert bench.ship(tmp_path / "shipped") == ["smollm2_untouched_raw", "smollm2_untouched_calibrated"]
    figures = json.loads((tmp_path / "shipped" / "figures.json").read_text())
    assert figures["smollm2_untouched_calibrated"] == {"accuracy": 0.65, "examples": 40,
                                                       "kind": "label scores, untouched",
                                                       "ece": round(reports["calibrated"]["ece"], 4)}
    assert not (tmp_path / "shipped" / "test_ids.json").exists()  # the whole test split: no ids to name
    assert (tmp_path / "shipped" / "compare_smollm2_untouched_calibrated_vs_smollm2_untouched_raw.json").exists()
    shipped = tmp_path / "shipped" / "smollm2_untouched_calibrated.predictions.jsonl.gz"
    assert gzip.decompress(shipped.read_bytes()) == (folder / "predictions_calibrated.jsonl").read_bytes()


def test_a_row_shipped_by_one_run_is_taken_back_by_the_next_not_measured_again(tmp_path, monkeypatch):
    """An out-dir lives and dies with its machine; the rows shipped to the repository outlive it. Each row is shipped
    the moment it is scored, and a run in a fresh out-dir with the same --ship-to takes the rows back (predictions,
    costs, temperatures, comparisons) and scores them again without measuring or training anything: the same table.
    Rows shipped with other options are refused, not mixed."""
    from llmner.benchmarks import real, tasks
    from llmner.core.errors import DataError

    items = classification_items("ag_news/test", AG_NEWS_LABELS, [f"news {i}" for i in range(40)])
    shipped = tmp_path / "shipped"
    first = ag_news_bench(tmp_path / "first", items, size=4, ship_to=shipped)
    real_run = real.run
    fake_run = confident_label_scorer(real_run)
    monkeypatch.setattr(tasks, "run", fake_run)
    monkeypatch.setattr(real, "run", fake_run)
    first.save_row("lora_fold0", {"train_seed": 42, "train_wall_seconds": 30.0, "train_attempts": 1})
    first.llm_scores("smollm2_lora", lambda fold: Path("adapter"), "label scores, LoRA SFT")
    assert set(json.loads((shipped / "figures.json").read_text())) == {"smollm2_lora_raw", "smollm2_lora_calibrated"}

    def measuring_refused(command, log_path):
        assert command[3] in ("score", "compare"), f"measured again: {command[3]}"
        return real_run(command, log_path)

    monkeypatch.setattr(tasks, "run", measuring_refused)
    monkeypatch.setattr(real, "run", measuring_refused)
    second = ag_news_bench(tmp_path / "second", items, size=4, ship_to=shipped)
    assert second.restore() == ["smollm2_lora_raw", "smollm2_lora_calibrated"]
    second.llm_scores("smollm2_lora", lambda fold: pytest.fail("its adapter trained again"), "label scores, LoRA SFT")
    assert second.rows["smollm2_lora"]["temperatures"] == first.rows["smollm2_lora"]["temperatures"]
    assert second.write_results().read_text() == first.write_results().read_text()
    assert "LoRA trained in 30 s; labels scored in 25 s" in second.write_results().read_text()
    assert second.restore() == []  # nothing left to take back

    other = ag_news_bench(tmp_path / "other", items, size=5, ship_to=shipped)
    with pytest.raises(DataError, match="options.json: expected rows measured with the options of this run"):
        other.restore()


class Cut(Exception):
    """A run cut where it stood (its machine gone)."""


def test_a_row_cut_between_its_folds_keeps_the_fold_it_scored(tmp_path, monkeypatch):
    """A cross-fitted row is two folds of training and scoring (an hour on a CPU): each fold's scores are shipped the
    moment they exist, so a run cut after the first fold, its out-dir gone with its machine, loses only the second;
    the next run, in a fresh out-dir, trains and scores that one alone, and once the row ships whole its folds' files
    are removed."""
    from llmner.benchmarks import real, tasks

    items = classification_items("ag_news/test", AG_NEWS_LABELS, [f"news {i}" for i in range(40)])
    shipped = tmp_path / "shipped"
    first = ag_news_bench(tmp_path / "first", items, size=4, ship_to=shipped)
    scorer = confident_label_scorer(real.run)
    scored, cutting = [], [True]

    def cut_at_fold1(command, log_path):
        if "predict-labels" in command:
            inputs = Path(command[command.index("--data") + 1]).name
            if inputs == "fold1_inputs.jsonl" and cutting[0]:
                raise Cut
            scored.append(inputs)
        return scorer(command, log_path)

    monkeypatch.setattr(tasks, "run", cut_at_fold1)
    monkeypatch.setattr(real, "run", cut_at_fold1)
    with pytest.raises(Cut):
        first.llm_scores("smollm2_lora", lambda fold: Path("adapter"), "label scores, LoRA SFT")
    assert (shipped / "smollm2_lora.fold0_scored.jsonl.gz").exists() and not (shipped / "figures.json").exists()

    cutting[0] = False
    second = ag_news_bench(tmp_path / "second", items, size=4, ship_to=shipped)
    assert second.restore() == ["smollm2_lora (fold0)"]
    trained = []

    def train(fold):
        trained.append(fold.name)
        return Path("adapter")

    second.llm_scores("smollm2_lora", train, "label scores, LoRA SFT")
    assert trained == ["fold1"] and scored == ["fold0_inputs.jsonl", "fold1_inputs.jsonl"]
    assert second.rows["smollm2_lora"]["score_seconds"] == {"fold0": 12.5, "fold1": 12.5}
    assert set(json.loads((shipped / "figures.json").read_text())) == {"smollm2_lora_raw", "smollm2_lora_calibrated"}
    assert not list(shipped.glob("*_scored.jsonl.gz"))


def test_a_multiple_choice_row_is_read_by_letter_scores_and_ships_its_submission(tmp_path, monkeypatch):
    """CMMLU's rows: each model answers every test question by its option letters' scores (predict-labels, one pass a
    question; generating 8 tokens a question cost 1 s each here, 3 h for the 11,582), the row is scored as letter
    accuracy with its interval, `submission.csv` is written beside it and shipped with its predictions, and the
    fine-tuned model is compared with the untouched one on the same questions."""
    from llmner.benchmarks import real, tasks
    from llmner.converters.mcq import mcq_example

    questions = [mcq_example(f"cmmlu/test/q-{i}", f"问题 {i}", {"A": "甲", "B": "乙", "C": "丙", "D": "丁"},
                             "ABCD"[i % 4], str(i)) for i in range(30)]
    bench = tasks.TaskBench(tmp_path, tmp_path / "out", "cmmlu", 4, 42, None, tmp_path / "shipped")
    bench.out.mkdir(parents=True)
    bench.converted.mkdir(parents=True)
    write_examples(bench.converted / "test.jsonl", questions)
    dev = [{**question, "id": question["id"].replace("test", "dev")} for question in questions[:4]]
    write_examples(bench.converted / "train.jsonl", dev)
    bench.test = bench.out / "test.jsonl"
    write_examples(bench.test, questions)
    commands, real_run = [], real.run

    def fake_run(command, log_path):  # the untouched model right one time in three, the adapter two in three
        if "predict-labels" not in command:
            return real_run(command, log_path)
        commands.append(command)
        every = 3 if command[command.index("--model") + 1] == str(real.MODEL) else 1.5
        data, output = (Path(command[command.index(flag) + 1]) for flag in ("--data", "--output"))
        with output.open("w") as handle:
            for i, line in enumerate(data.read_text().splitlines()):
                gold = json.loads(line)["gold"]["answer"]
                answer = gold if i % 3 < 3 / every else "ABCD"[("ABCD".index(gold) + 1) % 4]
                handle.write(json.dumps({"id": json.loads(line)["id"], "answer": answer}) + "\n")
        return 20.0

    monkeypatch.setattr(tasks, "run", fake_run)
    monkeypatch.setattr(real, "run", fake_run)
    monkeypatch.setattr(bench, "lora", lambda fold: Path("adapter"))
    bench.mcq()
    assert len(commands) == 2 and not any("--max-new-tokens" in command for command in commands)
    reports = {name: json.loads(Path(bench.rows[name]["report"]).read_text())
               for name in ("smollm2_untouched", "smollm2_lora")}
    assert reports["smollm2_untouched"]["accuracy"] == pytest.approx(10 / 30)
    assert reports["smollm2_lora"]["accuracy"] == pytest.approx(20 / 30) and "accuracy_ci" in reports["smollm2_lora"]
    submission = (bench.out / "smollm2_lora" / "submission.csv").read_text().splitlines()
    assert len(submission) == 31 and submission[1:3] == ["0,A", "1,B"]
    assert (tmp_path / "shipped" / "smollm2_lora.submission.csv").read_text().splitlines() == submission
    results = bench.write_results().read_text()
    assert "| `smollm2_lora` | letter log-probabilities, A-D | 0.6667 [" in results and "answered in 20 s" in results
    assert "| `smollm2_lora` | `smollm2_untouched` | +0.3333 [" in results


def test_the_classic_baseline_is_calibrated_on_the_same_held_out_items_as_the_llm(tmp_path):
    """TF-IDF + logistic regression trained on few items is underconfident (on AG News, 84% right with an ECE of 0.37):
    its raw ECE alone would compare an uncalibrated baseline with a calibrated LLM. It gets the LLM's treatment: each
    fold's model (trained for real here) scores its test half and its held-out items, a temperature is fitted on
    those, and a raw and a calibrated row cover every test item once."""

    words = ["war vote", "match goal", "stocks profit", "chip software"]
    bench = ag_news_bench(tmp_path, classification_items(
        "ag_news/test", AG_NEWS_LABELS, [f"{words[i % 4]} story {i}" for i in range(40)]), size=8)
    bench.tfidf()
    reports = {variant: json.loads(Path(bench.rows[f"tfidf_logistic_regression_{variant}"]["report"]).read_text())
               for variant in ("raw", "calibrated")}
    assert reports["raw"]["examples"] == reports["calibrated"]["examples"] == 40
    assert reports["raw"]["accuracy"] == reports["calibrated"]["accuracy"]
    temperatures = bench.rows["tfidf_logistic_regression"]["temperatures"]
    assert set(temperatures) == {"fold0", "fold1"} and all(t < 1 for t in temperatures.values())  # sharpened
    assert reports["calibrated"]["ece"] < reports["raw"]["ece"]
    assert "tf-idf + logistic regression" in bench.write_results().read_text()


def test_a_task_with_a_training_split_but_no_validation_calibrates_on_items_it_did_not_train_on(tmp_path):
    """A task's temperature is fitted on held-out items. Where the task has a training split but no validation split,
    the fold took the whole training split as its calibration items, the trained ones included: a temperature fitted
    on what the model memorised. It now takes training items that were not sampled for training, and none where every
    item was trained on (CMMLU's 335 dev items, which it does not calibrate)."""
    from llmner.benchmarks import tasks

    items = classification_items("zh_news/train", ["体育", "财经"], [f"新闻 {i}" for i in range(12)])
    for size, expected in ((4, 8), (12, 0)):
        bench = tasks.TaskBench(tmp_path, tmp_path / f"out{size}", "zh_news", size, 42, None)
        bench.converted.mkdir(parents=True)
        write_examples(bench.converted / "train.jsonl", items)
        bench.out.mkdir(parents=True)
        bench.test = bench.out / "test.jsonl"
        (fold,) = bench.folds()
        trained = {json.loads(line)["id"] for line in fold.train.read_text().splitlines()}
        held = {json.loads(line)["id"] for line in fold.calibration.read_text().splitlines()}
        assert len(trained) == size and len(held) == expected and not trained & held


def five_sentence_bench(tmp_path: Path):
    """A bench of 5 training sentences (the fixture's five), tested on the same five, in tmp_path/o."""
    from llmner.benchmarks import real

    bench = real.Bench(tmp_path, tmp_path / "o", 5, [5], 42)
    bench.train_pool = [json.loads(line) for line in (ROOT / "tests" / "fixtures" / "five.expected.jsonl").open()]
    bench.out.mkdir()
    write_examples(bench.test, bench.train_pool)
    return bench


def write_examples(path: Path, examples: list[dict]) -> None:
    path.write_text("".join(json.dumps(example, ensure_ascii=False) + "\n" for example in examples), encoding="utf-8")


def test_a_corpus_answering_in_json_keeps_its_format_and_room_for_its_longer_answers(tmp_path, monkeypatch):
    """zh_ner is converted with seed 003's JSON answers: its LoRA row trains and is scored in JSON (not labelled
    `lines`, which the shipped re-score would parse as lines), and its answers get the JSON budget of new tokens
    (CCFBDCI's longest test answer is 258 tokens: 96 would cut 72 of its 1,572)."""
    from llmner.benchmarks import real
    from llmner.core.answer_format import render_answer
    from llmner.core.spans import Entity

    five = [json.loads(line) for line in (ROOT / "tests" / "fixtures" / "five.expected.jsonl").open()]
    in_json = [{**e, "messages": [*e["messages"][:-1], {"role": "assistant", "content": render_answer(
        e["gold"]["text"], [Entity.of(x) for x in e["gold"]["entities"]], "json", e["gold"]["tokens"])}],
        "gold": {**e["gold"], "answer_format": "json"}} for e in five]
    bench = real.Bench(tmp_path, tmp_path / "o", 5, [5], 42, "zh_ner")
    (bench.converted / "zh_ner").mkdir(parents=True)
    for path in (bench.test, bench.converted / "zh_ner" / "test.jsonl"):  # the whole test split
        write_examples(path, in_json)
    bench.train_pool = in_json
    real_run, commands = real.run, []

    def fake_run(command, log_path):
        commands.append(command)
        folder = log_path.parent
        if "derive" in command:
            (folder / "train.jsonl").write_text((folder / "pool.jsonl").read_text())
        elif "train" in command:
            (folder / "output").mkdir(exist_ok=True)
            (folder / "output" / "adapter_model.safetensors").write_text("")
        elif "predict" in command:
            write_examples(folder / "predictions.jsonl", [{"id": e["id"], "output": e["messages"][-1]["content"]}
                                                          for e in in_json])
        elif "score" in command:
            return real_run(command, log_path)
        return 0.0

    monkeypatch.setattr(real, "run", fake_run)
    monkeypatch.setattr(real, "training_tokens", lambda model, examples: 6000)
    monkeypatch.setattr(real, "logged_train_runtime", lambda output: 25.0)
    monkeypatch.setattr(real, "load_recipe", lambda path: {"micro_batch_size": 8, "num_epochs": 1})
    bench.lora(5)
    [predict] = [command for command in commands if "predict" in command]
    assert predict[predict.index("--max-new-tokens") + 1] == str(real.ANSWER_TOKENS["json"]) == "384"
    row = bench.rows["smollm2_lora_5"]
    assert row["answer_format"] == "json"
    assert json.loads(Path(row["report"]).read_text())["entity"]["micro"]["f1"] == 1.0
    assert bench.in_reference_format("smollm2_lora_5", row) == row["predictions"]  # compared in the corpus's own format
    bench.ship(tmp_path / "shipped")
    assert json.loads((tmp_path / "shipped" / "figures.json").read_text())["smollm2_lora_5"]["answer_format"] == "json"


def test_an_out_dir_measured_with_other_options_is_refused_not_mixed(tmp_path, monkeypatch):
    """A bench's rows are trained and scored on the sentences its options chose, and every step is skipped once its
    files exist: a second run into the same out-dir with another --test-size, --seed, --corpus or (bench tasks)
    --size would reuse the first run's test sample and rows under the same names. It stops instead, naming the option;
    more sizes or training seeds only add rows, so they are allowed."""
    from llmner.benchmarks import real, tasks
    from llmner.core.errors import DataError

    monkeypatch.setattr(real, "prepare_inputs", lambda *args: None)
    monkeypatch.setattr(tasks, "prepare_inputs", lambda *args: None)
    five = [json.loads(line) for line in (ROOT / "tests" / "fixtures" / "five.expected.jsonl").open()]
    out, whole = tmp_path / "o", tmp_path / "whole"
    for folder in (out, whole):
        for dataset in ("conll2003", "gmb", "ag_news"):
            (folder / "data" / dataset).mkdir(parents=True)
            for split in ("train", "test"):
                write_examples(folder / "data" / dataset / f"{split}.jsonl", five)
    real.Bench(tmp_path, out, 3, [5], 42).prepare()
    real.Bench(tmp_path, out, 3, [5, 10], 42).prepare()  # one more size: new rows on the same sentences
    real.Bench(tmp_path, whole, 9, [5], 42).prepare()
    real.Bench(tmp_path, whole, 5, [5], 42).prepare()  # both mean the whole test split of 5
    for other, option in (((4, [5], 42), "--test-size 3"), ((3, [5], 7), "--seed 42"),
                          ((3, [5], 42, "gmb"), "--corpus conll2003")):
        with pytest.raises(DataError, match=f"options.json: expected .*{option}"):
            real.Bench(tmp_path, out, *other).prepare()
    tasks.TaskBench(tmp_path, out, "ag_news", 4, 42, None).prepare()
    with pytest.raises(DataError, match="--size 4"):
        tasks.TaskBench(tmp_path, out, "ag_news", 3, 42, None).prepare()


def test_a_span_row_of_a_json_corpus_is_compared_as_it_is(tmp_path):
    """spaCy's and the CRF's predictions are character spans, in no answer format: on zh_ner (JSON answers) the
    spaCy row is compared with the LoRA row as it is, where it used to be taken for a `lines` row and refused."""
    from llmner.benchmarks import real

    bench = real.Bench(tmp_path, tmp_path / "o", 5, [5], 42, "zh_ner")
    bench.out.mkdir(parents=True)
    write_examples(bench.test, [{"id": "zh_ner/test/0", "messages": [
        {"role": "user", "content": "张三在北京"}, {"role": "assistant", "content": '[{"PER": "张三"}]'}], "gold": {
        "task": "ner", "text": "张三在北京", "entities": [{"start": 0, "end": 2, "label": "PER"}],
        "answer_format": "json"}}])
    spans = tmp_path / "spans.jsonl"
    write_examples(spans, [{"id": "zh_ner/test/0", "entities": [{"start": 0, "end": 2, "label": "PER"}]}])
    row = {"kind": "spacy", "predictions": str(spans)}
    assert bench.in_reference_format("spacy_5", row) == str(spans)


def test_a_prediction_cut_before_it_ends_still_counts_in_the_row_s_cost(tmp_path, monkeypatch):
    """`llmner predict` resumes a cut run from its partial file; the row's prediction cost is every attempt's, the cut
    one counted from its start to its log's last write, and the report says over how many attempts."""
    import os
    import time

    from llmner.benchmarks import real, real_report

    bench = real.Bench(tmp_path, tmp_path / "o", 5, [5], 42)
    five = [json.loads(line) for line in (ROOT / "tests" / "fixtures" / "five.expected.jsonl").open()]
    bench.out.mkdir()
    write_examples(bench.test, five)
    attempts = []
    real_run = real.run

    def fake_run(command, log_path):
        if "predict" not in command:
            return real_run(command, log_path)
        log_path.write_text("generating\n")
        attempts.append(log_path.name)
        if len(attempts) == 1:  # cut: its log last written 300 s after it started
            os.utime(log_path, (time.time() + 300, time.time() + 300))
            raise KeyboardInterrupt
        write_examples(log_path.parent / "predictions.jsonl", [{"id": e["id"], "output": e["messages"][-1]["content"]}
                                                                for e in five])
        return 40.0

    monkeypatch.setattr(real, "run", fake_run)
    with pytest.raises(KeyboardInterrupt):
        bench.predict_row("smollm2_lora_5", Path("model"), bench.test)
    bench.predict_row("smollm2_lora_5", Path("model"), bench.test)
    row = bench.rows["smollm2_lora_5"]
    assert attempts == ["predict.0.log", "predict.1.log"]
    assert row["predict_attempts"] == 2 and 339 <= row["predict_seconds"] <= 342
    assert "predicted in 340 s over 2 attempts" in real_report.row_line("smollm2_lora_5", row)


def test_a_timed_prediction_of_the_speed_bench_answers_every_sentence_never_resumes(tmp_path, monkeypatch):
    """bench speed times generation: a partial file left by a cut run would let `llmner predict` answer only the
    rest, and the time would be of fewer sentences than the row says. It is removed before the timed run."""
    from llmner.benchmarks import cpu_levers

    levers = cpu_levers.Levers(tmp_path, [], tmp_path / "test.jsonl", 3)
    seen = []

    def fake_run(command, log_path):
        output = Path(command[command.index("--output") + 1])
        seen.append(Path(f"{output}.partial").exists())
        log_path.write_text("wrote 3 predictions to x (generated in 2.0 s)\n")
        return 2.0

    monkeypatch.setattr(cpu_levers, "run", fake_run)
    folder = tmp_path / "predict" / "before"
    folder.mkdir(parents=True)
    (folder / "predictions.jsonl.partial").write_text('{"settings": {}}\n{"id": "a", "output": ""}\n')
    levers.predict("before")
    assert seen == [False] and levers.rows["prediction"]["before"]["generation_seconds"] == 2.0


def test_the_speed_table_measures_only_the_peaks_it_prints(monkeypatch):
    """Each report measured fp32 and bf16 matrix-multiply peaks, even with no timed row to set against them, and bf16
    where the CPU emulates it: about 2 minutes a report on a Zen 3 (AVX2 only); bench real writes one a pair."""
    from llmner.benchmarks import real_report

    measured = []
    monkeypatch.setattr(real_report, "matmul_peak_gflops", lambda name: measured.append(name) or 100.0)
    monkeypatch.setattr(real_report, "cpu_has_bf16_unit", lambda: False)
    assert real_report.speed_lines({"spacy_100": {"report": "r.json"}}) == [] and measured == []
    timed = {"smollm2_lora_100": {"tokens_per_second": 50.0}}
    lines = real_report.speed_lines(timed)
    assert measured == ["float32"] and "bf16: emulated on this CPU, not measured" in lines[0]
    assert lines[-1].startswith("| `smollm2_lora_100` | 50 | 27 | 27% | n/a |")
    monkeypatch.setattr(real_report, "cpu_has_bf16_unit", lambda: True)
    measured.clear()
    assert real_report.speed_lines(timed)[-1].endswith("| 27% | 27% |") and measured == ["float32", "bfloat16"]
