"""Loading gold examples and predictions, with every inconsistency reported as file:line: expected."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.io import DataError, read_jsonl

TASKS = ("ner", "classification", "mcq")


@dataclass
class Gold:
    task: str
    examples: dict[str, dict]  # id -> the example's `gold` object, in file order
    path: str


@dataclass
class Prediction:
    line: int
    record: dict


def load_gold(path: str | Path) -> Gold:
    task, examples = None, {}
    for line, record in read_jsonl(path):
        gold = record.get("gold")
        if not isinstance(record.get("id"), str) or not isinstance(gold, dict) or gold.get("task") not in TASKS:
            raise DataError(path, line, f"expected an example with a string id and gold.task one of {TASKS}")
        if task is None:
            task = gold["task"]
        elif gold["task"] != task:
            raise DataError(path, line, f"expected task {task!r} like the first example, got {gold['task']!r}")
        if record["id"] in examples:
            raise DataError(path, line, f"id {record['id']!r} appears twice")
        check_gold(path, line, gold)
        examples[record["id"]] = gold
    if task is None:
        raise DataError(path, None, "expected at least one example")
    return Gold(task, examples, str(path))


def check_gold(path, line, gold: dict) -> None:
    if gold["task"] == "ner":
        text = gold.get("text")
        if not isinstance(text, str) or not isinstance(gold.get("entities"), list):
            raise DataError(path, line, "expected gold.text and gold.entities for an ner example")
        check_spans(path, line, gold["entities"], text)
    elif gold["task"] == "classification":
        if not isinstance(gold.get("labels"), list) or gold.get("label") not in gold["labels"]:
            raise DataError(path, line, "expected gold.label to be one of gold.labels")
    elif gold.get("answer") not in (None, "A", "B", "C", "D"):
        raise DataError(path, line, "expected gold.answer A-D (or null)")


def check_spans(path, line, entities, text: str) -> None:
    for entity in entities:
        if not (isinstance(entity, dict) and isinstance(entity.get("start"), int) and isinstance(entity.get("end"), int)
                and isinstance(entity.get("label"), str)):
            raise DataError(path, line, "expected entities as {start: int, end: int, label: str}")
        if not 0 <= entity["start"] < entity["end"] <= len(text):
            raise DataError(path, line, f"span {entity['start']}-{entity['end']} outside the text "
                                        f"of length {len(text)}")


PREDICTION_KEYS = {"ner": ("output", "entities"), "classification": ("output", "label"), "mcq": ("output", "answer")}


def load_predictions(path: str | Path, gold: Gold) -> dict[str, Prediction]:
    predictions, keys = {}, PREDICTION_KEYS[gold.task]
    for line, record in read_jsonl(path):
        example_id = record.get("id")
        if example_id not in gold.examples:
            raise DataError(path, line, f"id {example_id!r} is not in the gold file {gold.path}")
        if example_id in predictions:
            raise DataError(path, line, f"id {example_id!r} appears twice")
        if not any(key in record for key in keys):
            raise DataError(path, line, f"expected a {gold.task} prediction with one of the keys "
                                        f"{' or '.join(keys)} (is this the right gold file?)")
        if gold.task == "ner" and "entities" in record:
            check_spans(path, line, record["entities"], gold.examples[example_id]["text"])
        if "output" in record and not isinstance(record["output"], str):
            raise DataError(path, line, "expected output to be a string")
        predictions[example_id] = Prediction(line, record)
    return predictions
