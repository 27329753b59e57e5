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

import json
import re
from dataclasses import dataclass

from llmner.core.spans import Entity, Mention, fold, mentions_for


@dataclass
class ParsedAnswer:
    mentions: list[Mention]
    malformed: int = 0  # lines or objects that could not be read
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


DEFAULT_FORMAT = "lines"  # an NER example's answer format where its gold names none (core.schemas.NerGold)
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
    """A raw generation read in the task's answer format; a reasoning block and code fences are ignored.

    >>> parse_answer("<think>hmm</think>LOC: Japan\\nPER#2: China", "lines").mentions
    [Mention(label='LOC', text='Japan', occurrence=1), Mention(label='PER', text='China', occurrence=2)]
    >>> parse_answer("no idea", "lines").unparseable
    True
    """
    return ANSWER_FORMATS[answer_format].parse(answer_body(output))


def render_answer(text: str, entities: list[Entity], answer_format: str, tokens: list[str] | None = None) -> str:
    """What the assistant is trained to say for these gold spans.

    >>> render_answer("Paris and Paris", [Entity(10, 15, "LOC")], "lines")
    'LOC#2: Paris'
    """
    return ANSWER_FORMATS[answer_format].render(mentions_for(text, entities, tokens))


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
