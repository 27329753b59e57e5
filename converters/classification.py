"""News topic classification: AG News CSV and THUCNews headlines, zero-, one- or few-shot prompts.

AG News (Zhang et al. 2015; research, non-commercial): ``"3","Fears for T N pension","Unions representing ..."``
(class index 1-4: World, Sports, Business, Sci/Tech). THUCNews (Sun et al. 2016; academic use): ``体验2D巅峰 倚天
屠龙记十大创新概览<TAB>8`` with ids named by ``class.txt``. Each row becomes ``{"id": "ag_news/test/0", "messages":
[system, user, {"assistant": "Business"}], "gold": {"task": "classification", "label": "Business", "labels":
[...]}}``. Shots are drawn once, with a seed, from a named pool file that must not be the evaluated file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from llmner.core.errors import DataError
from llmner.core.tasks import classification_messages
from llmner.core.text_files import at_least_one, csv_rows, numbered_lines


def read_ag_news(path: str | Path, labels: tuple[str, ...]) -> Iterator[tuple[int, str, str]]:
    for number, row in at_least_one(csv_rows(path), path, "row"):
        if len(row) != 3:
            raise DataError(path, number, f"expected 3 columns (class index, title, description), got {len(row)}")
        if row[0] not in {str(i) for i in range(1, len(labels) + 1)}:
            raise DataError(path, number, f"expected a class index 1-{len(labels)}, got {row[0]!r}")
        # The CSV writes line breaks inside fields as a backslash.
        yield number, f"{row[1]}\n{row[2]}".replace("\\", " "), labels[int(row[0]) - 1]


def read_class_names(path: str | Path) -> tuple[str, ...]:
    lines = (line.strip() for _, line in numbered_lines(path))
    return tuple(at_least_one((line for line in lines if line), path, "label name"))


def read_thucnews(path: str | Path, labels: tuple[str, ...]) -> Iterator[tuple[int, str, str]]:
    lines = ((number, line) for number, line in numbered_lines(path) if line.strip())
    for number, line in at_least_one(lines, path, "headline"):
        fields = line.split("\t")
        if len(fields) != 2 or not fields[1].strip().isdigit() or int(fields[1]) >= len(labels):
            raise DataError(path, number, f"expected 'headline<TAB>label id' with an id 0-{len(labels) - 1}")
        yield number, fields[0], labels[int(fields[1])]


def read_source(path: str | Path, source: str, labels: tuple[str, ...]) -> Iterator[tuple[int, str, str]]:
    return (read_ag_news if source == "ag_news" else read_thucnews)(path, labels)


def classification_example(example_id: str, text: str, label: str, labels: tuple[str, ...],
                           shots: list[tuple[str, str]] = ()) -> dict:
    return {"id": example_id, "messages": classification_messages(text, labels, shots, answer=label),
            "gold": {"task": "classification", "label": label, "labels": list(labels)}}


def convert_file(path: str | Path, source: str, labels: tuple[str, ...], split: str,
                 shots: list[tuple[str, str]] = ()) -> Iterator[dict]:
    for index, (_, text, label) in enumerate(read_source(path, source, labels)):
        yield classification_example(f"{source}/{split}/{index}", text, label, labels, shots)
