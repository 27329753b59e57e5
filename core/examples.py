"""The contract's example records, built the same way for every dataset."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Sequence
from itertools import islice
from pathlib import Path

from llmner.core.answer_format import render_answer
from llmner.core.errors import DataError
from llmner.core.schemas import EXAMPLE, Example, read_valid
from llmner.core.spans import Entity
from llmner.core.tasks import NerPrompt


def ner_example(example_id: str, text: str, entities: list[Entity], prompt: NerPrompt,
                tokens: list[str] | None = None) -> dict:
    answer = render_answer(text, entities, prompt.answer_format, tokens)
    gold = {"task": "ner", "text": text, "entities": [e._asdict() for e in sorted(entities)],
            "labels": list(prompt.labels), "answer_format": prompt.answer_format}
    if tokens is not None:
        gold["tokens"] = tokens
    return {"id": example_id, "messages": prompt.messages(text, answer), "gold": gold}


def ner_examples(path: str | Path, limit: int | None = None, tokenised: bool = False,
                 labelled: bool = False) -> list[Example]:
    """The NER examples of a file (the first `limit`), what the NER baselines train and predict on, each checked
    before a model is loaded; `tokenised`: each with its gold tokens (what a tagger tags); `labelled`: each with its
    label set too (the contract lets it be left out), which a tagger learns its tags from."""
    examples = []
    for line, example, _ in islice(read_valid(path, Example, EXAMPLE), limit):
        if example.gold.task != "ner" or (tokenised and not example.gold.tokens):
            raise DataError(path, line, "expected tokenised NER examples (gold.tokens)" if tokenised else
                            f"expected NER examples; example {example.id!r} is {example.gold.task}")
        if labelled and not example.gold.labels:
            raise DataError(path, line, "expected tokenised NER examples with gold.labels (the label set the tagger "
                                        f"learns); example {example.id!r} has none")
        examples.append(example)
    return examples


def seeded_split(keys: list, seed: int = 42, fractions: tuple[float, float] = (0.1, 0.1)) -> dict[str, list]:
    """A fixed validation/test draw of `keys` (sorted first, so input order does not matter); train is the rest."""
    shuffled = sorted(keys)
    random.Random(seed).shuffle(shuffled)
    n_validation, n_test = (round(len(shuffled) * f) for f in fractions)
    return {"validation": sorted(shuffled[:n_validation]),
            "test": sorted(shuffled[n_validation:n_validation + n_test])}


def draw_shots(pool: Sequence, count: int, seed: int = 42) -> list:
    """`count` solved examples for a few-shot prompt, drawn once from a training pool with a fixed seed, in the
    order drawn (the order the prompt shows them): the same shots on every run and machine (random.Random's
    sample is stable across Python versions). A pool smaller than `count` is the caller's to refuse first.

    >>> draw_shots(["a", "b", "c", "d", "e"], 2)
    ['a', 'e']
    >>> draw_shots(["a", "b"], 0)
    []
    """
    return random.Random(seed).sample(list(pool), count)


def split_of(key, split_ids: dict[str, set]) -> str:
    for split in ("validation", "test"):
        if key in split_ids[split]:
            return split
    return "train"


def load_split(split_file: Path) -> dict[str, set]:
    """The fixed validation and test keys of a split file written by `llmner data splits`."""
    fixed = json.loads(split_file.read_text(encoding="utf-8"))
    return {name: set(fixed[name]) for name in ("validation", "test")}


def source_digest(sentences: Iterable[str]) -> tuple[int, str]:
    """Count and sha256 of the sentences a split was drawn from, in source order. A split file holds positions or
    sentence numbers, so a source with a sentence added, dropped, edited or moved would silently reshuffle train
    and test: the split file records these two, and converting a split checks them."""
    digest, count = hashlib.sha256(), 0
    for sentence in sentences:
        digest.update(sentence.encode("utf-8") + b"\n")
        count += 1
    return count, digest.hexdigest()


def check_split_source(path: str | Path, split_file: Path, sentences: Iterable[str]) -> None:
    """One line, before a split of a source other than the one the split file was drawn from is used."""
    fixed = json.loads(split_file.read_text(encoding="utf-8"))
    count, digest = source_digest(sentences)
    if (count, digest) != (fixed["sentences"], fixed["digest"]):
        raise DataError(path, None, f"expected the source {split_file.name} was drawn from ({fixed['sentences']} "
                                    f"sentences, digest {fixed['digest'][:12]}); found {count} sentences, digest "
                                    f"{digest[:12]}: its train/validation/test split would not be the published "
                                    "one (convert with --split all, or fetch the pinned file)")
