"""The data contract as code (shared/CONTRACT.md): one declared schema per record kind, so every reader validates
the same way and every bad record gets the same one-line error naming the file, the line and the field.

Types are strict: a float or boolean offset, a number given as a string, a `null` where a list belongs are refused,
never coerced. An optional key may be left out, but not given as `null` (its annotation has no `None`; pydantic
does not validate a default, so leaving it out is fine and `null` is an error).
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, model_validator

from core.answer_format import ANSWER_FORMATS
from core.errors import DataError
from core.io import read_jsonl
from core.spans import token_offsets
from core.tasks import MCQ_LETTERS
from core.text_files import at_least_one

Id = StrictStr | StrictInt  # joined exactly: the prediction 17 answers the example 17, never "17"
Probability = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0, le=1.0)]


class Record(BaseModel):
    model_config = ConfigDict(extra="allow")  # keys the contract does not name travel along untouched


class Keyed(Record):
    id: Id


class Span(Record):
    start: StrictInt
    end: StrictInt
    label: StrictStr


def check_spans(entities: list[Span], text: str) -> None:
    for entity in entities:
        if not 0 <= entity.start < entity.end <= len(text):
            raise ValueError(f"span {entity.start}-{entity.end} outside the text of length {len(text)}")


class Message(Record):
    role: Literal["system", "user", "assistant"]
    content: StrictStr


class NerGold(Record):
    task: Literal["ner"]
    text: StrictStr
    entities: list[Span]
    tokens: list[StrictStr] = None
    labels: list[StrictStr] = None
    answer_format: Literal[tuple(ANSWER_FORMATS)] = "lines"

    @model_validator(mode="after")
    def consistent(self):
        check_spans(self.entities, self.text)
        token_offsets(self.text, self.tokens or [])  # the tokens' offsets must be derivable
        return self


class ClassificationGold(Record):
    task: Literal["classification"]
    label: StrictStr
    labels: Annotated[list[StrictStr], Field(min_length=1)]

    @model_validator(mode="after")
    def label_in_labels(self):
        if self.label not in self.labels:
            raise ValueError(f"label {self.label!r} is not one of labels {self.labels}")
        return self


class McqGold(Record):
    task: Literal["mcq"]
    answer: Literal[MCQ_LETTERS] | None = None  # null: a competition test set without answers
    options: dict[StrictStr, StrictStr] = None
    source_id: Id = None


Gold = Annotated[NerGold | ClassificationGold | McqGold, Field(discriminator="task")]


class Example(Keyed):
    messages: list[Message]
    gold: Gold


class Prediction(Keyed):
    """Exactly one of the task's answer keys: raw `output` text, or the answer in structured form."""
    answer_keys: ClassVar[tuple[str, ...]]

    @model_validator(mode="after")
    def one_answer(self):
        given = [key for key in self.answer_keys if key in self.model_fields_set]
        if len(given) != 1:
            raise ValueError(f"expected exactly one of {' or '.join(self.answer_keys)}, got "
                             f"{' and '.join(given) if given else 'neither'}")
        return self


class NerPrediction(Prediction):
    answer_keys = ("output", "entities")
    output: StrictStr = None
    entities: list[Span] = None

    @model_validator(mode="after")
    def inside_text(self, info):
        if self.entities is not None and info.context:
            check_spans(self.entities, info.context["text"])
        return self


class ClassificationPrediction(Prediction):
    answer_keys = ("output", "label")
    output: StrictStr = None
    label: StrictStr = None
    confidence: Probability = None
    scores: dict[StrictStr, Annotated[float, Field(strict=True, allow_inf_nan=False)]] = None


class McqPrediction(Prediction):
    answer_keys = ("output", "answer")
    output: StrictStr = None
    answer: StrictStr = None


PREDICTIONS = {"ner": NerPrediction, "classification": ClassificationPrediction, "mcq": McqPrediction}


# --- raw sources read as JSONL ----------------------------------------------------------------------------------

class ZhNerEntity(Record):
    start_idx: StrictInt
    end_idx: StrictInt
    entity_label: StrictStr
    entity_text: StrictStr = None


class ZhNerRecord(Record):
    text: StrictStr
    entities: list[ZhNerEntity] = []


class FudanRecord(Record):
    text: Annotated[StrictStr, Field(min_length=1)]
    category: list[StrictStr] | StrictStr
    output: StrictStr


# --- validation with the one-line error -------------------------------------------------------------------------

def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def one_line(error: ValidationError, what: str) -> str:
    """The first problem of a ValidationError as `expected <what>: <field>: <problem> (got <value>)`."""
    first = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"])
    problem = first["msg"].removeprefix("Value error, ")
    got = "" if first["type"] in ("value_error", "missing") else f" (got {_short(first['input'])})"
    more = f" [+{error.error_count() - 1} more]" if error.error_count() > 1 else ""
    return f"expected {what}: {field + ': ' if field else ''}{problem}{got}{more}"


def validated(schema: type[BaseModel], record: dict, path: str | Path, line: int, what: str, **context):
    try:
        return schema.model_validate(record, context=context or None)
    except ValidationError as error:
        raise DataError(path, line, one_line(error, what)) from None


EXAMPLE = "an example (shared/CONTRACT.md section 1)"  # what a bad example line should have been


def read_valid(path: str | Path, schema: type[BaseModel], what: str):
    """(line, validated model, the record as read) per record of a JSONL file; at least one record."""
    for line, record in at_least_one(read_jsonl(path), path, what):
        yield line, validated(schema, record, path, line, what), record


def read_records(path: str | Path, limit: int | None = None) -> list[dict]:
    """The example records of a JSONL file in order (the first `limit` of them when given), each checked against the
    example schema, a user turn included, before any work is done on them."""
    records = []
    for line, example, record in islice(read_valid(path, Example, EXAMPLE), limit):
        if not any(message.role == "user" for message in example.messages):
            raise DataError(path, line, "expected an example whose messages include a user turn")
        records.append(record)
    return records
