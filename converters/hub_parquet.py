"""The Hub's Parquet export of a token-tagged NER set (`refs/convert/parquet` of `eriktks/conll2003`, `leondz/wnut_17`).

`datasets` 4 no longer runs loading scripts, so the Hub's own Parquet export is what is fetched. One row
``{"tokens": ["EU", "rejects"], "ner_tags": [3, 0], ...}`` holds integer tags whose names are the `ClassLabel` names
stored in the file's `huggingface` schema metadata; it becomes the same example as the column file's sentence
(``conll.convert_sentence``), so a fetched split converts byte for byte like the raw file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from llmner.converters import conll
from llmner.core.errors import DataError
from llmner.core.iob import TagError
from llmner.core.spans import RenderError
from llmner.core.tasks import NerPrompt
from llmner.core.text_files import opened


def tag_names(path: str | Path, schema) -> list[str]:
    """The `ner_tags` ClassLabel names the Hub writes into the Parquet schema metadata."""
    try:
        info = json.loads(schema.metadata[b"huggingface"])
        return list(info["info"]["features"]["ner_tags"]["feature"]["names"])
    except (KeyError, TypeError, ValueError):
        raise DataError(path, None, "expected Hugging Face Parquet with ner_tags ClassLabel names in its metadata") \
            from None


def read_parquet(path: str | Path) -> Iterator[tuple[int, list[str], list[str]]]:
    """(row number, tokens, tag names) per row."""
    import pyarrow
    import pyarrow.parquet as pq

    try:
        with opened(path, "rb") as handle:
            table = pq.read_table(handle, columns=["tokens", "ner_tags"])
    except pyarrow.ArrowException as error:
        raise DataError(path, None, f"expected Parquet with tokens and ner_tags columns ({error})") from None
    names = tag_names(path, table.schema)
    for number, (tokens, tags) in enumerate(zip(table.column("tokens").to_pylist(),
                                                table.column("ner_tags").to_pylist()), start=1):
        if len(tokens) != len(tags) or any(not 0 <= tag < len(names) for tag in tags):
            raise DataError(path, number, f"expected one tag id 0-{len(names) - 1} per token (row {number})")
        yield number, tokens, [names[tag] for tag in tags]


def convert_file(path: str | Path, prompt: NerPrompt, split: str) -> Iterator[dict]:
    # An empty row is not a sentence: the column files have none either (a blank line only separates sentences).
    rows = ((number, tokens, tags) for number, tokens, tags in read_parquet(path) if tokens)
    for index, (number, tokens, tags) in enumerate(rows):
        try:
            yield conll.convert_sentence(f"{prompt.dataset}/{split}/{index}", tokens, tags, prompt)
        except (TagError, RenderError) as error:  # RenderError: a text the answer format cannot write
            raise DataError(path, number, f"in row {number}: {error}") from None
