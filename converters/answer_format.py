"""How an NER answer is written by the assistant, and how a generation is read back into character spans.

Two named formats, both one entity per line in order of appearance, so a generation cut off mid-way still yields
every complete line before the cut:

- ``lines`` (default, compact)::

      LOC: Japan
      PER#2: China

- ``json`` (the Chinese seed recipe's)::

      {"entity_text": "菲律宾", "entity_label": "GPE"}

Grounding reads mentions left to right: each is found at or after the end of the previous one, on token boundaries
where the text is tokenised. When the entity is not the first such match (an earlier, unlabelled occurrence of the
same string), the answer names the occurrence: ``PER#2`` or ``"occurrence": 2``. The marker sits on the label side,
which is a closed set, so it can never be confused with mention text. ``render`` picks the marker with the very
function ``ground`` uses, so rendering gold and grounding it back is lossless by construction (and tested on every
sentence of every dataset).
"""

from __future__ import annotations

import bisect
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple


class Entity(NamedTuple):
    """A labelled span of text: ``text[start:end]``, end exclusive (the one convention of this project)."""

    start: int
    end: int
    label: str


class Mention(NamedTuple):
    label: str
    text: str
    occurrence: int = 1  # which match after the previous mention (1 = the first)


@dataclass
class ParsedAnswer:
    mentions: list[Mention]
    malformed: int = 0  # lines or objects that could not be read
    explicit_none: bool = False  # the model said "no entities" in the format's own words

    @property
    def unparseable(self) -> bool:
        return not self.mentions and not self.explicit_none


@dataclass
class Grounding:
    entities: list[Entity]
    unplaced: list[Mention] = field(default_factory=list)  # not in the text: false positives with no span
    out_of_order: int = 0  # found only before the previous mention: kept, but the order was broken

    @property
    def ungrounded(self) -> int:
        return len(self.unplaced)


# --- reading a raw generation -------------------------------------------------------------------------------------

_FENCE = re.compile(r"^\s*```[\w-]*\s*$")


def answer_body(output: str) -> str:
    """The answer without a reasoning block or code fences; empty if the reasoning never finished."""
    if "</think>" in output:
        output = output.rsplit("</think>", 1)[1]
    elif output.lstrip().startswith("<think>"):
        return ""
    return "\n".join(line for line in output.splitlines() if not _FENCE.match(line)).strip()


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


_NONE_WORDS = {"none", "no entities", "无", "没有"}
_LINE = re.compile(r"^(?:[-*•]\s+|\d+[.)]\s+)?(?P<label>[^\s:#][^:#]*?)\s*(?:#(?P<k>\d+))?\s*:\s*(?P<mention>.*)$")


def parse_lines(body: str) -> ParsedAnswer:
    parsed = ParsedAnswer([])
    for raw in body.splitlines():
        line = _fold(raw)
        if not line:
            continue
        if line.lower().rstrip(".") in _NONE_WORDS:
            parsed.explicit_none = True
            continue
        match = _LINE.match(line)
        if not match or not match["mention"].strip():
            parsed.malformed += 1
            continue
        parsed.mentions.append(Mention(match["label"], match["mention"].strip(), int(match["k"] or 1)))
    return parsed


_DECODER = json.JSONDecoder()


def _json_items(body: str) -> tuple[list, int]:
    """The objects of a JSON list, or of one object per line (a line that does not decode is counted)."""
    try:
        whole = json.loads(body)
    except ValueError:
        whole = None
    if isinstance(whole, list):
        return whole, 0
    if isinstance(whole, dict):
        return [whole], 0
    items, malformed = [], 0
    for line in body.splitlines():
        start = line.find("{")
        if start < 0:
            malformed += bool(line.strip(" \t[],"))
            continue
        try:
            items.append(_DECODER.raw_decode(line, start)[0])
        except ValueError:  # a truncated last object is counted, never completed
            malformed += 1
    return items, malformed


def parse_json(body: str) -> ParsedAnswer:
    folded = _fold(body)
    items, malformed = _json_items(body)
    parsed = ParsedAnswer([], malformed, explicit_none=folded in ("[]", "{}") or folded.lower() in _NONE_WORDS)
    for item in items:
        try:
            label, text = item["entity_label"], item["entity_text"]
            occurrence = int(item.get("occurrence", 1))
        except (ValueError, KeyError, TypeError, AttributeError):
            parsed.malformed += 1
            continue
        if isinstance(label, str) and isinstance(text, str) and text.strip() and occurrence >= 1:
            parsed.mentions.append(Mention(_fold(label), text.strip(), occurrence))
        else:
            parsed.malformed += 1
    if parsed.explicit_none:
        parsed.malformed = 0
    return parsed


def render_lines(mentions: list[Mention]) -> str:
    if not mentions:
        return "none"
    return "\n".join(f"{m.label}{'' if m.occurrence == 1 else f'#{m.occurrence}'}: {m.text}" for m in mentions)


def render_json(mentions: list[Mention]) -> str:
    if not mentions:
        return "[]"
    return "\n".join(json.dumps({"entity_text": m.text, "entity_label": m.label}
                                | ({} if m.occurrence == 1 else {"occurrence": m.occurrence}), ensure_ascii=False)
                     for m in mentions)


@dataclass(frozen=True)
class AnswerFormat:
    name: str
    instruction: str
    render: callable
    parse: callable


ANSWER_FORMATS = {
    "lines": AnswerFormat(
        "lines",
        "List every entity in order of appearance, one per line as `TYPE: mention`, copying the mention exactly "
        "from the text. If an earlier identical string is not an entity, write `TYPE#k: mention` for the k-th "
        "occurrence after the previous entity. Answer `none` if there is no entity.",
        render_lines, parse_lines),
    "json": AnswerFormat(
        "json",
        'List every entity in order of appearance, one JSON object per line: {"entity_text": ..., '
        '"entity_label": ...}, copying entity_text exactly from the text (add "occurrence": k for the k-th '
        "occurrence after the previous entity when an earlier identical string is not an entity). Answer [] if "
        "there is no entity.",
        render_json, parse_json),
}


def parse_answer(output: str, answer_format: str) -> ParsedAnswer:
    return ANSWER_FORMATS[answer_format].parse(answer_body(output))


# --- grounding mentions to character offsets -----------------------------------------------------------------------

def token_boundaries(text: str, tokens: list[str] | None) -> tuple[frozenset[int], frozenset[int]] | None:
    """Start and end offsets of each token, located left to right; None where the text is not tokenised."""
    if not tokens:
        return None
    starts, ends, position = [], [], 0
    for token in tokens:
        position = text.index(token, position)
        starts.append(position)
        position += len(token)
        ends.append(position)
    return frozenset(starts), frozenset(ends)


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
        needle = " ".join(_fold(mention).split())
        if not needle:
            return
        position = self._to_folded(cursor)
        while (found := self.folded.find(needle, position)) >= 0:
            span = self._to_original(found, found + len(needle))
            if self.boundaries is None or (span[0] in self.boundaries[0] and span[1] in self.boundaries[1]):
                yield span
            position = found + 1

    def find(self, mention: str, cursor: int, occurrence: int = 1) -> tuple[int, int] | None:
        for count, span in enumerate(self.matches(mention, cursor), start=1):
            if count == occurrence:
                return span
        return None


def ground(text: str, mentions: list[Mention], tokens: list[str] | None = None) -> Grounding:
    """Place each mention in the text, left to right. Nothing is guessed: a mention that is not in the text is
    counted as ungrounded; one found only before the previous mention takes its first occurrence and is counted."""
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


def mentions_for(text: str, entities: list[Entity], tokens: list[str] | None = None) -> list[Mention]:
    """The mentions whose grounding gives back exactly `entities` (flat, non-overlapping spans)."""
    index = TextIndex(text, token_boundaries(text, tokens))
    mentions, cursor = [], 0
    for entity in sorted(entities):
        if entity.start < cursor:
            raise RenderError(f"overlapping entities at {entity.start}: the answer formats are for flat NER")
        surface = text[entity.start:entity.end]
        for occurrence, span in enumerate(index.matches(surface, cursor), start=1):
            if span == (entity.start, entity.end):
                break
        else:
            raise RenderError(f"entity {surface!r} at {entity.start}-{entity.end} cannot be grounded back")
        mentions.append(Mention(entity.label, surface, occurrence))
        cursor = entity.end
    return mentions


def render_answer(text: str, entities: list[Entity], answer_format: str, tokens: list[str] | None = None) -> str:
    return ANSWER_FORMATS[answer_format].render(mentions_for(text, entities, tokens))
