"""Every record kind of the contract (shared/CONTRACT.md sections 1-4) read into its model and written back is the same
JSON, key for key and in the same order: the models are the records, not a view of them."""

from __future__ import annotations

import json

import pytest

from llmner.converters.classification import classification_example
from llmner.converters.mcq import mcq_example
from llmner.core.schemas import PREDICTIONS, Comparison, Example, as_report, read_examples, read_records, read_report
from tests.cli import llmner
from tests.constants import FIXTURES

NEWS = ("World", "Sports", "Business", "Sci/Tech")


def ner_examples() -> list[str]:
    """The CoNLL converter's output (tokens, label set, answer format, documents)."""
    return (FIXTURES / "five.expected.jsonl").read_text(encoding="utf-8").splitlines()


def classification_examples() -> list[str]:
    return [json.dumps(classification_example(f"ag_news/test/{i}", text, label, NEWS), ensure_ascii=False)
            for i, (text, label) in enumerate([("Stocks fell", "Business"), ("A goal", "Sports")])]


def mcq_examples() -> list[str]:
    options = {"A": "甲", "B": "乙", "C": "丙", "D": "丁"}
    return [json.dumps(mcq_example(f"cmmlu/test/anatomy-{i}", "问", options, answer, source_id), ensure_ascii=False)
            for i, (answer, source_id) in enumerate([("B", ""), (None, "q-7")])]


EXAMPLES = {"ner": ner_examples, "classification": classification_examples, "mcq": mcq_examples}


def written_jsonl(path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


@pytest.mark.parametrize("task", sorted(EXAMPLES))
def test_examples_round_trip(task, tmp_path):
    lines = EXAMPLES[task]()
    for line in lines:
        assert json.dumps(Example.model_validate_json(line).to_json(), ensure_ascii=False) == line
    written_jsonl(tmp_path / "e.jsonl", lines)
    assert [json.dumps(record, ensure_ascii=False) for record in read_records(tmp_path / "e.jsonl")] == lines
    assert {example.gold.task for example in read_examples(tmp_path / "e.jsonl")} == {task}


def test_a_default_lives_in_the_model_and_is_never_written():
    line = ner_examples()[0]
    record = json.loads(line)
    del record["gold"]["answer_format"], record["gold"]["labels"]
    example = Example.model_validate(record)
    assert example.gold.answer_format == "lines" and example.gold.labels is None
    assert example.to_json() == record


@pytest.mark.parametrize("task, record", [
    ("ner", {"id": "conll2003/test/0", "output": "ORG: EU\nMISC: German"}),
    ("ner", {"id": "conll2003/test/0", "entities": [{"start": 0, "end": 2, "label": "ORG"}]}),
    ("ner", {"id": 17, "output": "none", "model": "smollm2"}),  # an integer id, a key the contract does not name
    ("classification", {"id": "ag_news/test/0", "label": "Business", "confidence": 0.83,
                        "scores": {"World": -3.2, "Business": -0.1}}),
    ("classification", {"id": "ag_news/test/0", "output": "Business"}),
    ("mcq", {"id": "cmmlu/test/anatomy-0", "output": "答案：B"}),
    ("mcq", {"id": "cmmlu/test/anatomy-0", "answer": "B"}),
])
def test_predictions_round_trip(task, record):
    line = json.dumps(record, ensure_ascii=False)
    assert json.dumps(PREDICTIONS[task].model_validate_json(line).to_json(), ensure_ascii=False) == line


PREDICTED = {"ner": lambda e: {"id": e["id"], "output": e["messages"][-1]["content"].split("\n")[0]},
             "classification": lambda e: {"id": e["id"], "label": "Business", "confidence": 0.5},
             "mcq": lambda e: {"id": e["id"], "output": "B"}}


def scored_files(task, tmp_path):
    lines = EXAMPLES[task]()
    written_jsonl(tmp_path / "gold.jsonl", lines)
    for side, keep in (("a", 1), ("b", 0)):
        written_jsonl(tmp_path / f"{side}.jsonl",
                      [json.dumps(PREDICTED[task](json.loads(line)), ensure_ascii=False) for line in lines[:keep]])
    return tmp_path / "gold.jsonl"


@pytest.mark.parametrize("task", sorted(EXAMPLES))
def test_reports_and_comparisons_round_trip(task, tmp_path):
    """What `llmner score --json` and `llmner compare --json` write is what their models give back."""
    gold = scored_files(task, tmp_path)
    scored = llmner("score", "--data", gold, "--pred", tmp_path / "a.jsonl", "--json", tmp_path / "r.json",
                    "--resamples", 50)
    compared = llmner("compare", "--data", gold, "--pred", tmp_path / "a.jsonl", "--pred", tmp_path / "b.jsonl",
                      "--json", tmp_path / "c.json", "--resamples", 50)
    assert scored.exit_code == 0 and compared.exit_code == 0, (scored.output, compared.output)
    report_text, comparison_text = ((tmp_path / name).read_text(encoding="utf-8") for name in ("r.json", "c.json"))
    report = read_report(tmp_path / "r.json")
    assert json.dumps(report.to_json(), indent=1, ensure_ascii=False) == report_text
    assert json.dumps(as_report(json.loads(report_text)).to_json(), indent=1, ensure_ascii=False) == report_text
    comparison = Comparison.model_validate_json(comparison_text)
    assert json.dumps(comparison.to_json(), indent=1, ensure_ascii=False) == comparison_text
    assert comparison.primary == report.headline.figure  # compare tests the report's headline alone


def keys_in_order(record) -> list:
    """Every key path of a JSON value, in the order written."""
    if isinstance(record, dict):
        return [(key, *path) for key, value in record.items() for path in [()] + keys_in_order(value)]
    if isinstance(record, list):
        return [(i, *path) for i, value in enumerate(record) for path in keys_in_order(value)]
    return []


@pytest.mark.parametrize("task", sorted(EXAMPLES))
def test_the_report_model_keeps_what_the_scorer_computes_in_its_order(task, tmp_path):
    from llmner.evaluators.data import load_gold, load_predictions
    from llmner.evaluators.score import build_report, scored

    gold = load_gold(scored_files(task, tmp_path))
    computed, _ = scored(gold, load_predictions(tmp_path / "a.jsonl", gold))
    assert keys_in_order(as_report(computed).to_json()) == keys_in_order(computed)
    written = build_report(gold, load_predictions(tmp_path / "a.jsonl", gold), resamples=50).to_json()
    assert [key for key in written if key in computed] == list(computed)


def test_the_ner_report_starts_as_the_contract_shows_it(tmp_path):
    from llmner.evaluators.data import load_gold, load_predictions
    from llmner.evaluators.score import build_report

    gold = load_gold(scored_files("ner", tmp_path))
    written = build_report(gold, load_predictions(tmp_path / "a.jsonl", gold), resamples=0).to_json()
    contract = ["task", "examples", "missing_predictions", "unparseable_outputs", "ungrounded_mentions", "entity",
                "token", "sentence_accuracy"]
    assert [key for key in written if key in contract] == contract
    assert list(written["entity"]["micro"])[:6] == ["precision", "recall", "f1", "tp", "fp", "fn"]
