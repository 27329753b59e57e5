"""Fudan news classification as the Qwen seed used it: ModelScope `swift/zh_cls_fudan-news` (`train.jsonl` 4,000,
`test.jsonl` 959 records; the card says Apache-2.0; the texts are the Fudan University Chinese text corpus).

Each line holds the text, the candidate categories offered for it and the answer (the layout every public reader of it
uses: ``data["text"]``, ``data["category"]``, ``data["output"]``)::

    {"text": "<a news article>", "category": ["Space", "Politics", "History"], "output": "History"}

becomes ``{"id": "fudan_news/train/0", "messages": [system, user, {"assistant": "History"}], "gold": {"task":
"classification", "label": "History", "labels": ["Space", "Politics", "History"]}}``: the label set is the record's own
candidate list, in its order. `category` is accepted as a JSON list or as one string of comma-separated names (public
readers only format it into the prompt, so both forms are read); `output` must be one of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from llmner.converters.classification import classification_example
from llmner.core.errors import DataError
from llmner.core.schemas import FudanRecord, read_valid

WHAT = "a record {text, category, output}"


def candidates(category: list[str] | str) -> tuple[str, ...]:
    names = category.split(",") if isinstance(category, str) else category
    if not names or not all(name.strip() for name in names):
        raise ValueError("expected 'category' as a list of names (or one comma-separated string)")
    return tuple(name.strip() for name in names)


def record_example(example_id: str, record: FudanRecord) -> dict:
    """Raises ValueError naming what is wrong with the record's content (its shape is checked by its schema)."""
    if not record.text.strip():
        raise ValueError("expected a non-empty 'text'")
    labels = candidates(record.category)
    if record.output.strip() not in labels:
        raise ValueError(f"expected 'output' to be one of the record's categories {', '.join(labels)}; "
                         f"got {record.output!r}")
    return classification_example(example_id, record.text, record.output.strip(), labels)


def convert_file(path: str | Path, split: str) -> Iterator[dict]:
    for index, (line, record, _) in enumerate(read_valid(path, FudanRecord, WHAT)):
        try:
            yield record_example(f"fudan_news/{split}/{index}", record)
        except ValueError as error:
            raise DataError(path, line, str(error)) from None
