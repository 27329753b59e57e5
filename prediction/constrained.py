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
"""

from __future__ import annotations

from llmner.core.answer_format import ANSWER_FORMATS, parse_answer
from llmner.core.schemas import Example
from llmner.core.spans import TextIndex, ground, mentions_for, token_boundaries

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


def grammar_of(example: Example) -> AnswerGrammar:
    """The grammar of an NER example with its label set (predict's check_constrainable refuses one without)."""
    gold = example.gold
    return AnswerGrammar(gold.text, gold.tokens, gold.labels, gold.answer_format)


def grounded_factory(tokenizer, examples: list[Example], mode: str = "force"):
    """What `generate_transformers` calls per batch: (example indices, prompt length) -> logits processors."""
    from transformers import LogitsProcessorList

    grammars = [grammar_of(e) for e in examples]

    def factory(batch: list[int], prompt_length: int):
        return LogitsProcessorList([grounded_processor(tokenizer, [grammars[i] for i in batch], prompt_length,
                                                       mode=mode)])

    factory.grammars = grammars
    return factory


def complete_answer(grammar: AnswerGrammar, output: str) -> str:
    """A generation stopped by the token limit may end inside a line: keep only its complete lines."""
    if grammar.state(output) == COMPLETE:
        return output
    lines = output.split("\n")[:-1]
    return "\n".join(lines) if lines else grammar.none


def grounded_lines(grammar: AnswerGrammar, output: str) -> str:
    """`skip`: a free generation reduced to what the scorer places in the text with a known label, written back so
    that the scorer places exactly that again. The answer is read and grounded once, by the scorer's own rule
    (core.spans.ground, left to right, an out-of-order mention at its first occurrence); the entities of known labels
    are rendered in text order with the occurrence marker `ground` needs (core.spans.mentions_for). Dropped: the
    scorer's ungrounded mentions, unknown labels and unparseable lines, all false positives or nothing; a dropped
    line no longer moves the scorer's cursor past a later mention.

    >>> grammar = AnswerGrammar("Japan beat Syria", ["Japan", "beat", "Syria"], ["LOC"], "lines")
    >>> grounded_lines(grammar, "LOC: Syria\\nLOC: Japan\\nLOC: Japan\\nLOC: Iraq\\nPER: Syria\\nLOC: Sy")
    'LOC: Japan\\nLOC: Syria'
    """
    mentions = parse_answer(output, grammar.answer_format).mentions
    placed = [entity for entity in ground(grammar.text, mentions, grammar.tokens).entities
              if entity.label in grammar.labels]
    kept = mentions_for(grammar.text, placed, grammar.tokens, nested=True)
    return ANSWER_FORMATS[grammar.answer_format].render(kept)
