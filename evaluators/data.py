"""Loading gold examples and predictions, each record checked against its schema (core.schemas), with every
inconsistency reported as file:line: expected."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import DataError
from core.io import read_jsonl
from core.schemas import EXAMPLE, PREDICTIONS, Example, Keyed, read_valid, validated


@dataclass
class Gold:
    task: str
    examples: dict[str | int, dict]  # id -> the example's `gold` object, in file order
    path: str


@dataclass
class Prediction:
    line: int
    record: dict


def load_gold(path: str | Path) -> Gold:
    task, examples = None, {}
    for line, example, record in read_valid(path, Example, EXAMPLE):
        if task is None:
            task = example.gold.task
        elif example.gold.task != task:
            raise DataError(path, line, f"expected task {task!r} like the first example, got {example.gold.task!r}")
        if example.id in examples:
            raise DataError(path, line, f"expected each id once; {example.id!r} appears twice")
        examples[example.id] = record["gold"]
    return Gold(task, examples, str(path))


def load_predictions(path: str | Path, gold: Gold) -> dict[str | int, Prediction]:
    predictions, schema = {}, PREDICTIONS[gold.task]
    what = f"a {gold.task} prediction (shared/CONTRACT.md section 2)"
    for line, record in read_jsonl(path):  # an empty file is allowed: every example then counts as missing
        example_id = validated(Keyed, record, path, line, what).id
        if example_id not in gold.examples:
            raise DataError(path, line, f"expected ids of the gold file {gold.path}; {example_id!r} is not there")
        if example_id in predictions:
            raise DataError(path, line, f"expected each id once; {example_id!r} appears twice")
        context = {"text": gold.examples[example_id]["text"]} if gold.task == "ner" else {}
        validated(schema, record, path, line, what, **context)
        predictions[example_id] = Prediction(line, record)
    return predictions
