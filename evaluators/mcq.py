"""Multiple choice: accuracy over the answered questions, unparseable answers, submission.csv (the letter is read by
core.answer_format.parse_choice)."""

from __future__ import annotations

import csv
from pathlib import Path

from llmner.core.io import atomic_output
from llmner.core.tasks import MCQ_LETTERS


def mcq_scores(gold: list[str | None], predicted: list[str | None]) -> dict:
    answered = [(g, p) for g, p in zip(gold, predicted) if g is not None]
    correct = sum(g == p for g, p in answered)
    return {"accuracy": correct / len(answered) if answered else 0.0, "correct": correct, "scored": len(answered),
            "unparseable": sum(p is None for p in predicted)}  # a MISSING one is counted as missing only


def write_submission(path: str | Path, rows: list[tuple[str, str | None]]) -> None:
    with atomic_output(path, newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ID", "Answer"])
        writer.writerows((example_id, letter if letter in MCQ_LETTERS else "") for example_id, letter in rows)
