"""Loading gold examples and predictions, each record validated against its schema (core.schemas) and handed on as
that model, with every inconsistency reported as file:line: expected."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llmner.core.errors import DataError
from llmner.core.io import read_jsonl
from llmner.core.schemas import (
    EXAMPLE,
    GOLD,
    PREDICTIONS,
    ClassificationGold,
    ClassificationPrediction,
    Example,
    Id,
    Keyed,
    McqGold,
    McqPrediction,
    NerGold,
    NerPrediction,
    read_valid,
    validated,
)

# What the scorer reads per example: its gold, and the prediction for it.
GoldRecord = NerGold | ClassificationGold | McqGold
Prediction = NerPrediction | ClassificationPrediction | McqPrediction


@dataclass
class Gold:
    task: str
    examples: dict[Id, GoldRecord]  # id -> the example's `gold`, in file order
    path: str

    def __post_init__(self):
        # A caller holding the contract's JSON (a benchmark, a test) gets it validated here, once.
        self.examples = {key: GOLD.validate_python(value) if isinstance(value, dict) else value
                         for key, value in self.examples.items()}


def load_gold(path: str | Path) -> Gold:
    task, examples = None, {}
    for line, example, _ in read_valid(path, Example, EXAMPLE):
        if task is None:
            task = example.gold.task
        elif example.gold.task != task:
            raise DataError(path, line, f"expected task {task!r} like the first example, got {example.gold.task!r}")
        if example.id in examples:
            raise DataError(path, line, f"expected each id once; {example.id!r} appears twice")
        examples[example.id] = example.gold
    return Gold(task, examples, str(path))


def load_predictions(path: str | Path, gold: Gold) -> dict[Id, Prediction]:
    predictions, schema = {}, PREDICTIONS[gold.task]
    what = f"a {gold.task} prediction (shared/CONTRACT.md section 2)"
    for line, record in read_jsonl(path):  # an empty file is allowed: every example then counts as missing
        example_id = validated(Keyed, record, path, line, what).id
        if example_id not in gold.examples:
            raise DataError(path, line, f"expected ids of the gold file {gold.path}; {example_id!r} is not there")
        if example_id in predictions:
            raise DataError(path, line, f"expected each id once; {example_id!r} appears twice")
        context = {"text": gold.examples[example_id].text} if gold.task == "ner" else {}
        predictions[example_id] = validated(schema, record, path, line, what, **context)
    return predictions
