"""The evaluator: hand-computed cases with every count asserted, seqeval's strict mode to the last digit on the
real test sets, and one-line errors on bad input."""

from __future__ import annotations

import json
import random

import pytest
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.scheme import IOB2

from llmner.core.answer_format import parse_choice, parse_label
from llmner.core.iob import entities_from_tagger, entities_to_tags
from llmner.core.spans import Entity, token_offsets
from llmner.evaluators import ner
from llmner.evaluators.classification import INVALID, calibration, classification_scores
from tests.cli import llmner

TOKENS = "Peter Blackburn visited the European Commission in Brussels".split()
TEXT = " ".join(TOKENS)
PER, ORG, LOC = Entity(0, 15, "PER"), Entity(28, 47, "ORG"), Entity(51, 59, "LOC")
GOLD = frozenset({PER, ORG, LOC})


def item(predicted, gold=GOLD, ungrounded=()):
    return ner.NerItem("x", TEXT, frozenset(gold), frozenset(predicted), TOKENS, frozenset(ungrounded))


def micro(items):
    return ner.entity_scores(items)["micro"]


# --- hand-computed cases, one per error type ---------------------------------------------------------------------

def test_perfect():
    assert micro([item(GOLD)]) == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "tp": 3, "fp": 0, "fn": 0}


def test_label_confusion_is_one_fp_and_one_fn():
    predicted = {PER, ORG, Entity(51, 59, "ORG")}
    assert (micro([item(predicted)])["tp"], micro([item(predicted)])["fp"], micro([item(predicted)])["fn"]) == (2, 1, 1)
    analysis = ner.analyse_errors([item(predicted)])
    assert analysis.label_confusion == {("LOC", "ORG"): 1} and not analysis.missed and not analysis.spurious


def test_boundary_error_same_label():
    predicted = {PER, Entity(32, 47, "ORG"), LOC}  # "European Commission" without "the"... shifted start
    scores = micro([item(predicted)])
    assert (scores["tp"], scores["fp"], scores["fn"]) == (2, 1, 1)
    assert ner.analyse_errors([item(predicted)]).boundary == {"ORG": 1}


def test_boundary_and_label_error():
    predicted = {PER, Entity(37, 47, "LOC"), LOC}
    analysis = ner.analyse_errors([item(predicted)])
    assert analysis.boundary_and_label == 1 and not analysis.boundary


def test_missed_and_spurious():
    predicted = {PER, ORG, Entity(16, 23, "PER")}  # LOC missed, "visited" spurious
    scores = micro([item(predicted)])
    assert (scores["tp"], scores["fp"], scores["fn"]) == (2, 1, 1)
    assert scores["precision"] == pytest.approx(2 / 3) and scores["recall"] == pytest.approx(2 / 3)
    analysis = ner.analyse_errors([item(predicted)])
    assert analysis.missed == {"LOC": 1} and analysis.spurious == {"PER": 1}


def test_split_entity_is_two_fp_and_one_fn():
    predicted = {Entity(0, 5, "PER"), Entity(6, 15, "PER"), ORG, LOC}
    scores = micro([item(predicted)])
    assert (scores["tp"], scores["fp"], scores["fn"]) == (2, 2, 1)


def test_duplicates_count_once():
    # a set cannot hold duplicates: the scorer sees each predicted span once, however often a model repeats it
    assert micro([item([PER, PER, ORG, LOC])])["tp"] == 3


def test_ungrounded_mentions_are_false_positives():
    scores = micro([item(GOLD, ungrounded={("PER", "Blackborn")})])
    assert (scores["tp"], scores["fp"], scores["fn"]) == (3, 1, 0)
    assert ner.entity_scores([item(GOLD, ungrounded={("PER", "Blackborn")})])["per_label"]["PER"]["precision"] == 0.5


def test_empty_gold_empty_prediction_both_empty():
    assert micro([item(GOLD, gold=())]) | {} == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "fp": 3, "fn": 0}
    assert micro([item(())])["fn"] == 3 and micro([item(())])["f1"] == 0.0
    both = [item((), gold=())]
    assert micro(both)["f1"] == 0.0 and ner.sentence_accuracy(both) == 1.0
    assert ner.token_scores(both)["accuracy"] == 1.0


def test_macro_averages_labels_seen_in_gold_or_predictions():
    scores = ner.entity_scores([item({PER, ORG, Entity(51, 59, "MISC")})])
    assert set(scores["per_label"]) == {"PER", "ORG", "LOC", "MISC"}
    assert scores["macro"]["f1"] == pytest.approx((1 + 1 + 0 + 0) / 4)


def test_lenient_versus_strict_pair():
    gold_tags, predicted_tags = [["B-ORG", "I-ORG"]], [["I-ORG", "I-ORG"]]
    assert f1_score(gold_tags, predicted_tags) == 1.0  # conlleval's lenient reading
    assert f1_score(gold_tags, predicted_tags, mode="strict", scheme=IOB2) == 0.0
    tokens = ["European", "Commission"]
    gold = ner.NerItem("x", "European Commission", frozenset(entities_from_tagger(tokens, gold_tags[0])),
                       frozenset(entities_from_tagger(tokens, predicted_tags[0])), tokens)
    assert micro([gold]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "fp": 0, "fn": 1}


def test_token_scores_ignore_b_and_i():
    predicted = {Entity(0, 5, "PER"), Entity(6, 15, "PER"), ORG, LOC}  # split PER: tokens still all right
    scores = ner.token_scores([item(predicted)])
    assert scores["accuracy"] == 1.0 and scores["micro"]["f1"] == 1.0


def test_token_scores_hand_counted():
    predicted = {PER, Entity(28, 47, "LOC"), Entity(16, 23, "PER")}
    # tokens: Peter Blackburn visited the European Commission in Brussels
    # gold:   PER   PER       O       O   ORG      ORG        O  LOC
    # pred:   PER   PER       PER     O   LOC      LOC        O  O
    scores = ner.token_scores([item(predicted)])
    tp, fp, fn = 2, 3, 3
    assert scores["accuracy"] == 4 / 8
    assert scores["micro"]["precision"] == tp / (tp + fp) and scores["micro"]["recall"] == tp / (tp + fn)


# --- seqeval, to the last digit, on the real test sets --------------------------------------------------------

def perturb(entities: list[Entity], tokens: list[str], labels: list[str], rng: random.Random) -> list[Entity]:
    """Drop, add, relabel, shift a boundary, split or merge; the result stays flat and token-aligned."""
    starts, ends = (list(side) for side in zip(*token_offsets(" ".join(tokens), tokens)))
    spans = [(starts.index(e.start), ends.index(e.end), e.label) for e in entities]  # token indices, inclusive
    out = []
    for first, last, label in spans:
        action = rng.choice(["keep", "keep", "drop", "relabel", "shift", "split", "merge"])
        if action == "drop":
            continue
        if action == "relabel":
            label = rng.choice(labels)
        elif action == "shift":
            first = min(len(tokens) - 1, max(0, first + rng.choice([-1, 1])))
            last = max(first, min(len(tokens) - 1, last + rng.choice([-1, 0, 1])))
        elif action == "split" and last > first:
            out.append((first, first, label))
            first += 1
        elif action == "merge" and last + 1 < len(tokens):
            last += 1
        out.append((first, last, label))
    if rng.random() < 0.3:
        i = rng.randrange(len(tokens))
        out.append((i, i, rng.choice(labels)))
    flat, taken = [], set()
    for first, last, label in sorted(out):  # keep the result flat: drop spans that overlap an earlier one
        if not taken & set(range(first, last + 1)):
            taken |= set(range(first, last + 1))
            flat.append(Entity(starts[first], ends[last], label))
    return flat


def load_items(path, rounds: int, seed: int) -> tuple[list[ner.NerItem], list[list[str]], list[list[str]]]:
    rng = random.Random(seed)
    examples = [json.loads(line)["gold"] for line in open(path, encoding="utf-8")]
    items, gold_tags, predicted_tags = [], [], []
    for _ in range(rounds):
        for example in examples:
            tokens, labels = example["tokens"], example["labels"]
            gold = [Entity(**e) for e in example["entities"]]
            predicted = perturb(gold, tokens, labels, rng)
            items.append(ner.NerItem("x", example["text"], frozenset(gold), frozenset(predicted), tokens))
            gold_tags.append(entities_to_tags(tokens, gold))
            predicted_tags.append(entities_to_tags(tokens, predicted))
    return items, gold_tags, predicted_tags


@pytest.mark.data
@pytest.mark.parametrize("dataset", ["conll2003", "gmb"])
def test_entity_scores_equal_seqeval_strict_on_perturbed_real_predictions(converted, dataset):
    for seed in range(3):  # 3 seeds × 2 rounds × the whole test set: ~20,000 (CoNLL) / ~29,000 (GMB) sentences
        items, gold_tags, predicted_tags = load_items(converted / dataset / "test.jsonl", rounds=2, seed=seed)
        ours = ner.entity_scores(items)
        kwargs = {"mode": "strict", "scheme": IOB2}
        assert ours["micro"]["precision"] == precision_score(gold_tags, predicted_tags, **kwargs)
        assert ours["micro"]["recall"] == recall_score(gold_tags, predicted_tags, **kwargs)
        assert ours["micro"]["f1"] == f1_score(gold_tags, predicted_tags, **kwargs)
        assert ours["macro"]["f1"] == (f1_score(gold_tags, predicted_tags, average="macro", **kwargs)
                                                    )
        report = classification_report(gold_tags, predicted_tags, output_dict=True, **kwargs)
        for label, scores in ours["per_label"].items():
            assert scores["precision"] == report[label]["precision"], label
            assert scores["recall"] == report[label]["recall"], label
            assert scores["f1"] == report[label]["f1-score"], label
            assert scores["support"] == report[label]["support"], label


@pytest.mark.data
@pytest.mark.parametrize("dataset", ["conll2003", "gmb"])
def test_token_scores_equal_a_direct_per_token_count(converted, dataset):
    items, gold_tags, predicted_tags = load_items(converted / dataset / "test.jsonl", rounds=1, seed=7)
    tp = fp = fn = correct = total = 0
    for gold, predicted in zip(gold_tags, predicted_tags):
        for g, p in zip((t[2:] if t != "O" else "O" for t in gold), (t[2:] if t != "O" else "O" for t in predicted)):
            total += 1
            correct += g == p
            tp += g == p != "O"
            fp += p != "O" and p != g
            fn += g != "O" and p != g
    ours = ner.token_scores(items)
    assert ours["accuracy"] == correct / total
    assert ours["micro"]["precision"] == tp / (tp + fp) and ours["micro"]["recall"] == tp / (tp + fn)


def test_random_tag_sequences_agree_with_seqeval():
    """seqeval's own test idea: random (often invalid) IOB2 sequences, read strictly on both sides."""
    rng = random.Random(0)
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    gold_tags, predicted_tags, items = [], [], []
    for _ in range(2000):
        n = rng.randint(1, 8)
        tokens = [f"t{i}" for i in range(n)]
        gold, predicted = [rng.choice(tags) for _ in range(n)], [rng.choice(tags) for _ in range(n)]
        gold_tags.append(gold)
        predicted_tags.append(predicted)
        items.append(ner.NerItem("x", " ".join(tokens), frozenset(entities_from_tagger(tokens, gold)),
                                 frozenset(entities_from_tagger(tokens, predicted)), tokens))
    assert ner.entity_scores(items)["micro"]["f1"] == f1_score(gold_tags, predicted_tags, mode="strict", scheme=IOB2)


# --- classification and multiple choice ---------------------------------------------------------------------------

def test_label_parsing_never_guesses():
    labels = ["World", "Sports", "Business", "Sci/Tech"]
    assert parse_label("Sports", labels) == "Sports"
    assert parse_label(" sci / tech.\n", labels) == "Sci/Tech"
    assert parse_label("<think>hmm</think>business", labels) == "Business"
    assert parse_label("Sport", labels) is None
    assert parse_label("Sports and Business", labels) is None
    assert parse_label("Ｂｕｓｉｎｅｓｓ", labels) == "Business"
    assert parse_label("ｓｃｉ／ｔｅｃｈ", labels) == "Sci/Tech"


def test_classification_counts_and_confusion():
    scores = classification_scores(["a", "a", "b", "b"], ["a", "b", "b", INVALID], ["a", "b"])
    assert scores["accuracy"] == 0.5 and scores["invalid"] == 1
    assert scores["per_label"]["a"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert scores["per_label"]["b"]["precision"] == 0.5 and scores["per_label"]["b"]["recall"] == 0.5
    assert scores["confusion"] == {"labels": ["a", "b", INVALID], "matrix": [[1, 1, 0], [0, 1, 1]]}


def test_expected_calibration_error_hand_computed():
    # bin [0.8, 0.867): confidences 0.8, 0.8 with one right -> |0.5 - 0.8| × 2/4; bin 1.0: 1.0, right and wrong
    result = calibration([True, False, True, False], [0.8, 0.8, 1.0, 1.0])
    assert result["ece"] == pytest.approx(0.5 * 0.3 + 0.5 * 0.5)
    assert sum(b["count"] for b in result["bins"]) == 4 and len(result["bins"]) == 15


def test_ece_has_an_interval_and_the_bootstrap_gives_the_report_s_value(tmp_path):
    """ECE before and after calibration is stated with its interval: it is a function of per-bin sums, so the
    bootstrap resamples it like accuracy; at full sample it is exactly `calibration`'s value."""
    import numpy

    rng = numpy.random.default_rng(0)
    confidence = rng.uniform(0.25, 1.0, 400)
    correct = rng.uniform(size=400) < confidence ** 2  # overconfident
    labels = ["World", "Sports"]
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps({"id": str(i), "messages": [{"role": "user", "content": "x"}],
                                        "gold": {"task": "classification", "label": "World", "labels": labels}}) + "\n"
                            for i in range(400)))
    pred = tmp_path / "pred.jsonl"
    pred.write_text("".join(json.dumps({"id": str(i), "label": "World" if ok else "Sports", "confidence": float(c)})
                            + "\n" for i, (ok, c) in enumerate(zip(correct, confidence))))
    report = tmp_path / "report.json"
    assert llmner("score", "--data", gold, "--pred", pred, "--json", report, "--resamples", "500").exit_code == 0
    scored = json.loads(report.read_text())
    assert scored["ece"] == pytest.approx(calibration(list(correct), list(confidence))["ece"])
    low, high = scored["ece_ci"]
    assert low < scored["ece"] < high and high - low < 0.2


def test_mcq_seed_rule_takes_the_last_standalone_letter():
    seed = lambda output: parse_choice(output, "last-letter")  # noqa: E731
    assert seed("答案是B") == "B" and seed("<think>A 还是 C？</think>C") == "C" and seed("A 不对，应该选D。") == "D"
    assert seed("Because") is None and seed("") is None
    assert seed("B and C") == "C" and seed("答案：B。因为A选项是错的") == "A"  # what the strict rule fixes


@pytest.mark.parametrize("output, letter", [
    ("答案是B", "B"), ("<think>A 还是 C？</think>C", "C"), ("A 不对，应该选D。", "D"), ("Because", None), ("", None),
    ("答案：B。因为A选项是错的", "B"), ("Answer: C", "C"), ("The answer is (D).", "D"), ("答案为 Ａ", "A"),
    ("Ｂ", "B"), ("B and C", None), ("A or B?", None), ("选项A和B都对，答案是C", "C"), ("the answer is a guess", None),
    ("B. 腹", "B"), ("答案是A……不对，答案是D", "D"),
])
def test_mcq_strict_rule_cue_wins_and_two_options_are_unparseable(output, letter):
    assert parse_choice(output) == letter


# --- the command: reports and bad input -------------------------------------------------------------------------

def write(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return str(path)


NER_GOLD = [{"id": "d/test/0", "messages": [], "gold": {"task": "ner", "text": TEXT, "tokens": TOKENS,
                                                          "labels": ["PER", "ORG", "LOC"], "answer_format": "lines",
                                                          "entities": [e._asdict() for e in sorted(GOLD)]}},
            {"id": "d/test/1", "messages": [], "gold": {"task": "ner", "text": "nothing here", "tokens": ["nothing",
                                                          "here"], "labels": ["PER", "ORG", "LOC"], "entities": []}}]


def score(tmp_path, predictions, gold=NER_GOLD, *extra):
    report = tmp_path / "report.json"
    result = llmner("score", "--data", write(tmp_path / "gold.jsonl", gold), "--pred",
                    write(tmp_path / "pred.jsonl", predictions), "--json", report, *extra)
    return result, (json.loads(report.read_text()) if report.exists() else None)


def test_report_has_the_contract_keys_and_counts(tmp_path):
    result, report = score(tmp_path, [{"id": "d/test/0", "output": "PER: Peter Blackburn\nORG: Europe\nLOC: Brussels"}])
    assert result.exit_code == 0, result.output
    assert {"task", "examples", "missing_predictions", "unparseable_outputs", "ungrounded_mentions", "entity",
            "token", "sentence_accuracy"} <= set(report)
    assert report["missing_predictions"] == 1 and report["examples"] == 2
    assert report["entity"]["micro"]["tp"] == 2 and report["entity"]["micro"]["fn"] == 1
    # "Europe" is only the start of a token: on token boundaries it is not in the text, so a false positive
    assert report["ungrounded_mentions"] == 1 and report["entity"]["micro"]["fp"] == 1


def test_label_outside_the_gold_set_is_reported_and_wrong(tmp_path):
    result, report = score(tmp_path, [{"id": "d/test/0", "output": "PERSON: Peter Blackburn"}])
    assert report["unknown_label_predictions"] == 1 and report["entity"]["micro"]["tp"] == 0
    assert "PERSON" in report["entity"]["per_label"]


def test_span_predictions_are_scored_too(tmp_path):
    result, report = score(tmp_path, [{"id": "d/test/0", "entities": [e._asdict() for e in GOLD]},
                                      {"id": "d/test/1", "entities": []}])
    assert report["entity"]["micro"]["f1"] == 1.0 and report["sentence_accuracy"] == 1.0


@pytest.mark.parametrize("predictions, expected", [
    ([{"id": "d/test/9", "output": ""}], "pred.jsonl:1: expected ids of the gold file"),
    ([{"id": "d/test/0", "output": ""}, {"id": "d/test/0", "output": ""}],
     "pred.jsonl:2: expected each id once; 'd/test/0' appears twice"),
    ([{"id": "d/test/0", "label": "Sports"}], "pred.jsonl:1: expected a ner prediction"),
    ([{"id": "d/test/0", "entities": [{"start": 0, "end": 99, "label": "PER"}]}],
     "pred.jsonl:1: expected a ner prediction (shared/CONTRACT.md section 2): span 0-99 outside"),
])
def test_bad_predictions(tmp_path, predictions, expected):
    result, _ = score(tmp_path, predictions)
    assert result.exit_code == 2 and expected in result.output and result.output.count("\n") == 1, result.output


def test_malformed_json_line_in_predictions(tmp_path):
    (tmp_path / "pred.jsonl").write_text('{"id": "d/test/0", "output": ""}\n{"id": \n')
    result = llmner("score", "--data", write(tmp_path / "gold.jsonl", NER_GOLD), "--pred", tmp_path / "pred.jsonl")
    assert result.exit_code == 2 and "pred.jsonl:2: expected one JSON object per line" in result.output


def test_gold_of_mixed_tasks_and_duplicate_ids(tmp_path):
    mixed = NER_GOLD + [{"id": "c/0", "messages": [],
                         "gold": {"task": "classification", "label": "a", "labels": ["a"]}}]
    result, _ = score(tmp_path, [], mixed)
    assert result.exit_code == 2 and "gold.jsonl:3: expected task 'ner'" in result.output
    result, _ = score(tmp_path, [], NER_GOLD + NER_GOLD[:1])
    assert result.exit_code == 2 and "gold.jsonl:3: expected each id once; 'd/test/0' appears twice" in result.output


def test_integer_ids_are_scored_like_any_other(tmp_path):
    # The contract allows integer ids (core.schemas.Id); the report then has no dataset or split, and no traceback
    gold = [example | {"id": number} for number, example in enumerate(NER_GOLD)]
    result, report = score(tmp_path, [{"id": 0, "entities": [e._asdict() for e in GOLD]}], gold)
    assert result.exit_code == 0, result.output
    assert report["entity"]["micro"]["tp"] == 3 and report["missing_predictions"] == 1
    assert "dataset" not in report and "split" not in report


def test_a_negative_worst_count_is_refused(tmp_path):
    result, report = score(tmp_path, [], NER_GOLD, "--worst", "-1")
    assert result.exit_code == 2 and "Invalid value for '--worst'" in result.output and report is None


@pytest.mark.data
def test_reports_for_examples_made_by_the_converters(converted, tmp_path):
    def gold_as_predictions(path, make):
        return [make(json.loads(line)) for line in open(path, encoding="utf-8")]

    for dataset, make, key in (
            ("conll2003/test.jsonl", lambda e: {"id": e["id"], "output": e["messages"][-1]["content"]}, "entity"),
            ("zh_ner/test.jsonl", lambda e: {"id": e["id"], "output": e["messages"][-1]["content"]}, "entity"),
            ("ag_news/test.jsonl", lambda e: {"id": e["id"], "label": e["gold"]["label"], "confidence": 0.9},
             "accuracy"),
            ("zh_news/test.jsonl", lambda e: {"id": e["id"], "output": e["messages"][-1]["content"]}, "accuracy"),
            ("cmmlu/test.jsonl", lambda e: {"id": e["id"], "output": "答案：" + e["gold"]["answer"]}, "accuracy")):
        extra = ["--confusion-png", str(tmp_path / "c.png"), "--reliability-png", str(tmp_path / "r.png"),
                 "--submission", str(tmp_path / "submission.csv")]
        result, report = score(tmp_path, gold_as_predictions(converted / dataset, make),
                               [json.loads(line) for line in open(converted / dataset, encoding="utf-8")], *extra)
        assert result.exit_code == 0, (dataset, result.output)
        value = report["entity"]["micro"]["f1"] if key == "entity" else report["accuracy"]
        assert value == 1.0, dataset
    assert (tmp_path / "c.png").stat().st_size > 1000 and (tmp_path / "r.png").stat().st_size > 1000
    assert open(tmp_path / "submission.csv").readline().strip() == "ID,Answer"


def test_a_submission_with_one_id_for_two_questions_is_refused(tmp_path):
    """submission.csv is matched to questions by ID; two questions sharing one (a folder of per-subject files
    converted before they were told apart) make it unreadable, so it is refused in one line, not written."""
    gold = [{"id": f"cmmlu/test/{subject}-0", "messages": [{"role": "user", "content": "问题"}],
             "gold": {"task": "mcq", "answer": "A", "options": {"A": "甲", "B": "乙"}, "source_id": "0"}}
            for subject in ("agronomy", "anatomy")]
    result, _ = score(tmp_path, [{"id": e["id"], "answer": "A"} for e in gold], gold,
                      "--submission", str(tmp_path / "submission.csv"))
    assert result.exit_code == 2 and "expected one source ID a question for submission.csv" in result.output
    assert "'0' names 2 questions" in result.output and not (tmp_path / "submission.csv").exists()


def test_loss_curve_from_an_axolotl_log(tmp_path):
    log = tmp_path / "debug.log"
    log.write_text(" 1/3 [00:00]  {'loss': '7.1', 'grad_norm': '5.9', 'epoch': '0.1'}\n"
                   "{'loss': '3.5', 'epoch': '0.2'}\n{'eval_loss': '4.0', 'epoch': '0.2'}\n{'loss': '1.25'}\n")
    result = llmner("plot-loss", tmp_path)
    assert result.exit_code == 0 and "7.100 -> 1.250 over 3 logged steps" in result.output
    assert (tmp_path / "loss.png").stat().st_size > 1000
    empty = tmp_path / "empty"
    empty.mkdir()
    result = llmner("plot-loss", empty)
    assert result.exit_code == 2 and "expected logged training losses" in result.output


@pytest.mark.parametrize("command", [
    lambda tmp: ["plot-loss", str(tmp / "no_run")],
    lambda tmp: ["plot-loss", str(tmp / "run"), "--png", str(tmp / "a_file" / "loss.png")],
    lambda tmp: ["leaderboard", str(tmp / "no_report.json")],
    lambda tmp: ["leaderboard", str(tmp / "run" / "debug.log")],
])
def test_plot_and_leaderboard_paths_fail_in_one_line(tmp_path, command):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "debug.log").write_text("{'loss': '7.1'}\n{'loss': '3.5'}\n")
    (tmp_path / "a_file").write_text("")
    result = llmner(*command(tmp_path))
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith(f"error: {tmp_path}"), result.output
    assert not list(tmp_path.rglob("*.png"))


# --- scoring rules: nothing dropped or bent silently -------------------------------------------------------------

def classification_gold(*examples):
    return [{"id": f"c/{i}", "messages": [], "gold": {"task": "classification", "label": label, "labels": labels}}
            for i, (label, labels) in enumerate(examples)]


MCQ_GOLD = [{"id": f"m/{i}", "messages": [], "gold": {"task": "mcq", "answer": answer}} for i, answer in
            enumerate("BC")]


def test_a_label_is_read_exactly_like_an_output(tmp_path):
    gold = classification_gold(("Business", ["World", "Business"]), ("World", ["World", "Business"]))
    for key in ("label", "output"):
        result, report = score(tmp_path, [{"id": "c/0", key: "business"}, {"id": "c/1", key: "Ｗｏｒｌｄ。"}], gold)
        assert result.exit_code == 0 and report["accuracy"] == 1.0 and report["invalid"] == 0, (key, result.output)


def test_full_width_mcq_answers_fold_like_ner(tmp_path):
    result, report = score(tmp_path, [{"id": "m/0", "output": "Ｂ"}, {"id": "m/1", "answer": "Ｃ"}], MCQ_GOLD)
    assert report["accuracy"] == 1.0 and report["unparseable"] == 0 and report["mcq_rule"] == "strict"


def test_mcq_rule_option_reproduces_the_seed(tmp_path):
    predictions = [{"id": "m/0", "output": "答案：B。因为A选项是错的"}, {"id": "m/1", "output": "B and C"}]
    _, strict = score(tmp_path, predictions, MCQ_GOLD)
    _, seed = score(tmp_path, predictions, MCQ_GOLD, "--mcq-rule", "last-letter")
    assert (strict["correct"], strict["unparseable"]) == (1, 1) and (seed["correct"], seed["unparseable"]) == (1, 0)
    assert seed["mcq_rule"] == "last-letter"


def test_a_missing_prediction_is_counted_once_as_missing(tmp_path):
    gold = classification_gold(("Business", ["World", "Business"]), ("World", ["World", "Business"]))
    _, report = score(tmp_path, [{"id": "c/0", "label": "Business"}], gold)
    assert (report["missing_predictions"], report["invalid"], report["accuracy"]) == (1, 0, 0.5)
    assert report["confusion"]["labels"] == ["World", "Business", "(missing)"]
    _, report = score(tmp_path, [{"id": "m/0", "output": "B"}], MCQ_GOLD)
    assert (report["missing_predictions"], report["unparseable"], report["accuracy"]) == (1, 0, 0.5)
    _, report = score(tmp_path, [{"id": "d/test/0", "output": "PER: Peter Blackburn"}])
    assert (report["missing_predictions"], report["unparseable_outputs"]) == (1, 0)


def test_each_example_is_read_against_its_own_label_set_and_none_drops_out(tmp_path):
    # fudan_news offers each text its own candidates; the second example's label is not in the first's set
    gold = classification_gold(("History", ["Space", "History"]), ("Sports", ["Sports", "Art"]))
    _, report = score(tmp_path, [{"id": "c/0", "output": "History"}, {"id": "c/1", "output": "Sports"}], gold)
    assert report["accuracy"] == 1.0 and list(report["per_label"]) == ["Space", "History", "Sports", "Art"]
    assert report["per_label"]["Sports"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    _, report = score(tmp_path, [{"id": "c/0", "output": "Sports"}], gold)  # a label of another example's set
    assert report["invalid"] == 1 and report["accuracy"] == 0.0


def test_output_and_entities_together_are_refused(tmp_path):
    result, _ = score(tmp_path, [{"id": "d/test/0", "output": "PER: Peter Blackburn", "entities": []}])
    assert result.exit_code == 2 and "pred.jsonl:1: expected a ner prediction" in result.output
    assert "exactly one of output or entities, got output and entities" in result.output


@pytest.mark.parametrize("answer_format", ["lines", "json", "inline"])
def test_rendered_gold_scores_itself_perfectly_on_the_shipped_sample(tmp_path, answer_format):
    """`llmner data convert wnut17 --answer-format FORMAT` on the shipped sample, every gold answer scored by the
    scorer against its own gold: F1 1.0 and every sentence exact, nothing unparseable, malformed or ungrounded."""
    from llmner.core.schemas import NerPrediction
    from llmner.evaluators.data import Gold
    from llmner.evaluators.score import build_report
    from tests.constants import ROOT

    examples = []
    for sample in ("train_sample", "test_sample"):
        out = tmp_path / f"{sample}.jsonl"
        result = llmner("data", "convert", "wnut17", "--input", ROOT / "samples" / "wnut17" / f"{sample}.conll",
                        "--output", out, "--answer-format", answer_format)
        assert result.exit_code == 0, result.output
        examples += [json.loads(line) for line in open(out, encoding="utf-8")]
    assert {e["gold"]["answer_format"] for e in examples} == {answer_format}
    gold = Gold("ner", {e["id"]: e["gold"] for e in examples}, "sample")
    report = build_report(gold, {e["id"]: NerPrediction(id=e["id"], output=e["messages"][-1]["content"])
                                 for e in examples}, resamples=0).to_json()
    assert report["entity"]["micro"]["f1"] == 1.0 and report["sentence_accuracy"] == 1.0
    assert report["unparseable_outputs"] == report["malformed_lines"] == report["ungrounded_mentions"] == 0
    assert report["entity"]["micro"]["tp"] > 50 and report["examples"] > 100
