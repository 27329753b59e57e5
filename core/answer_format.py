"""How an NER answer is written by the assistant, and how a generation is read back into character spans.

Three named formats. Two list one entity per line in order of appearance, so a generation cut off mid-way still
yields every complete line before the cut:

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

The third, ``inline`` (Zhan et al. 2026, arXiv 2601.17898), copies the sentence with each entity wrapped in place,
and a sentence with no entity copied unchanged::

      [Hussain | PER] , considered surplus to [England | LOC] 's one-day requirements

Its brackets give positions, not strings, so it needs no occurrence marker: read against the text it answers, an
exact copy grounds to exactly the bracketed spans (see ``parse_inline``).

Every format renders from (text, spans, tokens) and parses from (body, text, tokens): the listing formats need only
the mentions and ignore the text when reading, the inline format needs both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from llmner.core.spans import Entity, Mention, RenderError, fold, mentions_for


@dataclass
class ParsedAnswer:
    mentions: list[Mention]
    malformed: int = 0  # lines, objects or inline markup that could not be read
    explicit_none: bool = False  # the model said "no entities" in the format's own words

    @property
    def unparseable(self) -> bool:
        return not self.mentions and not self.explicit_none


# --- reading a raw generation -------------------------------------------------------------------------------------

_FENCE = re.compile(r"^\s*```[\w-]*\s*$")


def answer_body(output: str) -> str:
    """The answer without a reasoning block or code fences; empty if the reasoning never finished."""
    if "</think>" in output:
        output = output.rsplit("</think>", 1)[1]
    elif output.lstrip().startswith("<think>"):
        return ""
    return "\n".join(line for line in output.splitlines() if not _FENCE.match(line)).strip()


_NONE_WORDS = {"none", "no entities", "无", "没有"}
_LINE = re.compile(r"^(?:[-*•]\s+|\d+[.)]\s+)?(?P<label>[^\s:#][^:#]*?)\s*(?:#(?P<k>\d+))?\s*:\s*(?P<mention>.*)$")


def parse_lines(body: str) -> ParsedAnswer:
    parsed = ParsedAnswer([])
    for raw in body.splitlines():
        line = fold(raw)
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
    folded = fold(body)
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
            parsed.mentions.append(Mention(fold(label), text.strip(), occurrence))
        else:
            parsed.malformed += 1
    if parsed.explicit_none:
        parsed.malformed = 0
    return parsed


# --- inline: the sentence copied with each entity wrapped as [mention | TYPE] -----------------------------------------

INLINE_OPEN, INLINE_SEPARATOR, INLINE_CLOSE = "[", " | ", "]"
# A mention holds brackets of the text only in balanced pairs, one deep (GMB: "Commission [ CPSC ]"); the label is
# what follows the last " | ", so it holds no "|" and no bracket.
_MARKUP = re.compile(r"\[(?P<mention>(?:[^\[\]]|\[[^\[\]]*\])*?) \| (?P<label>[^\[\]|]*)\]")
_OPENED = re.compile(r"\[[^\[\]]*? \| ")  # markup begun but never closed: unreadable, counted


def read_markup(body: str) -> tuple[str, list[Entity], int]:
    """The plain copy (markup removed), the bracketed spans as offsets into that copy, and the count of unreadable
    markup: a `[` with ` | ` but no `]`, an empty mention or label (its mention, if any, stays copied text). Any other
    `[` is text, and so is a balanced `[ … ]` inside a mention.

    >>> read_markup("[Hussain | PER] , to [England | LOC] 's [sic] [ | ORG]")
    ("Hussain , to England 's [sic] ", [Entity(start=0, end=7, label='PER'), Entity(start=13, end=20, label='LOC')], 1)
    >>> read_markup("The [Safety Commission [ CPSC ] | ORG] said")
    ('The Safety Commission [ CPSC ] said', [Entity(start=4, end=30, label='ORG')], 0)
    """
    copy, entities, malformed, position = "", [], 0, 0
    while (opening := body.find(INLINE_OPEN, position)) >= 0:
        markup = _MARKUP.match(body, opening)
        if markup is None:
            malformed += _OPENED.match(body, opening) is not None
            copy, position = copy + body[position:opening + 1], opening + 1
            continue
        copy += body[position:opening]
        mention, label = markup["mention"], fold(markup["label"])
        if mention.strip() and label:
            start = len(copy) + len(mention) - len(mention.lstrip())
            entities.append(Entity(start, start + len(mention.strip()), label))
        else:
            malformed += 1
        copy, position = copy + mention, markup.end()
    return copy + body[position:], entities, malformed


def _groundable(text: str, entities: list[Entity], tokens: list[str] | None) -> tuple[list[Mention], int]:
    """The mentions that ground back to `entities` (core.spans.mentions_for), leaving out and counting each span that
    no mention can name there (one off the token boundaries)."""
    kept, dropped = [], 0
    for entity in entities:
        try:
            mentions_for(text, kept + [entity], tokens)
        except RenderError:
            dropped += 1
        else:
            kept.append(entity)
    return mentions_for(text, kept, tokens), dropped


def parse_inline(body: str, text: str, tokens: list[str] | None = None) -> ParsedAnswer:
    """The bracketed entities of an inline answer, as mentions the scorer grounds (core.spans.ground) back to exactly
    the bracketed positions when the copy is exact; an exact copy with no brackets says "no entities".

    >>> parse_inline("[Paris | LOC] and [Paris | LOC]", "Paris and Paris").mentions
    [Mention(label='LOC', text='Paris', occurrence=1), Mention(label='LOC', text='Paris', occurrence=1)]
    >>> parse_inline("Paris and [Paris | LOC]", "Paris and Paris").mentions
    [Mention(label='LOC', text='Paris', occurrence=2)]
    >>> parse_inline("Paris and Paris", "Paris and Paris").explicit_none
    True
    """
    copy, entities, malformed = read_markup(body)
    stripped = text.strip()
    if copy == stripped:
        lead = len(text) - len(text.lstrip())
        mentions, dropped = _groundable(text, [Entity(e.start + lead, e.end + lead, e.label) for e in entities],
                                        tokens)
        return ParsedAnswer(mentions, malformed + dropped, explicit_none=not entities and not malformed)
    # Not an exact copy: each mention's occurrence is counted in the copy, as a substring (the copy has no tokens),
    # and the scorer looks for that occurrence in the text. That is wrong where the copy left out or added an
    # earlier match of the mention (it then names another occurrence, or none), or where an earlier match in the copy
    # is not on the text's token boundaries ("US" inside "USA": counted here, skipped by the scorer). Nothing more is
    # guessed: no alignment of the copy to the text.
    mentions, dropped = _groundable(copy, entities, None)
    return ParsedAnswer(mentions, malformed + dropped)


def render_inline(text: str, entities: list[Entity], tokens: list[str] | None = None, nested: bool = False) -> str:
    """The text with each entity wrapped in place. Brackets cannot nest: with `nested` (what the scorer placed in a
    free answer) a span that starts inside the previous one is left out; without it, overlaps are an error. The
    answer is checked to parse back to exactly `entities` (a text that itself reads as markup cannot be written).

    >>> render_inline("Paris and Paris", [Entity(10, 15, "LOC")])
    'Paris and [Paris | LOC]'
    """
    flat, end = [], 0
    for entity in sorted(set(entities)) if nested else entities:
        if entity.start < end and nested:
            continue
        if entity.start < end:
            raise RenderError(f"overlapping entities at {entity.start}: the answer formats are for flat NER")
        flat.append(entity)
        end = entity.end
    pieces, position = [], 0
    for entity in flat:
        pieces += [text[position:entity.start], INLINE_OPEN, text[entity.start:entity.end], INLINE_SEPARATOR,
                   entity.label, INLINE_CLOSE]
        position = entity.end
    answer = "".join(pieces + [text[position:]]).strip()
    parsed = parse_inline(answer, text, tokens)
    if parsed.malformed or parsed.unparseable or parsed.mentions != mentions_for(text, flat, tokens):
        raise RenderError(f"the inline answer {answer!r} does not read back as its entities (the text reads as "
                          "markup)")
    return answer


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
    # (text, entities, tokens, nested) -> answer; `nested`: what the scorer placed in a free answer, see mentions_for
    render: Callable[[str, list[Entity], list[str] | None, bool], str]
    parse: Callable[[str, str, list[str] | None], ParsedAnswer]  # (answer body, text, tokens) -> what it says


def listing(render_mentions: Callable[[list[Mention]], str], parse_body: Callable[[str], ParsedAnswer]):
    """A listing format's (render, parse): it writes the mentions of the spans, and reads without the text."""
    def render(text: str, entities: list[Entity], tokens: list[str] | None = None, nested: bool = False) -> str:
        return render_mentions(mentions_for(text, entities, tokens, nested))

    def parse(body: str, text: str, tokens: list[str] | None = None) -> ParsedAnswer:
        return parse_body(body)

    return render, parse


DEFAULT_FORMAT = "lines"  # an NER example's answer format where its gold names none (core.schemas.NerGold)
ANSWER_FORMATS = {
    "lines": AnswerFormat(
        "lines",
        "List every entity in order of appearance, one per line as `TYPE: mention`, copying the mention exactly "
        "from the text. If an earlier identical string is not an entity, write `TYPE#k: mention` for the k-th "
        "occurrence after the previous entity. Answer `none` if there is no entity.",
        *listing(render_lines, parse_lines)),
    "json": AnswerFormat(
        "json",
        'List every entity in order of appearance, one JSON object per line: {"entity_text": ..., '
        '"entity_label": ...}, copying entity_text exactly from the text (add "occurrence": k for the k-th '
        "occurrence after the previous entity when an earlier identical string is not an entity). Answer [] if "
        "there is no entity.",
        *listing(render_json, parse_json)),
    "inline": AnswerFormat(
        "inline",
        "Copy the text exactly, writing every entity where it occurs as `[mention | TYPE]` and changing nothing "
        "else. If there is no entity, copy the text unchanged.",
        render_inline, parse_inline),
}


def parse_answer(output: str, answer_format: str, text: str, tokens: list[str] | None = None) -> ParsedAnswer:
    """A raw generation answering `text` read in the task's answer format; a reasoning block and code fences are
    ignored.

    >>> parse_answer("<think>hmm</think>LOC: Japan\\nPER#2: China", "lines", "Japan , China or China").mentions
    [Mention(label='LOC', text='Japan', occurrence=1), Mention(label='PER', text='China', occurrence=2)]
    >>> parse_answer("no idea", "lines", "Japan").unparseable
    True
    """
    return ANSWER_FORMATS[answer_format].parse(answer_body(output), text, tokens)


def render_answer(text: str, entities: list[Entity], answer_format: str, tokens: list[str] | None = None) -> str:
    """What the assistant is trained to say for these gold spans.

    >>> render_answer("Paris and Paris", [Entity(10, 15, "LOC")], "lines")
    'LOC#2: Paris'
    """
    return ANSWER_FORMATS[answer_format].render(text, entities, tokens)


# --- classification and multiple choice: one answer read back, never guessed ---------------------------------------

def parse_label(output: str, labels: list[str]) -> str | None:
    """The label the answer names: exactly, or ignoring full-width forms (NFKC, as NER mentions are folded), case
    and spacing; None for anything else, never a guess.

    >>> parse_label("Ｂｕｓｉｎｅｓｓ。", ["World", "Business"])
    'Business'
    >>> parse_label("World and Business", ["World", "Business"]) is None
    True
    """
    answer = fold(answer_body(output)).strip(".。").strip()
    folded = {fold(label): label for label in labels}
    if answer in folded:
        return folded[answer]
    squashed = {"".join(key.split()).casefold(): label for key, label in folded.items()}
    return squashed.get("".join(answer.split()).casefold())


MCQ_RULES = ("strict", "last-letter")
_LETTER = re.compile(r"(?<![A-Za-z])[A-D](?![A-Za-z])")
# An explicit cue: 答案是B, 答案：B, 选D, Answer: C, the answer is (B). Letters are capitals only:
# "answer is a" is not A.
_CUE = re.compile(r"(?:答案|选|(?i:answer)\s*(?:is|:))\s*(?:是|为|:)?\s*[(\[]?\s*([A-D])(?![A-Za-z])")


def parse_choice(output: str, rule: str = "strict") -> str | None:
    """The option letter an answer gives, or None when it gives none or is ambiguous.

    `strict` (the default): read with full-width forms folded; the last explicit cue wins (答案, Answer:, 选, answer
    is); without a cue the answer must name exactly one option letter, so `B and C` is unparseable. `last-letter`: the
    seed's rule (the last standalone A-D of the raw answer), kept to compare with the seed's figures.

    >>> parse_choice("答案：B。因为A选项是错的"), parse_choice("答案：B。因为A选项是错的", "last-letter")
    ('B', 'A')
    >>> parse_choice("B and C") is None, parse_choice("Ｂ")
    (True, 'B')
    """
    body = answer_body(output)
    if rule == "last-letter":
        letters = _LETTER.findall(body)
        return letters[-1] if letters else None
    body = fold(body)
    cues = _CUE.findall(body)
    if cues:
        return cues[-1]
    letters = set(_LETTER.findall(body))
    return letters.pop() if len(letters) == 1 else None
