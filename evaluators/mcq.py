"""Multiple choice: the answer letter read as the seed read it (the last standalone A-D), accuracy, submission."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from core.answer_format import answer_body
from core.io import atomic_output

_LETTER = re.compile(r"(?<![A-Za-z])[A-D](?![A-Za-z])")


def parse_letter(output: str) -> str | None:
    letters = _LETTER.findall(answer_body(output))
    return letters[-1] if letters else None


def mcq_scores(gold: list[str | None], predicted: list[str | None]) -> dict:
    answered = [(g, p) for g, p in zip(gold, predicted) if g is not None]
    correct = sum(g == p for g, p in answered)
    return {"accuracy": correct / len(answered) if answered else 0.0, "correct": correct, "scored": len(answered),
            "unparseable": sum(p is None for p in predicted)}


def write_submission(path: str | Path, rows: list[tuple[str, str | None]]) -> None:
    with atomic_output(path, newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ID", "Answer"])
        writer.writerows((example_id, letter or "") for example_id, letter in rows)
