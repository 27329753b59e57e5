"""Spans of text and grounding: placing answer mentions in the text, left to right, on token boundaries.

`ground` turns mentions into character spans; `mentions_for` is its inverse (the mentions that ground back to given
spans, with the occurrence marker where an earlier identical string is not an entity), so rendering gold and grounding
it back is lossless by construction.
"""

from __future__ import annotations

import bisect
import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple


class Entity(NamedTuple):
    """A labelled span of text: ``text[start:end]``, end exclusive (the one convention of this project)."""

    start: int
    end: int
    label: str

    @classmethod
    def of(cls, record: dict) -> Entity:
        """From the contract's ``{"start", "end", "label"}`` object.

        >>> Entity.of({"start": 0, "end": 5, "label": "LOC"})
        Entity(start=0, end=5, label='LOC')
        """
        return cls(record["start"], record["end"], record["label"])


class Mention(NamedTuple):
    label: str
    text: str
    occurrence: int = 1  # which match after the previous mention (1 = the first)


@dataclass
class Grounding:
    entities: list[Entity]
    unplaced: list[Mention] = field(default_factory=list)  # not in the text: false positives with no span
    out_of_order: int = 0  # found only before the previous mention: kept, but the order was broken

    @property
    def ungrounded(self) -> int:
        return len(self.unplaced)


def token_offsets(text: str, tokens: list[str]) -> list[tuple[int, int]]:
    """(start, end) of each token, located left to right in `text`: the one way a token's span is found, whether
    the text is the tokens joined by spaces (every tokenised source here) or spaced otherwise.

    >>> token_offsets("New York .", ["New", "York", "."])
    [(0, 3), (4, 8), (9, 10)]
    >>> token_offsets("New York", ["York", "New"])
    Traceback (most recent call last):
    ValueError: token 'New' not found in the text after offset 8
    """
    offsets, position = [], 0
    for token in tokens:
        start = text.find(token, position)
        if start < 0:
            raise ValueError(f"token {token!r} not found in the text after offset {position}")
        position = start + len(token)
        offsets.append((start, position))
    return offsets


def token_boundaries(text: str, tokens: list[str] | None) -> tuple[frozenset[int], frozenset[int]] | None:
    """Start and end offsets of each token; None where the text is not tokenised."""
    if not tokens:
        return None
    offsets = token_offsets(text, tokens)
    return frozenset(start for start, _ in offsets), frozenset(end for _, end in offsets)


def fold(text: str) -> str:
    """NFKC-normalised and stripped: full-width forms and stray spaces compare equal."""
    return unicodedata.normalize("NFKC", text).strip()


class TextIndex:
    """The text folded (NFKC, runs of whitespace as one space) with a map back to original offsets, so that a
    mention that differs only in full-width forms or spacing is still found, at its exact original span."""

    def __init__(self, text: str, boundaries: tuple[frozenset[int], frozenset[int]] | None = None):
        self.text, self.boundaries = text, boundaries
        if text.isascii() and "  " not in text and "\t" not in text and "\n" not in text:
            self.folded, self.origin = text, None  # the common case: nothing to fold
            return
        chars, origin = [], []
        for position, char in enumerate(text):
            for folded in unicodedata.normalize("NFKC", char):
                if folded.isspace():
                    if chars and chars[-1] == " ":
                        continue
                    folded = " "
                chars.append(folded)
                origin.append(position)
        self.folded, self.origin = "".join(chars), origin

    def _to_original(self, folded_start: int, folded_end: int) -> tuple[int, int]:
        if self.origin is None:
            return folded_start, folded_end
        return self.origin[folded_start], self.origin[folded_end - 1] + 1

    def _to_folded(self, original: int) -> int:
        return original if self.origin is None else bisect.bisect_left(self.origin, original)

    def matches(self, mention: str, cursor: int):
        """Spans (original offsets) where the folded mention occurs at or after `cursor`, on token boundaries."""
        needle = " ".join(fold(mention).split())
        if not needle:
            return
        position = self._to_folded(cursor)
        while (found := self.folded.find(needle, position)) >= 0:
            span = self._to_original(found, found + len(needle))
            if self.boundaries is None or (span[0] in self.boundaries[0] and span[1] in self.boundaries[1]):
                yield span
            position = found + 1

    def starts_a_match(self, partial: str, cursor: int) -> bool:
        """Whether some text at or after `cursor`, starting on a token start, begins with the (folded) `partial`:
        what a decoder that has written only part of a mention needs to know.

        >>> TextIndex("New York", (frozenset({0, 4}), frozenset({3, 8}))).starts_a_match("Yo", 0)
        True
        >>> TextIndex("New York", (frozenset({0, 4}), frozenset({3, 8}))).starts_a_match("ew", 0)
        False
        """
        if not partial or partial[0].isspace():
            return False
        needle = " ".join(fold(partial).split()) + (" " if partial[-1].isspace() else "")
        position = self._to_folded(cursor)
        while (found := self.folded.find(needle, position)) >= 0:
            if self.boundaries is None or self._to_original(found, found + 1)[0] in self.boundaries[0]:
                return True
            position = found + 1
        return False

    def find(self, mention: str, cursor: int, occurrence: int = 1) -> tuple[int, int] | None:
        for count, span in enumerate(self.matches(mention, cursor), start=1):
            if count == occurrence:
                return span
        return None


def ground(text: str, mentions: list[Mention], tokens: list[str] | None = None) -> Grounding:
    """Place each mention in the text, left to right. Nothing is guessed: a mention that is not in the text is
    counted as ungrounded; one found only before the previous mention takes its first occurrence and is counted.

    >>> grounding = ground("Paris and Paris , Texas", [Mention("LOC", "Paris", 2), Mention("LOC", "Lyon")])
    >>> grounding.entities, grounding.ungrounded
    ([Entity(start=10, end=15, label='LOC')], 1)
    """
    index = TextIndex(text, token_boundaries(text, tokens))
    result, cursor = Grounding([]), 0
    for mention in mentions:
        span = index.find(mention.text, cursor, mention.occurrence)
        if span is None:
            span = index.find(mention.text, 0)
            if span is None:
                result.unplaced.append(mention)
                continue
            result.out_of_order += 1
        else:
            cursor = span[1]
        result.entities.append(Entity(span[0], span[1], mention.label))
    return result


class RenderError(ValueError):
    pass


def mentions_for(text: str, entities: list[Entity], tokens: list[str] | None = None,
                 nested: bool = False) -> list[Mention]:
    """The mentions whose grounding gives back exactly `entities` (flat, non-overlapping spans).

    `nested` (what the scorer placed in a free answer, overlaps and all): a span that starts before the previous
    one ends is written with an occurrence past its last match after the cursor, so that `ground` falls back to its
    first occurrence, which is where `ground` put it; one that is not a first occurrence cannot be placed again by
    any answer and is left out.

    >>> mentions_for("New York", [Entity(0, 8, "LOC"), Entity(4, 8, "LOC")], nested=True)
    [Mention(label='LOC', text='New York', occurrence=1), Mention(label='LOC', text='York', occurrence=1)]
    """
    index = TextIndex(text, token_boundaries(text, tokens))
    mentions, cursor = [], 0
    for entity in sorted(set(entities) if nested else entities):
        surface = text[entity.start:entity.end]
        if entity.start < cursor and nested:
            if index.find(surface, 0) == (entity.start, entity.end):
                mentions.append(Mention(entity.label, surface, sum(1 for _ in index.matches(surface, cursor)) + 1))
            continue
        if entity.start < cursor:
            raise RenderError(f"overlapping entities at {entity.start}: the answer formats are for flat NER")
        occurrence = next((number for number, span in enumerate(index.matches(surface, cursor), start=1)
                           if span == (entity.start, entity.end)), None)
        if occurrence is None:
            raise RenderError(f"entity {surface!r} at {entity.start}-{entity.end} cannot be grounded back")
        mentions.append(Mention(entity.label, surface, occurrence))
        cursor = entity.end
    return mentions
