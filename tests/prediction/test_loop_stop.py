"""An NER answer ends where it starts to loop, and only there (prediction.loop_stop)."""

from __future__ import annotations

import pytest

from llmner.core.schemas import Example
from llmner.prediction.loop_stop import loop_stop_factory, looping

TEXT = "Syria and Turkey met in Ankara ."


@pytest.mark.parametrize("answer,loops", [
    ("LOC: Syria\nLOC: Turkey\nLOC: Ankara", False),
    ("LOC: Syria\nLOC: Syria\n", True),  # Syria occurs once: a second copy cannot be grounded
    ("LOC: Syria\nLOC#2: Syria\n", False),  # not the same line
    ("none\nnone\n", False),  # an explicit answer, however often
    ("company: " * 12, True),  # a line longer than the sentence and a label
    ("Syria and Turkey met\nSyria and Turkey met\n", True),  # prose, twice
])
def test_looping(answer, loops):
    assert looping(answer, TEXT, "lines") is loops


def test_json_answers_loop_the_same_way():
    line = '{"entity_text": "Syria", "entity_label": "LOC"}\n'
    assert looping(line * 2, TEXT, "json") and not looping(line, TEXT, "json")


def test_an_inline_answer_loops_once_longer_than_any_valid_one():
    tokens, labels = TEXT.split(), ["LOC", "MISC"]
    widest = "".join(f"[{token} | MISC] " for token in tokens).strip()  # every token an entity, the longest label
    assert not looping(widest, TEXT, "inline", tokens, labels)
    assert looping(widest + " ", TEXT, "inline", tokens, labels)
    marked = "[Syria | LOC] and [Turkey | LOC] met in [Ankara | LOC] ."
    assert not looping(marked, TEXT, "inline", tokens, labels)
    assert looping(marked + (" " + marked) * 2, TEXT, "inline", tokens, labels)
    assert not looping("LOC: Syria\n" * 2, TEXT, "inline", tokens, labels)  # no line rule: it is one copy


def test_the_criterion_stops_only_the_looping_rows():
    torch = pytest.importorskip("torch")

    class Tokenizer:
        answers = {0: "LOC: Syria\nLOC: Syria\n", 1: "LOC: Syria\n", 2: " ".join([TEXT] * 4), 3: TEXT}

        def batch_decode(self, ids, skip_special_tokens):
            return [self.answers[int(row[-1])] for row in ids]

    inline = {"task": "ner", "text": TEXT, "entities": [], "answer_format": "inline", "tokens": TEXT.split(),
              "labels": ["LOC"]}
    golds = [{"task": "ner", "text": TEXT, "entities": []}] * 2 + [inline] * 2 + [
        {"task": "classification", "label": "x", "labels": ["x"]}]
    examples = [Example(id=i, messages=[], gold=gold) for i, gold in enumerate(golds)]
    criterion = loop_stop_factory(Tokenizer(), examples)([0, 1, 2, 3], prompt_length=1)
    assert criterion(torch.tensor([[5, 0], [5, 1], [5, 2], [5, 3]]), None).tolist() == [True, False, True, False]
