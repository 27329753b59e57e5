"""The NER answer formats: lossless on every real sentence, tolerant of what models emit, never guessing a span."""

from __future__ import annotations

import json

import pytest

from llmner.core.answer_format import parse_answer, render_answer
from llmner.core.spans import Entity, Mention, ground

TEXT = "Only France and Britain backed France 's proposal"
TOKENS = TEXT.split(" ")


def spans(output: str, text: str = TEXT, tokens=TOKENS, answer_format: str = "lines"):
    parsed = parse_answer(output, answer_format, text, tokens)
    return parsed, ground(text, parsed.mentions, tokens)


def test_repeated_string_needs_no_marker_when_in_order():
    entities = [Entity(5, 11, "LOC"), Entity(31, 37, "LOC")]
    assert render_answer(TEXT, entities, "lines", TOKENS) == "LOC: France\nLOC: France"
    assert spans("LOC: France\nLOC: France")[1].entities == entities


def test_occurrence_marker_when_an_earlier_identical_string_is_not_an_entity():
    entities = [Entity(31, 37, "LOC")]  # the first "France" is not annotated
    answer = render_answer(TEXT, entities, "lines", TOKENS)
    assert answer == "LOC#2: France"
    assert spans(answer)[1].entities == entities
    json_answer = render_answer(TEXT, entities, "json", TOKENS)
    assert json.loads(json_answer) == {"entity_text": "France", "entity_label": "LOC", "occurrence": 2}
    assert spans(json_answer, answer_format="json")[1].entities == entities


def test_token_boundaries_are_respected():
    text = "Chinese and China"
    entities = [Entity(12, 17, "LOC")]
    assert render_answer(text, entities, "lines", text.split()) == "LOC: China"
    assert ground(text, [Mention("LOC", "China")], text.split()).entities == entities


def test_no_entities_is_said_explicitly():
    assert render_answer(TEXT, [], "lines", TOKENS) == "none"
    assert render_answer(TEXT, [], "json", TOKENS) == "[]"
    for output, answer_format in (("none", "lines"), ("[]", "json"), ("None.", "lines")):
        parsed = parse_answer(output, answer_format, TEXT, TOKENS)
        assert parsed.mentions == [] and not parsed.unparseable


@pytest.mark.parametrize("output", [
    "<think>France is a country, so LOC.</think>\nLOC: France",
    "```\nLOC: France\n```",
    "LOC：France",  # full-width colon
    "- LOC: France",
    "  LOC :  France  ",
    "LOC: France\nLOC: Brit",  # truncated last line: the complete line still counts
])
def test_tolerates_what_models_emit(output):
    parsed, grounding = spans(output)
    assert Entity(5, 11, "LOC") in grounding.entities


def test_truncated_mention_is_never_completed_by_guessing():
    parsed, grounding = spans("LOC: France\nLOC: Brit")
    assert grounding.entities == [Entity(5, 11, "LOC")]  # "Brit" is no token of the text
    assert grounding.ungrounded == 1


def test_unfinished_reasoning_is_unparseable():
    parsed = parse_answer("<think>Let me look at France and", "lines", TEXT, TOKENS)
    assert parsed.unparseable and parsed.mentions == []


def test_garbage_is_unparseable_and_counted():
    parsed = parse_answer("I think the answer is France", "lines", TEXT, TOKENS)
    assert parsed.unparseable and parsed.malformed == 1


def test_mention_not_in_text_is_ungrounded():
    _, grounding = spans("LOC: Germany\nLOC: France")
    assert grounding.entities == [Entity(5, 11, "LOC")] and grounding.ungrounded == 1


def test_out_of_order_mention_is_placed_at_its_first_occurrence_and_counted():
    _, grounding = spans("LOC: Britain\nLOC: France")
    assert grounding.entities == [Entity(16, 23, "LOC"), Entity(31, 37, "LOC")]
    _, grounding = spans("PER: proposal\nLOC: Britain")
    assert grounding.out_of_order == 1 and Entity(16, 23, "LOC") in grounding.entities


def test_json_format_truncated_object_is_counted_not_guessed():
    parsed = parse_answer('{"entity_text": "菲律宾", "entity_label": "GPE"}\n{"entity_text": "埃斯', "json",
                          "菲律宾总统埃斯特拉达")
    assert parsed.mentions == [Mention("GPE", "菲律宾")] and parsed.malformed == 1


def test_full_width_forms_ground_to_the_original_span():
    text = "菲律宾总统２号透过马尼拉"
    _, grounding = spans('{"entity_text": "2号", "entity_label": "TIM"}', text, None, "json")
    assert grounding.entities == [Entity(5, 7, "TIM")]


@pytest.mark.data
@pytest.mark.parametrize("dataset", ["conll2003", "gmb", "zh_ner", "wnut17"])
@pytest.mark.parametrize("answer_format", [None, "inline"])
def test_round_trip_is_lossless_on_every_real_sentence(converted, dataset, answer_format):
    """Render gold, parse the rendering, ground it: exactly the gold spans, for 100% of sentences, in the dataset's
    own format (the converted answer) and in `inline` (rendered here)."""
    checked = 0
    for path in sorted((converted / dataset).glob("*.jsonl")):
        for line in open(path, encoding="utf-8"):
            example = json.loads(line)
            gold = example["gold"]
            expected = [Entity(**e) for e in gold["entities"]]
            answer = (example["messages"][-1]["content"] if answer_format is None
                      else render_answer(gold["text"], expected, answer_format, gold.get("tokens")))
            parsed = parse_answer(answer, answer_format or gold["answer_format"], gold["text"], gold.get("tokens"))
            grounding = ground(gold["text"], parsed.mentions, gold.get("tokens"))
            assert grounding.entities == expected, example["id"]
            assert not parsed.unparseable and parsed.malformed == 0 and grounding.ungrounded == 0
            checked += 1
    assert checked == {"conll2003": 20744, "gmb": 47959, "zh_ner": 15724, "wnut17": 5690}[dataset]


# --- inline: the sentence copied with each entity wrapped as [mention | TYPE] -----------------------------------------

CONLL = "Hussain , considered surplus to England 's one-day requirements"


def test_inline_wraps_each_entity_in_the_copied_sentence():
    entities = [Entity(0, 7, "PER"), Entity(32, 39, "LOC")]
    answer = render_answer(CONLL, entities, "inline", CONLL.split())
    assert answer == "[Hussain | PER] , considered surplus to [England | LOC] 's one-day requirements"
    parsed, grounding = spans(answer, CONLL, CONLL.split(), "inline")
    assert grounding.entities == entities and parsed.malformed == 0 and not parsed.explicit_none


def test_inline_no_entities_is_the_sentence_unchanged():
    assert render_answer(TEXT, [], "inline", TOKENS) == TEXT
    parsed = parse_answer(TEXT, "inline", TEXT, TOKENS)
    assert parsed.mentions == [] and parsed.explicit_none and not parsed.unparseable


@pytest.mark.parametrize("entities", [
    [Entity(31, 37, "LOC")],                        # the first France is not an entity: its position says which
    [Entity(5, 11, "LOC"), Entity(31, 37, "LOC")],
    [Entity(5, 11, "LOC"), Entity(16, 23, "LOC"), Entity(31, 37, "ORG")],
])
def test_inline_brackets_ground_to_exactly_their_positions(entities):
    answer = render_answer(TEXT, entities, "inline", TOKENS)
    assert spans(answer, answer_format="inline")[1].entities == entities


def test_inline_token_boundaries_are_respected():
    text = "Chinese and China"
    answer = render_answer(text, [Entity(12, 17, "LOC")], "inline", text.split())
    assert answer == "Chinese and [China | LOC]"
    assert spans(answer, text, text.split(), "inline")[1].entities == [Entity(12, 17, "LOC")]


def test_inline_bracket_off_the_token_boundaries_is_counted_not_placed():
    parsed, grounding = spans("Only [Fra | LOC]nce and [Britain | LOC] backed France 's proposal",
                              answer_format="inline")
    assert grounding.entities == [Entity(16, 23, "LOC")] and parsed.malformed == 1


def test_inline_literal_brackets_stay_text():
    text = "Smith [ 3 ] beat [ Jones ]"
    entities = [Entity(0, 5, "PER"), Entity(19, 24, "PER")]
    answer = render_answer(text, entities, "inline", text.split())
    assert answer == "[Smith | PER] [ 3 ] beat [ [Jones | PER] ]"
    parsed, grounding = spans(answer, text, text.split(), "inline")
    assert grounding.entities == entities and parsed.malformed == 0


@pytest.mark.parametrize("output, malformed, placed", [
    ("Only [France | LOC and Britain backed France 's proposal", 1, []),   # never closed
    ("Only [ | LOC]France and Britain backed France 's proposal", 1, []),  # empty mention
    ("Only [France | ] and [Britain | LOC] backed France 's proposal", 1, [Entity(16, 23, "LOC")]),  # empty label
    ("Only [France | LOC] and [Britain | LOC] backed France 's proposal", 0, [Entity(5, 11, "LOC"),
                                                                              Entity(16, 23, "LOC")]),
])
def test_inline_unreadable_markup_is_counted(output, malformed, placed):
    parsed, grounding = spans(output, answer_format="inline")
    assert parsed.malformed == malformed and grounding.entities == placed


def test_inline_inexact_copy_counts_occurrences_in_the_copy():
    """A copy with a word changed still places its entities where the copy's own count of earlier matches agrees
    with the text's; where the copy dropped an earlier match, the occurrence names the wrong one (documented)."""
    _, grounding = spans("Only [France | LOC] and Britain supported [France | LOC] 's proposal", answer_format="inline")
    assert grounding.entities == [Entity(5, 11, "LOC"), Entity(31, 37, "LOC")]
    _, grounding = spans("Only Britain backed [France | LOC] 's proposal", answer_format="inline")
    assert grounding.entities == [Entity(5, 11, "LOC")]  # the copy left out the first France
    parsed = parse_answer("I cannot answer that", "inline", TEXT, TOKENS)
    assert parsed.unparseable and parsed.malformed == 0


def test_inline_tolerates_reasoning_and_fences():
    parsed, grounding = spans("<think>France.</think>\n```\nOnly [France | LOC] and Britain backed France 's proposal\n"
                              "```", answer_format="inline")
    assert grounding.entities == [Entity(5, 11, "LOC")] and parsed.malformed == 0


def test_inline_refuses_what_it_cannot_write():
    from llmner.core.spans import RenderError

    with pytest.raises(RenderError, match="overlapping"):
        render_answer("New York City", [Entity(0, 8, "LOC"), Entity(4, 13, "LOC")], "inline")
    with pytest.raises(RenderError, match="does not read back"):  # the text itself reads as markup
        render_answer("see [a | LOC] here", [Entity(0, 3, "LOC")], "inline")


def test_inline_entity_holding_the_texts_brackets():
    """GMB: "The U.S. Consumer Product Safety Commission [ CPSC ] has ..." is one ORG, brackets and all."""
    text = "The U.S. Consumer Product Safety Commission [ CPSC ] has launched"
    entities = [Entity(4, 52, "ORG")]
    answer = render_answer(text, entities, "inline", text.split())
    assert answer == "The [U.S. Consumer Product Safety Commission [ CPSC ] | ORG] has launched"
    parsed, grounding = spans(answer, text, text.split(), "inline")
    assert grounding.entities == entities and parsed.malformed == 0
