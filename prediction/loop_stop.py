"""Stop a generated NER answer once it loops, where the rest could only be ungrounded lines.

A fine-tuned small model now and then repeats itself (`LOC: Syria` twenty times, `company: company: …` until the
token limit), and a batch waits for its slowest row. A row stops when
- the line being written is longer than the sentence itself (plus room for a label): no mention that long is text
  of the input; or
- a complete line has been written more times than its mention occurs in the sentence: the extra copies cannot all
  be grounded; or a line that is no entity at all (prose, an echo of the sentence) has been written twice.
The scorer counts such lines as ungrounded false positives, so cutting the answer there changes the score only when
a grounded line would have followed a loop (benchmarks/RESULTS.md measures it). `llmner predict --loop-stop off`
generates to the limit as before.
"""

from __future__ import annotations

from collections import Counter

from llmner.core.answer_format import ANSWER_FORMATS
from llmner.core.schemas import Example, NerGold

LABEL_ROOM = 64  # characters a line may have beyond its mention: the label and the format's punctuation


def looping(answer: str, text: str, answer_format: str) -> bool:
    """Whether an answer so far has started to loop.

    >>> looping("LOC: Syria\\nLOC: Syria\\n", "Syria said", "lines"), looping("LOC: Syria\\n", "Syria said", "lines")
    (True, False)
    >>> looping("LOC: Syria\\nLOC: Syria\\n", "Syria and Syria", "lines")
    False
    >>> looping("Wasim Akram b Harris\\n\\nWasim Akram b Harris\\n", "Wasim Akram b Harris", "lines")
    True
    """
    *complete, current = answer.split("\n")
    if len(current) > len(text) + LABEL_ROOM:
        return True
    parse = ANSWER_FORMATS[answer_format].parse
    for line, count in Counter(line for line in complete if line.strip()).items():
        if count > 1:
            mentions = parse(line).mentions
            if not mentions and not parse(line).explicit_none or mentions and count > text.count(mentions[0].text):
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
            return torch.tensor([gold is not None and looping(answer, gold.text, gold.answer_format)
                                 for gold, answer in zip(self.rows, answers)], device=input_ids.device)

    def factory(batch: list[int], prompt_length: int):
        rows = [examples[i].gold if examples[i].gold.task == "ner" else None for i in batch]
        return LoopStop(rows, prompt_length)

    return factory
