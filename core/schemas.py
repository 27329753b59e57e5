"""The data contract as code (shared/CONTRACT.md): one declared schema per record kind, so every reader validates
the same way and every bad record gets the same one-line error naming the file, the line and the field.

Types are strict: a float or boolean offset, a number given as a string, a `null` where a list belongs are refused,
never coerced. An optional key may be left out, but not given as `null` (its annotation has no `None`; pydantic
does not validate a default, so leaving it out is fine and `null` is an error).
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Annotated, ClassVar, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, TypeAdapter, ValidationError, model_validator

from llmner.core.answer_format import ANSWER_FORMATS, DEFAULT_FORMAT
from llmner.core.errors import DataError
from llmner.core.io import read_jsonl
from llmner.core.spans import Entity, token_offsets
from llmner.core.tasks import MCQ_LETTERS
from llmner.core.text_files import at_least_one

Id = StrictStr | StrictInt  # joined exactly: the prediction 17 answers the example 17, never "17"
Probability = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0, le=1.0)]


class Record(BaseModel):
    """A record of the contract. Its JSON is what was read: keys left out stay out (a default is the model's, never
    written), keys the contract does not name travel along untouched, and the declared keys come first in the order
    the writers write them, so that a record read and written back is the same JSON (tests/core/test_schemas.py)."""

    model_config = ConfigDict(extra="allow")

    def to_json(self) -> dict:
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


class Keyed(Record):
    id: Id


class Span(Record):
    start: StrictInt
    end: StrictInt
    label: StrictStr

    @property
    def entity(self) -> Entity:
        return Entity(self.start, self.end, self.label)


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
    labels: list[StrictStr] = None
    answer_format: Literal[tuple(ANSWER_FORMATS)] = DEFAULT_FORMAT
    tokens: list[StrictStr] = None
    document: StrictInt = None  # the source document's index (CoNLL's -DOCSTART-), resampled whole by the bootstrap

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
GOLD = TypeAdapter(Gold)


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


def checked_examples(path: str | Path, limit: int | None = None):
    """(validated example, the record as read) for the examples of a JSONL file in order (the first `limit` of them
    when given), each checked against the example schema, a user turn included, before any work is done on them."""
    for line, example, record in islice(read_valid(path, Example, EXAMPLE), limit):
        if not any(message.role == "user" for message in example.messages):
            raise DataError(path, line, "expected an example whose messages include a user turn")
        yield example, record


def read_examples(path: str | Path, limit: int | None = None) -> list[Example]:
    """The examples of a JSONL file as models: what prediction and scoring take."""
    return [example for example, _ in checked_examples(path, limit)]


def read_records(path: str | Path, limit: int | None = None) -> list[dict]:
    """The same examples, checked alike, as the JSON they were read as: only for a stage that writes a selection of
    them on unchanged and reads nothing in them (a benchmark's sample: benchmarks/gpu_inputs.py `subset`,
    benchmarks/real.py, benchmarks/cpu_levers.py); a stage that reads a field takes the models."""
    return [record for _, record in checked_examples(path, limit)]


# --- reports (shared/CONTRACT.md sections 3 and 4) ----------------------------------------------------------------
# Declared: the keys the leaderboard, the card, the tables and `compare` read, in the order `llmner score` writes
# them (so a report read and written back is the same JSON), optional where a card can be made from less; the rest
# (intervals, errors, provenance) travels as written.

# A figure as JSON has it: 1 and 1.0 both read, and each written back as it was.
Figure = Annotated[float, Field(strict=True, allow_inf_nan=False)] | StrictInt
Count = Annotated[int, Field(strict=True, ge=0)]


class Scores(Record):
    precision: Figure = None
    recall: Figure = None
    f1: Figure = None


class EntityScores(Record):
    micro: Scores
    macro: Scores = None
    per_label: dict[StrictStr, Scores] = None


class Headline(NamedTuple):
    """A report's one headline figure, as the leaderboard, the card and `compare` name it."""

    figure: str  # where it sits in the report, dotted: entity.micro.f1
    metric_type: str  # the Hub's metric type
    name: str  # what a reader is told
    value: float
    interval: list[float] | None  # its 95% bootstrap interval where the report has one


class Report(Record):
    """Every task's report has `examples`, `missing_predictions` and `unparseable`, as the contract spells it for
    multiple choice: the answers that named nothing the scorer could read, whatever the task's report calls them on
    disk (NER `unparseable_outputs`, classification `invalid`); and one `headline`, the figure the card names, the
    leaderboard ranks by and `compare` tests alone.

    >>> report = as_report({"task": "mcq", "examples": 4, "accuracy": 0.5, "unparseable": 1, "accuracy_ci": [0.2, 0.8]})
    >>> report.headline.name, report.headline.value, report.headline.interval, report.unparseable
    ('accuracy', 0.5, [0.2, 0.8], 1)
    """

    task: str
    examples: Count

    HEADLINE: ClassVar[tuple[str, str, str]]  # (figure, metric type, name)
    UNPARSEABLE: ClassVar[str]  # the field of the unparseable count
    SCORES: ClassVar[str | None]  # where the precision and recall beside the headline are

    @model_validator(mode="after")
    def has_headline(self):
        if self.headline.value is None:
            raise ValueError(f"expected its headline figure {self.HEADLINE[0]}")
        return self

    @property
    def headline(self) -> Headline:
        figure, metric_type, name = self.HEADLINE
        return Headline(figure, metric_type, name, *self.figure(figure))

    def figure(self, name: str) -> tuple[float | None, list[float] | None]:
        """A figure by its dotted place in the report (`entity.micro.f1`) and its 95% bootstrap interval where the
        report has one; (None, None) where the report has no such figure."""
        *path, key = name.split(".")
        section = self.to_json()
        for part in path:
            section = section.get(part) or {}
        value = section.get(key)
        return None if value is None else float(value), section.get(f"{key}_ci")

    @property
    def unparseable(self) -> int | None:
        return getattr(self, self.UNPARSEABLE)

    @property
    def scores(self) -> Scores | None:
        """The precision and recall beside the headline (NER: strict entity micro; classification: macro)."""
        if not self.SCORES:
            return None
        found = self
        for part in self.SCORES.split("."):
            found = getattr(found, part)
        return found

    def recorded(self, key: str):
        """What the report records beyond its figures, where it does: its provenance (`system`, `data`, `dataset`,
        `split`, `predictions`), `bootstrap`, `warnings`, `calibration`; None where it does not."""
        return (self.model_extra or {}).get(key)


class TokenScores(Record):
    micro: Scores
    accuracy: Figure


class NerReport(Report):
    task: Literal["ner"]
    missing_predictions: Count = None
    unparseable_outputs: Count = None
    ungrounded_mentions: Count = None
    malformed_lines: Count = None
    out_of_order_mentions: Count = None
    unknown_label_predictions: Count = None
    entity: EntityScores
    token: TokenScores = None
    sentence_accuracy: Figure = None
    errors: dict = None
    HEADLINE = ("entity.micro.f1", "f1", "strict entity micro F1")
    UNPARSEABLE, SCORES = "unparseable_outputs", "entity.micro"


class ClassificationReport(Report):
    task: Literal["classification"]
    missing_predictions: Count = None
    accuracy: Figure
    invalid: Count = None
    macro: Scores = None
    per_label: dict[StrictStr, Scores] = None
    HEADLINE = ("accuracy", "accuracy", "accuracy")
    UNPARSEABLE, SCORES = "invalid", "macro"


class McqReport(Report):
    task: Literal["mcq"]
    mcq_rule: StrictStr = None
    missing_predictions: Count = None
    accuracy: Figure
    correct: Count = None
    scored: Count = None
    unparseable_answers: Count = Field(None, alias="unparseable")
    HEADLINE = ("accuracy", "accuracy", "accuracy")
    UNPARSEABLE, SCORES = "unparseable_answers", None


REPORT = TypeAdapter(Annotated[NerReport | ClassificationReport | McqReport, Field(discriminator="task")])
REPORTS = {"ner": NerReport, "classification": ClassificationReport, "mcq": McqReport}
NOT_A_REPORT = "expected a report written by `llmner score`"


def as_report(report: dict, path: str | Path = "(report)") -> Report:
    """A report validated against its task's schema (what the card needs at least: the task, the examples and the
    headline figure); a bad one is the one-line error naming `path`."""
    try:
        return REPORT.validate_python(report)
    except ValidationError:
        raise DataError(path, None, NOT_A_REPORT) from None


def read_report(path: str | Path) -> Report:
    from llmner.core.io import read_json

    return as_report(read_json(path), path)


class Difference(Record):
    """One figure of a comparison: A, B, B - A with its interval and p-value."""

    a: Figure
    b: Figure
    difference: Figure
    difference_ci: list[Figure]
    p_value: Figure
    p_value_mc_error: Figure


class Comparison(Record):
    """What `llmner compare` writes (shared/CONTRACT.md section 4)."""

    task: Literal["ner", "classification", "mcq"]
    examples: Count
    data: StrictStr
    a: StrictStr
    b: StrictStr
    runs: dict[Literal["a", "b"], Count]
    method: StrictStr
    difference: Literal["b - a"]
    primary: StrictStr
    holm: StrictStr
    bootstrap: dict
    p_value_floor: Figure
    figures: dict[StrictStr, Difference]
    warnings: list[StrictStr] = None
