"""Stop a generated NER answer once it loops, where the rest could only be ungrounded lines.

A fine-tuned small model now and then repeats itself (`LOC: Syria` twenty times, `company: company: …` until the
token limit), and a batch waits for its slowest row. A row stops when
- the line being written is longer than the sentence itself (plus room for a label): no mention that long is text
  of the input; or
- a complete line has been written more times than its mention occurs in the sentence: the extra copies cannot all
  be grounded; or a line that is no entity at all (prose, an echo of the sentence) has been written twice.
An `inline` answer is one copy of the sentence, so it loops once it is longer than any valid answer could be: the
text plus the markup of an entity on every token (`inline_bound`).
The scorer counts such lines as ungrounded false positives, so cutting the answer there changes the score only when
a grounded line would have followed a loop (benchmarks/RESULTS.md measures it). `llmner predict --loop-stop off`
generates to the limit as before.
"""

from __future__ import annotations

from collections import Counter

from llmner.core.answer_format import ANSWER_FORMATS, INLINE_CLOSE, INLINE_OPEN, INLINE_SEPARATOR
from llmner.core.schemas import Example, NerGold

LABEL_ROOM = 64  # characters a line may have beyond its mention: the label and the format's punctuation


def inline_bound(text: str, tokens: list[str] | None = None, labels: list[str] | None = None) -> int:
    """The longest valid inline answer: the text with `[… | LABEL]` around every token (every non-space character
    where the text is untokenised), with the longest label (LABEL_ROOM where the label set is not given).

    >>> inline_bound("Syria and Turkey", ["Syria", "and", "Turkey"], ["LOC", "MISC"])  # 16 + 3 * len("[ | MISC]")
    43
    """
    slots = len(tokens) if tokens else sum(not char.isspace() for char in text)
    label = max(map(len, labels)) if labels else LABEL_ROOM
    return len(text) + slots * (len(INLINE_OPEN + INLINE_SEPARATOR + INLINE_CLOSE) + label)


def looping(answer: str, text: str, answer_format: str, tokens: list[str] | None = None,
            labels: list[str] | None = None) -> bool:
    """Whether an answer so far has started to loop (`tokens` and `labels`: the example's, read by `inline`).

    >>> looping("LOC: Syria\\nLOC: Syria\\n", "Syria said", "lines"), looping("LOC: Syria\\n", "Syria said", "lines")
    (True, False)
    >>> looping("LOC: Syria\\nLOC: Syria\\n", "Syria and Syria", "lines")
    False
    >>> looping("Wasim Akram b Harris\\n\\nWasim Akram b Harris\\n", "Wasim Akram b Harris", "lines")
    True
    >>> text = "Syria said"
    >>> looping("[Syria | LOC] said", text, "inline", text.split(), ["LOC"])
    False
    >>> looping("[Syria | LOC] said [Syria | LOC] said", text, "inline", text.split(), ["LOC"])
    True
    """
    if answer_format == "inline":
        return len(answer) > inline_bound(text, tokens, labels)
    *complete, current = answer.split("\n")
    if len(current) > len(text) + LABEL_ROOM:
        return True
    format_ = ANSWER_FORMATS[answer_format]
    for line, count in Counter(line for line in complete if line.strip()).items():
        if count > 1:
            parsed = format_.parse(line, text, tokens)
            mentions = parsed.mentions
            if not mentions and not parsed.explicit_none or mentions and count > text.count(mentions[0].text):
                return True
    return False


def loop_stop_factory(tokenizer, examples: list[Example]):
    """A factory of transformers stopping criteria for one batch: the row's answer is decoded after each step and
    the row ends when it loops (NER examples only; other rows run to their end as before)."""
    from transformers import StoppingCriteria

    class LoopStop(StoppingCriteria):
        def __init__(self, rows: list[NerGold | None], prompt_length: int):
            self.rows, self.prompt_length = rows, prompt_length

        def __call__(self, input_ids, scores, **kwargs):
            import torch

            answers = tokenizer.batch_decode(input_ids[:, self.prompt_length:], skip_special_tokens=True)
            return torch.tensor([gold is not None and looping(answer, gold.text, gold.answer_format, gold.tokens,
                                                              gold.labels)
                                 for gold, answer in zip(self.rows, answers)], device=input_ids.device)

    def factory(batch: list[int], prompt_length: int):
        rows = [examples[i].gold if examples[i].gold.task == "ner" else None for i in batch]
        return LoopStop(rows, prompt_length)

    return factory
