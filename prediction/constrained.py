"""Grounded constrained decoding for NER: every answer parses, every label is in the label set, every mention is
text of the input on token boundaries, each after the previous one. So nothing generated is unparseable or ungrounded.

Three ways to keep an answer grounded, `MODES`, differing in what happens where the model's own choice would not be:
- `force`: take the best token that keeps the answer valid (the first design). On a real model it bends a repeated
  or out-of-order mention onto some later, wrong substring, and costs F1 (benchmarks/RESULTS.md).
- `end`: decode freely while the model's best token is valid; where it is not, end the answer at its last complete line.
- `skip`: decode freely, then ground the answer once with the scorer's own rule (core.spans.ground) and write back
  the entities it places with a known label, so that the scorer places exactly those again: mentions that are not
  text of the input, labels outside the set and lines that do not parse are dropped. Those are false positives (or
  nothing) to the scorer; so precision rises and recall stays.

No maintained structured-generation library expresses "a substring of this input, after the previous mention", so
this is a logits processor over the answer format's grammar. `AnswerGrammar.state(prefix)` says whether an answer
prefix is invalid, open (valid, unfinished) or complete (it may end here). For greedy decoding the processor walks
each row's candidate tokens from the highest score down and keeps the first that leaves a valid prefix, which is
what masking every invalid token and taking the arg-max would pick, at a fraction of the cost. Mentions are always
the first match after the previous entity (the rare `#k` marker is not generated).

The `inline` format has its own grammar, `InlineGrammar`: the answer is the text itself with `[mention | TYPE]`
markup inserted, so every answer it accepts is grounded by its positions. An answer ended early (`end`, `force`
with no valid candidate, the token limit) is completed by `complete_answer`: per format, what the answer has said
so far and nothing more, written so that the scorer reads exactly that.
"""

from __future__ import annotations

import os

from llmner.core.answer_format import ANSWER_FORMATS, INLINE_CLOSE, INLINE_OPEN, INLINE_SEPARATOR, parse_answer
from llmner.core.schemas import Example
from llmner.core.spans import TextIndex, ground, token_boundaries

MENTION, LABEL = object(), object()
# One entity line of each format, as segments; literal strings must match exactly.
LINE_SEGMENTS = {"lines": [LABEL, ": ", MENTION],
                 "json": ['{"entity_text": "', MENTION, '", "entity_label": "', LABEL, '"}']}
NONE_ANSWER = {"lines": "none", "json": "[]"}
INVALID, OPEN, COMPLETE = None, "open", "complete"
MODES = ("skip", "end", "force")


class AnswerGrammar:
    def __init__(self, text: str, tokens: list[str] | None, labels: list[str], answer_format: str):
        self.text, self.tokens = text, tokens
        self.index = TextIndex(text, token_boundaries(text, tokens))
        self.labels, self.segments, self.none = labels, LINE_SEGMENTS[answer_format], NONE_ANSWER[answer_format]
        self.answer_format = answer_format

    def state(self, answer: str):
        if answer == self.none:
            return COMPLETE
        if answer and self.none.startswith(answer):
            return OPEN
        lines, cursor = answer.split("\n"), 0
        for number, line in enumerate(lines):
            if number < len(lines) - 1:
                cursor = self._complete_line(line, cursor)
                if cursor is None:
                    return INVALID
            elif not line:
                return COMPLETE if number else OPEN  # a trailing newline, or nothing yet
            else:
                return self._partial_line(line, cursor)
        return OPEN

    def _complete_line(self, line: str, cursor: int) -> int | None:
        """The cursor after a whole line, or None if the line is not a complete, grounded entity."""
        end = self._walk(line, cursor, whole=True)
        return end if isinstance(end, int) else None

    def _partial_line(self, line: str, cursor: int):
        result = self._walk(line, cursor, whole=False)
        return COMPLETE if isinstance(result, int) else result

    def _walk(self, line: str, cursor: int, whole: bool):
        """Match the segments against `line`: an int (the new cursor) if the line is a complete entity line, OPEN if
        it is a valid unfinished one, INVALID otherwise."""
        position, new_cursor = 0, None
        for index, segment in enumerate(self.segments):
            rest = line[position:]
            if segment is LABEL:
                label = next((known for known in sorted(self.labels, key=len, reverse=True)
                              if rest.startswith(known)), None)
                if label is None:
                    return OPEN if not whole and any(known.startswith(rest) for known in self.labels) else INVALID
                position += len(label)
            elif segment is MENTION:
                terminator = self.segments[index + 1] if index + 1 < len(self.segments) else None
                cut = rest.find(terminator[:1]) if terminator else -1
                mention = rest if cut < 0 else rest[:cut]
                span = self.index.find(mention, cursor) if mention and mention == mention.strip() else None
                if cut < 0:  # the line ends inside the mention
                    if span is not None and terminator is None:
                        return span[1]
                    if whole:
                        return INVALID
                    return OPEN if not mention or self._prefix_grounds(mention, cursor) else INVALID
                if span is None:
                    return INVALID
                new_cursor, position = span[1], position + cut
            else:
                if rest.startswith(segment):
                    position += len(segment)
                elif not whole and segment.startswith(rest):
                    return OPEN
                else:
                    return INVALID
        return new_cursor if position == len(line) and new_cursor is not None else INVALID

    def _prefix_grounds(self, partial: str, cursor: int) -> bool:
        # A quote would close the JSON string early; the text index answers the rest.
        return '"' not in partial and self.index.starts_a_match(partial, cursor)

    def complete(self, output: str) -> str:
        """A generation stopped early (the token limit, `end`) may end inside a line: keep only its complete lines."""
        if self.state(output) == COMPLETE:
            return output
        lines = output.split("\n")[:-1]
        return "\n".join(lines) if lines else self.none


# InlineGrammar's configurations: where in the text the copy is, and in what part of the markup.
OUTSIDE, IN_MENTION, IN_SEPARATOR, IN_LABEL = "outside", "mention", "separator", "label"


class InlineGrammar:
    """The `inline` answer: the text copied character by character (whitespace as in the text), where at a token
    start `[` may open an entity whose mention is the next text up to a token end, then ` | `, a label of the set and
    `]`. Complete only when the whole text is copied and no bracket is open. A literal `[` of the text may be either
    text or an opening, so the grammar is walked as a set of configurations (almost always one). A text that itself
    reads as markup (`[a | LOC]` in the sentence) could be misread by the parser; no dataset here has one, and
    rendering such gold fails loudly (answer_format.render_inline).

    >>> grammar = InlineGrammar("Paris beat Lyon", "Paris beat Lyon".split(), ["LOC", "ORG"])
    >>> [grammar.state(prefix) for prefix in ("[Paris | L", "[Paris | LOC] beat Lyon", "[Par | LOC]", "Paris  b")]
    ['open', 'complete', None, None]
    """

    answer_format = "inline"

    def __init__(self, text: str, tokens: list[str] | None, labels: list[str]):
        self.text, self.tokens, self.labels = text, tokens, list(labels)
        boundaries = token_boundaries(text, tokens)
        if boundaries is None:  # untokenised: any span of the text without outer whitespace
            self.starts = {i for i, char in enumerate(text) if not char.isspace()}
            self.ends = {i + 1 for i, char in enumerate(text) if not char.isspace()}
        else:
            self.starts, self.ends = boundaries
        self.begin = len(text) - len(text.lstrip())  # the parser compares the answer with the stripped text
        self.none = text.strip()  # the answer that says "no entities"
        self._walked, self._steps = "", [frozenset({(OUTSIDE, self.begin)})]

    def _step(self, configurations: frozenset, char: str) -> frozenset:
        text, following = self.text, set()
        for configuration in configurations:
            kind, at = configuration[0], configuration[1]
            if kind == OUTSIDE:
                if at < len(text) and char == text[at]:
                    following.add((OUTSIDE, at + 1))
                if char == INLINE_OPEN and at in self.starts:
                    following.add((IN_MENTION, at, at, 0))
            elif kind == IN_MENTION:
                start, depth = configuration[2], configuration[3]
                # The text's own brackets may be part of a mention in balanced pairs, one deep (what the parser reads:
                # core.answer_format._MARKUP); the mention ends only outside them.
                depth_after = depth + (char == INLINE_OPEN) - (char == INLINE_CLOSE)
                if at < len(text) and char == text[at] and 0 <= depth_after <= 1:
                    following.add((IN_MENTION, at + 1, start, depth_after))
                if char == INLINE_SEPARATOR[0] and at > start and at in self.ends and depth == 0:
                    following.add((IN_SEPARATOR, at, 1))
            elif kind == IN_SEPARATOR:
                typed = configuration[2]
                if char == INLINE_SEPARATOR[typed]:
                    following.add((IN_SEPARATOR, at, typed + 1) if typed + 1 < len(INLINE_SEPARATOR)
                                  else (IN_LABEL, at, ""))
            else:
                label = configuration[2]
                if char == INLINE_CLOSE and label in self.labels:
                    following.add((OUTSIDE, at))
                elif any(known.startswith(label + char) for known in self.labels):
                    following.add((IN_LABEL, at, label + char))
        return frozenset(following)

    def _configurations(self, answer: str) -> list[frozenset]:
        """The configurations after each character of `answer` (index 0: before any), walked once per new suffix:
        the decoder asks about many extensions of the same prefix."""
        shared = len(os.path.commonprefix([self._walked, answer]))
        steps = self._steps[:shared + 1]
        for char in answer[shared:]:
            if not steps[-1]:
                break
            steps.append(self._step(steps[-1], char))
        self._walked, self._steps = answer[:len(steps) - 1], steps
        return steps

    def state(self, answer: str):
        steps = self._configurations(answer)
        if len(steps) <= len(answer) or not steps[-1]:
            return INVALID
        if any(kind == OUTSIDE and not self.text[at:].strip() for kind, at, *_ in steps[-1]):
            return COMPLETE
        return OPEN

    def complete(self, output: str) -> str:
        """An inline answer ended early is completed as "no more entities": cut back to the last point outside any
        bracket (an unfinished bracket is dropped, never closed by guessing) and copy the rest of the text plain.
        The result is an exact copy, so the scorer places exactly the entities bracketed before the cut.

        >>> InlineGrammar("Paris beat Lyon", "Paris beat Lyon".split(), ["LOC"]).complete("[Paris | LOC] beat [Ly")
        '[Paris | LOC] beat Lyon'
        """
        if self.state(output) == COMPLETE:
            return output
        steps = self._configurations(output)
        for cut in range(len(steps) - 1, -1, -1):
            outside = [at for kind, at, *_ in steps[cut] if kind == OUTSIDE]
            if outside:
                return output[:cut] + self.text[max(outside):].rstrip()
        return self.none  # unreachable: before any character the walk is outside


def grounded_processor(tokenizer, grammars: list[AnswerGrammar], prompt_length: int, candidates: int = 64,
                       mode: str = "force"):
    """A transformers LogitsProcessor constraining each row of a greedy batch to its example's grammar; `end` stops a
    row at the model's first invalid choice instead of looking further down its candidates."""
    from transformers import LogitsProcessor

    eos, specials = tokenizer.eos_token_id, set(tokenizer.all_special_ids)

    class GroundedAnswer(LogitsProcessor):
        def __call__(self, input_ids, scores):
            for row, grammar in enumerate(grammars):
                generated = input_ids[row, prompt_length:].tolist()
                if eos in generated or (generated and generated[-1] == tokenizer.pad_token_id):
                    continue  # this row has finished
                answer = tokenizer.decode(generated)
                chosen = eos  # if nothing else fits, end the answer rather than break the format
                ranked = scores[row].topk(min(candidates if mode == "force" else 1, scores.shape[-1])).indices
                for token in ranked.tolist():
                    if token == eos:
                        if grammar.state(answer) == COMPLETE:
                            chosen = token
                            break
                        continue
                    if token in specials:
                        continue
                    extended = tokenizer.decode(generated + [token]).rstrip("\ufffd")  # a character split in bytes
                    if grammar.state(extended) is not INVALID:
                        chosen = token
                        break
                best = scores[row, chosen].clone()
                scores[row] = float("-inf")
                scores[row, chosen] = best
            return scores

    return GroundedAnswer()


def grammar_for(text: str, tokens: list[str] | None, labels: list[str], answer_format: str):
    """The grammar of an answer in `answer_format` to `text`: the listing formats' or the inline copy's."""
    if answer_format == "inline":
        return InlineGrammar(text, tokens, labels)
    return AnswerGrammar(text, tokens, labels, answer_format)


def grammar_of(example: Example) -> AnswerGrammar | InlineGrammar:
    """The grammar of an NER example with its label set (predict's check_constrainable refuses one without)."""
    gold = example.gold
    return grammar_for(gold.text, gold.tokens, gold.labels, gold.answer_format)


def grounded_factory(tokenizer, examples: list[Example], mode: str = "force"):
    """What `generate_transformers` calls per batch: (example indices, prompt length) -> logits processors."""
    from transformers import LogitsProcessorList

    grammars = [grammar_of(e) for e in examples]

    def factory(batch: list[int], prompt_length: int):
        return LogitsProcessorList([grounded_processor(tokenizer, [grammars[i] for i in batch], prompt_length,
                                                       mode=mode)])

    factory.grammars = grammars
    return factory


def complete_answer(grammar: AnswerGrammar | InlineGrammar, output: str) -> str:
    """A constrained generation stopped early, made an answer the scorer reads as what it said so far: a listing
    keeps its complete lines; an inline copy keeps its closed brackets and copies the rest of the text plain."""
    return grammar.complete(output)


def grounded_lines(grammar: AnswerGrammar | InlineGrammar, output: str) -> str:
    """`skip`: a free generation reduced to what the scorer places in the text with a known label, written back so
    that the scorer places exactly that again. The answer is read and grounded once, by the scorer's own rule
    (core.spans.ground, left to right, an out-of-order mention at its first occurrence); the entities of known labels
    are rendered in text order with the occurrence marker `ground` needs (core.spans.mentions_for). Dropped: the
    scorer's ungrounded mentions, unknown labels and unparseable lines, all false positives or nothing; a dropped
    line no longer moves the scorer's cursor past a later mention. In the `inline` format brackets cannot nest, so
    of overlapping placed entities (a free answer that is not an exact copy) only the first is written back.

    >>> grammar = AnswerGrammar("Japan beat Syria", ["Japan", "beat", "Syria"], ["LOC"], "lines")
    >>> grounded_lines(grammar, "LOC: Syria\\nLOC: Japan\\nLOC: Japan\\nLOC: Iraq\\nPER: Syria\\nLOC: Sy")
    'LOC: Japan\\nLOC: Syria'
    """
    mentions = parse_answer(output, grammar.answer_format, grammar.text, grammar.tokens).mentions
    placed = [entity for entity in ground(grammar.text, mentions, grammar.tokens).entities
              if entity.label in grammar.labels]
    return ANSWER_FORMATS[grammar.answer_format].render(grammar.text, placed, grammar.tokens, nested=True)
