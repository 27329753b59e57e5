"""CoNLL column files (CoNLL-2003, WNUT-17) and the Hugging Face `eriktks/conll2003` dataset.

Source: CoNLL-2003 (Tjong Kim Sang & De Meulder 2003; Reuters RCV1 text, research use only), WNUT-17
(Derczynski et al. 2017, CC-BY 4.0). One raw sentence (token, POS, chunk, tag per line)::

    JAPAN NNP B-NP B-LOC
    GET VB B-VP O

becomes ``{"id": "conll2003/test/0", "messages": [system, {"user": "JAPAN GET"}, {"assistant": "LOC: JAPAN"}],
"gold": {"task": "ner", "text": "JAPAN GET", "tokens": ["JAPAN", "GET"], "entities": [{"start": 0, "end": 5,
"label": "LOC"}], ...}}``. The text is the tokens joined by single spaces, so token offsets are derivable.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from llmner.core.errors import DataError
from llmner.core.examples import ner_example
from llmner.core.iob import TagError, iob1_to_iob2, tags_to_entities
from llmner.core.spans import RenderError
from llmner.core.tasks import NerPrompt
from llmner.core.text_files import at_least_one, numbered_lines


def read_documented(path: str | Path) -> Iterator[tuple[int, list[str], list[str], int | None]]:
    """(line of the first token, tokens, tags, document) per sentence: the tag is the last column, the token the
    first, and the document the number of `-DOCSTART-` lines before it, counted from 0 (None in a file without them,
    or before the first)."""
    return at_least_one(conll_sentences(path), path, "sentence")


def conll_sentences(path: str | Path) -> Iterator[tuple[int, list[str], list[str], int | None]]:
    tokens, tags, first_line, columns, document = [], [], 0, None, None
    for number, line in numbered_lines(path):
        if not line.strip() or line.startswith("-DOCSTART-"):
            if tokens:
                yield first_line, tokens, tags, document
            tokens, tags = [], []
            if line.startswith("-DOCSTART-"):
                document = 0 if document is None else document + 1
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if columns is None:
            columns = len(fields)
        if len(fields) != columns or columns < 2:
            raise DataError(path, number, f"expected {max(columns, 2)} columns (token ... tag), got {len(fields)}")
        if not tokens:
            first_line = number
        tokens.append(fields[0])
        tags.append(fields[-1])
    if tokens:
        yield first_line, tokens, tags, document


def convert_sentence(example_id: str, tokens: list[str], tags: list[str], prompt: NerPrompt,
                     scheme: str = "iob2") -> dict:
    if scheme == "iob1":
        tags = iob1_to_iob2(tags)
    entities = tags_to_entities(tokens, tags, prompt.labels)
    return ner_example(example_id, " ".join(tokens), entities, prompt, tokens)


def convert_file(path: str | Path, prompt: NerPrompt, split: str, scheme: str = "iob2") -> Iterator[dict]:
    """The examples of a column file; where it marks documents (`-DOCSTART-`) each example's `gold.document` keeps
    its document, so that the scorer can resample whole documents (`--cluster doc`)."""
    for index, (line, tokens, tags, document) in enumerate(read_documented(path)):
        try:
            example = convert_sentence(f"{prompt.dataset}/{split}/{index}", tokens, tags, prompt, scheme)
        except (TagError, RenderError) as error:  # RenderError: a text the answer format cannot write
            raise DataError(path, line, f"in the sentence starting here: {error}") from None
        if document is not None:
            example["gold"]["document"] = document
        yield example
