"""Chinese character-level NER: CCFBDCI as in `qgyd2021/chinese_ner_sft` (`ccfbdci.jsonl`; research use).

One raw line::

    {"text": "菲律宾总统埃斯特拉达", "entities": [{"start_idx": 0, "end_idx": 3, "entity_text": "菲律宾",
     "entity_label": "GPE", ...}]}

becomes ``{"id": "zh_ner/train/0", ..., "messages": [..., {"assistant": "{\"entity_text\": \"菲律宾\",
\"entity_label\": \"GPE\"}\\n..."}], "gold": {"text": ..., "entities": [{"start": 0, "end": 3, "label": "GPE"}]}}``,
the index being the source line (0-based); the seed recipe's JSON answer format is the default here. The split
(80/10/10, seed 42) is fixed in ``converters/splits/zh_ner.json``, with the count and digest of the texts it was
drawn from: a split of any other source stops with one line. Entities must be flat: a record with overlapping
(nested) entities stops with one line naming it, since the answer formats cannot say both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from llmner.core.errors import DataError
from llmner.core.examples import check_split_source, load_split, ner_example, seeded_split, source_digest, split_of
from llmner.core.schemas import ZhNerRecord, read_valid
from llmner.core.spans import Entity
from llmner.core.tasks import NerPrompt

SPLIT_FILE = Path(__file__).parent / "splits" / "zh_ner.json"


WHAT = "a record {text, entities: [{start_idx, end_idx, entity_label, entity_text}]}"


def record_entities(record: ZhNerRecord, labels: tuple[str, ...]) -> tuple[str, list[Entity]]:
    """The text and its spans (the record's shape is checked by its schema); raises ValueError naming what is wrong
    with its content."""
    text, entities = record.text, []
    for item in record.entities:
        start, end, label = item.start_idx, item.end_idx, item.entity_label
        if not 0 <= start < end <= len(text):
            raise ValueError(f"span {start}-{end} outside the text of length {len(text)}")
        if item.entity_text is not None and text[start:end] != item.entity_text:
            raise ValueError(f"text[{start}:{end}] is {text[start:end]!r}, not entity_text {item.entity_text!r}")
        if label not in labels:
            raise ValueError(f"unknown label {label!r}; expected one of {', '.join(labels)}")
        entities.append(Entity(start, end, label))
    check_flat(entities)
    return text, entities


def check_flat(entities: list[Entity]) -> None:
    """Nested or overlapping entities cannot be rendered as one answer: name the first pair."""
    ordered = sorted(entities)
    for before, after in zip(ordered, ordered[1:]):
        if after.start < before.end:
            raise ValueError(f"entities {before.start}-{before.end} {before.label} and {after.start}-{after.end} "
                             f"{after.label} overlap; expected flat entities (the answer formats name each character "
                             "once)")


def convert_file(path: str | Path, prompt: NerPrompt, split: str | None) -> Iterator[dict]:
    split_ids, texts = load_split(SPLIT_FILE), []
    for index, (line, record, _) in enumerate(read_valid(path, ZhNerRecord, WHAT)):
        texts.append(record.text)
        if split is not None and split_of(index, split_ids) != split:
            continue
        try:
            text, entities = record_entities(record, prompt.labels)
            example = ner_example(f"zh_ner/{split or 'all'}/{index}", text, entities, prompt)
        except ValueError as error:  # RenderError included: an entity the answer cannot ground back
            raise DataError(path, line, str(error)) from None
        yield example
    if split is not None:
        check_split_source(path, SPLIT_FILE, texts)


def make_split_file(path: str | Path) -> dict:
    count, digest = source_digest(record.text for _, record, _ in read_valid(path, ZhNerRecord, WHAT))
    return {"seed": 42, "sentences": count, "digest": digest, **seeded_split(list(range(count)), seed=42)}
