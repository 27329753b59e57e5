"""GMB (Groningen Meaning Bank, Kaggle "Annotated Corpus for NER" `ner_dataset.csv`; research use, cite Bos et al.).

The file is Windows-1252 (the latin-1 family: byte 0x85 is an ellipsis there, not a control character), with
columns ``Sentence #, Word, POS, Tag``; ``Sentence #`` is filled on each sentence's first row only::

    Sentence: 1,Thousands,NNS,O
    ,of,IN,O
    ,London,NNP,B-geo

becomes ``{"id": "gmb/train/1", ... "gold": {"text": "Thousands of London", "entities": [{"start": 13, "end":
19, "label": "GEO"}], ...}}``, the index being the file's own sentence number. There is no canonical split: the
80/10/10 split (seed 42) is fixed in ``converters/splits/gmb.json``, with the count and digest of the sentences it
was drawn from (a split of any other source stops with one line). The Kaggle export stops at Excel's row limit,
so its last sentence is truncated: it is kept, counted and reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from llmner.core.errors import DataError
from llmner.core.examples import check_split_source, load_split, ner_example, seeded_split, source_digest, split_of
from llmner.core.iob import TagError, tags_to_entities
from llmner.core.tasks import NerPrompt
from llmner.core.text_files import at_least_one, csv_rows, raw_lines

LABEL_MAP = {"geo": "GEO", "gpe": "GPE", "per": "PER", "org": "ORG", "tim": "TIM", "art": "ART", "eve": "EVE",
             "nat": "NAT"}
SPLIT_FILE = Path(__file__).parent / "splits" / "gmb.json"
EXCEL_ROW_LIMIT = 1_048_576
ENCODING = "cp1252"


def check_encoding(path: str | Path) -> None:
    """A UTF-8 copy decodes as Windows-1252 without error, into mojibake: refuse it by name instead."""
    for number, raw in raw_lines(path):
        if not raw.isascii():
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return
            raise DataError(path, number, "expected Windows-1252/latin-1 text (the Kaggle file); this is UTF-8")


def read_gmb(path: str | Path) -> Iterator[tuple[int, int, list[str], list[str]]]:
    """(sentence number, line of its first row, words, tags) per sentence."""
    check_encoding(path)
    return at_least_one(gmb_sentences(path), path, "sentence")


def gmb_sentences(path: str | Path) -> Iterator[tuple[int, int, list[str], list[str]]]:
    rows = csv_rows(path, ENCODING)
    _, header = next(rows, (1, None))
    if header != ["Sentence #", "Word", "POS", "Tag"]:
        raise DataError(path, 1, "expected the header 'Sentence #,Word,POS,Tag'")
    sentence, first_line, words, tags = None, 0, [], []
    for number, row in rows:
        if len(row) != 4:
            raise DataError(path, number, f"expected 4 columns (Sentence #, Word, POS, Tag), got {len(row)}")
        if row[0]:
            if words:
                yield sentence, first_line, words, tags
            try:
                sentence = int(row[0].removeprefix("Sentence:").strip())
            except ValueError:
                raise DataError(path, number, "expected 'Sentence: N' in the first column") from None
            first_line, words, tags = number, [], []
        elif sentence is None:
            raise DataError(path, number, "expected the first row to start a sentence ('Sentence: 1')")
        if not row[1] or row[1] != row[1].strip():
            raise DataError(path, number, "expected a word without surrounding spaces")
        words.append(row[1])
        tags.append(row[3])
    if words:
        yield sentence, first_line, words, tags


def truncated_at_row_limit(path: str | Path) -> bool:
    return sum(1 for _ in raw_lines(path)) >= EXCEL_ROW_LIMIT


def convert_file(path: str | Path, prompt: NerPrompt, split: str | None) -> Iterator[dict]:
    """Examples of one split (None: every sentence, all under the id prefix `gmb/all`)."""
    split_ids, sentences = load_split(SPLIT_FILE), []
    for number, line, words, tags in read_gmb(path):
        sentences.append(split_key(number, words))
        sentence_split = split_of(number, split_ids)
        if split is not None and sentence_split != split:
            continue
        try:
            entities = tags_to_entities(words, tags, prompt.labels, LABEL_MAP)
        except TagError as error:
            raise DataError(path, line, f"in sentence {number}: {error}") from None
        yield ner_example(f"gmb/{split or 'all'}/{number}", " ".join(words), entities, prompt, words)
    if split is not None:
        check_split_source(path, SPLIT_FILE, sentences)


def split_key(number: int, words: list[str]) -> str:
    """What the split's digest covers: the sentence number (the split's key) and its words."""
    return f"{number}\t{' '.join(words)}"


def make_split_file(path: str | Path) -> dict:
    sentences = [(number, words) for number, _, words, _ in read_gmb(path)]
    count, digest = source_digest(split_key(number, words) for number, words in sentences)
    return {"seed": 42, "sentences": count, "digest": digest,
            **seeded_split([number for number, _ in sentences], seed=42)}
