"""Example ids (shared/CONTRACT.md section 1): a string or an integer, joined exactly (the prediction 17 answers the
example 17, never "17"). A converter writes `<dataset>/<split>/<index>`, which also says where the example came from;
an id of another form (an integer, `tweet-17`) is as good an id that says nothing of its origin.

This is the one reading of ids: the merge of shards, the report and the model card all go through `parse_id`.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from llmner.core.errors import DataError


class ExampleId(NamedTuple):
    value: str | int
    dataset: str | None  # None (both): not a converter's id
    split: str | None


def parse_id(value, path: str | Path, line: int | None = None) -> ExampleId:
    """An id and, where it has a converter's form, the dataset and split it names. What is not an id (a boolean, a
    float, null, a list) is refused as the schemas refuse it, naming `path` and `line`.

    >>> parse_id("conll2003/test/17", "d.jsonl")
    ExampleId(value='conll2003/test/17', dataset='conll2003', split='test')
    >>> parse_id("cmmlu/test/agronomy-0", "d.jsonl").dataset
    'cmmlu'
    >>> parse_id(17, "d.jsonl")
    ExampleId(value=17, dataset=None, split=None)
    >>> parse_id("tweet-17", "d.jsonl").dataset, parse_id("a//17", "d.jsonl").dataset
    (None, None)
    >>> parse_id(True, "p.jsonl", 3)
    Traceback (most recent call last):
    llmner.core.errors.DataError: p.jsonl:3: expected an id (a string or an integer), got True
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):  # bool is an int to Python, not to JSON
        raise DataError(path, line, f"expected an id (a string or an integer), got {value!r}")
    parts = value.split("/") if isinstance(value, str) else ()
    if len(parts) == 3 and all(parts):
        return ExampleId(value, parts[0], parts[1])
    return ExampleId(value, None, None)
