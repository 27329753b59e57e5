"""Grounded constrained decoding: the grammar accepts every gold answer and rejects what would not ground, and a
(random, untrained) model constrained by it never writes an unparseable answer or an ungrounded mention."""

from __future__ import annotations

import json

import pytest

from llmner.core.answer_format import parse_answer
from llmner.core.schemas import read_examples
from llmner.core.spans import ground
from llmner.prediction.constrained import COMPLETE, INVALID, MODES, OPEN, AnswerGrammar, complete_answer, grammar_for
from tests.cli import llmner

TEXT = "Only France and Britain backed Fischler 's proposal"
GRAMMAR = AnswerGrammar(TEXT, TEXT.split(), ["PER", "LOC", "ORG", "MISC"], "lines")


@pytest.mark.parametrize("prefix, state", [
    ("", OPEN), ("n", OPEN), ("none", COMPLETE), ("LO", OPEN), ("LOC", OPEN), ("LOC: ", OPEN), ("LOC: Fr", OPEN),
    ("LOC: France", COMPLETE), ("LOC: France\n", COMPLETE), ("LOC: France\nLOC: Britain", COMPLETE),
    ("LOC: France\nPER: Fischler", COMPLETE),
    ("XYZ: France", INVALID),              # a label outside the set
    ("LOC: Germany", INVALID),             # not in the text
    ("LOC: Fra", OPEN),                    # a prefix, may go on
    ("LOC: Britain\nLOC: France", INVALID),  # France is before the previous mention
    ("LOC: Franc\nPER: Fischler", INVALID),  # a complete line must end on a token boundary
    ("LOC:  France", INVALID), ("LOC France", INVALID),
])
def test_grammar_states(prefix, state):
    assert GRAMMAR.state(prefix) is state or GRAMMAR.state(prefix) == state


def test_json_grammar():
    grammar = AnswerGrammar("菲律宾总统埃斯特拉达", None, ["GPE", "PER"], "json")
    assert grammar.state('{"entity_text": "菲律') == OPEN
    assert grammar.state('{"entity_text": "菲律宾", "entity_label": "GPE"}') == COMPLETE
    assert grammar.state('{"entity_text": "菲律宾", "entity_label": "ORG"}') is INVALID
    assert grammar.state('{"entity_text": "马尼拉", "entity_label": "GPE"}') is INVALID
    assert grammar.state("[]") == COMPLETE


def test_an_unfinished_last_line_is_dropped():
    assert complete_answer(GRAMMAR, "LOC: France\nLOC: Bri") == "LOC: France"
    assert complete_answer(GRAMMAR, "LOC: Fra") == "none"


def in_format(example: dict, answer_format: str | None) -> dict:
    """A converted example with its answer (and prompt) in `answer_format` (None: as converted)."""
    if answer_format is None:
        return example
    from llmner.core.examples import ner_example
    from llmner.core.spans import Entity
    from llmner.core.tasks import ner_prompt

    gold = example["gold"]
    return ner_example(example["id"], gold["text"], [Entity(**e) for e in gold["entities"]],
                       ner_prompt(example["id"].split("/")[0], answer_format), gold.get("tokens")) | {
        "gold": gold | {"answer_format": answer_format}}


@pytest.mark.data
@pytest.mark.parametrize("dataset", ["conll2003", "zh_ner"])
@pytest.mark.parametrize("answer_format", [None, "inline"])
def test_grammar_accepts_every_gold_answer_and_each_prefix(converted, dataset, answer_format):
    checked = 0
    for line in open(converted / dataset / "test.jsonl", encoding="utf-8"):
        example = in_format(json.loads(line), answer_format)
        answer, gold = example["messages"][-1]["content"], example["gold"]
        if "#" in answer or '"occurrence"' in answer:
            continue  # occurrence markers are not generated under constraint
        grammar = grammar_for(gold["text"], gold.get("tokens"), gold["labels"], gold["answer_format"])
        assert grammar.state(answer) == COMPLETE, example["id"]
        assert all(grammar.state(answer[:i]) is not INVALID for i in range(0, len(answer), 3)), example["id"]
        checked += 1
    assert checked > 1500


@pytest.mark.data
@pytest.mark.parametrize("dataset, answer_format", [("conll2003", None), ("zh_ner", None), ("conll2003", "inline"),
                                                    ("zh_ner", "inline")])
def test_constrained_generation_always_parses_and_grounds(converted, tmp_path, dataset, answer_format):
    """Even an untrained model, whose free outputs are noise, writes only parseable, grounded answers."""
    import torch
    from transformers import AutoModelForCausalLM

    from llmner.core.io import write_jsonl
    from llmner.prediction.predict import generate_answers, training_prompts
    from llmner.training.twin import build_model, build_tokenizer

    data = tmp_path / "examples" / "test.jsonl"
    data.parent.mkdir()
    write_jsonl(data, (in_format(json.loads(line), answer_format)
                       for line in open(converted / dataset / "test.jsonl", encoding="utf-8")))
    examples = read_examples(data, 40)
    tokenizer = build_tokenizer([t.content for e in examples for t in e.messages], "qwen_25", tmp_path, 800)
    build_model("Qwen/Qwen2.5-1.5B-Instruct", tokenizer, tmp_path)
    model = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    tokenizer.padding_side = "left"
    torch.manual_seed(0)
    prompts = training_prompts(tokenizer, examples, "qwen_25")
    free = generate_answers(model, tokenizer, examples, prompts, 8, 24)

    def problems(outputs):
        unparseable = ungrounded = 0
        for example, output in zip(examples, outputs):
            parsed = parse_answer(output, example.gold.answer_format, example.gold.text, example.gold.tokens)
            unparseable += parsed.unparseable
            ungrounded += ground(example.gold.text, parsed.mentions, example.gold.tokens).ungrounded
        return unparseable, ungrounded

    assert problems(free)[0] > 0  # the free model's noise does not parse ...
    for mode in MODES:  # ... under every constraint mode it always does, and always grounds
        assert problems(generate_answers(model, tokenizer, examples, prompts, 8, 24, constrained=mode)) == (0, 0), mode


def test_the_flag_alone_skips_and_a_mode_can_be_named(tmp_path, monkeypatch):
    from llmner.prediction import predict as module

    asked = []
    monkeypatch.setattr(module, "choose_backend", lambda backend, quantization, constrained, ok: asked.append(
        constrained) or (_ for _ in ()).throw(module.DataError("stop", None, "stopped here")))
    data = tmp_path / "ner.jsonl"
    data.write_text(json.dumps({"id": "x/0", "messages": [{"role": "user", "content": "a"}],
                                "gold": {"task": "ner", "text": "a", "entities": [], "labels": ["LOC"]}}) + "\n")
    for args, mode in ((["--constrained"], "skip"), (["--constrained", "force"], "force"), ([], None)):
        llmner("predict", "--model", tmp_path, "--data", data, "--output", tmp_path / "p.jsonl", *args)
        assert asked.pop() == mode


def test_constrained_refuses_vllm_rather_than_dropping_the_constraint(tmp_path):
    data = tmp_path / "ner.jsonl"
    data.write_text(json.dumps({"id": "x/0", "messages": [{"role": "user", "content": "a"}],
                                "gold": {"task": "ner", "text": "a", "entities": [], "labels": ["LOC"]}}) + "\n")
    result = llmner("predict", "--model", tmp_path, "--data", data, "--output", tmp_path / "p.jsonl", "--constrained",
                    "--backend", "vllm")
    assert result.exit_code == 2 and "drop --backend vllm" in result.output


def test_skip_drops_only_what_the_scorer_counts_against_the_answer(tmp_path):
    """On the shipped WNUT-17 sample: gold answers with invented mentions, unknown labels, repeats, out-of-order lines
    and a cut last line. Skipping keeps every true positive and leaves no ungrounded mention."""
    import random

    from llmner.converters.conll import convert_file
    from llmner.core.schemas import Example, NerPrediction
    from llmner.core.tasks import ner_prompt
    from llmner.evaluators.data import Gold
    from llmner.evaluators.score import build_report
    from llmner.prediction.constrained import grammar_of, grounded_lines
    from tests.constants import ROOT

    data = ROOT / "samples" / "wnut17" / "train_sample.conll"
    examples = list(convert_file(data, ner_prompt("wnut17"), "test"))  # as `llmner data convert wnut17` converts it
    rng = random.Random(0)
    noisy = {}
    for example in examples:
        lines = [line for line in example["messages"][-1]["content"].split("\n") if line != "none"]
        words = example["gold"]["text"].split()
        lines += [f"person: Zzyzx{rng.randint(0, 9)}", f"ORG: {rng.choice(words)}", f"location: {words[0][:2]}"]
        lines += lines[:1] * 2
        rng.shuffle(lines)
        noisy[example["id"]] = "\n".join(lines)
    gold = Gold("ner", {e["id"]: e["gold"] for e in examples}, str(data))

    def report(outputs):
        return build_report(gold, {e["id"]: NerPrediction(id=e["id"], output=outputs[e["id"]]) for e in examples},
                            resamples=0).to_json()

    raw = report(noisy)
    skipped = report({e["id"]: grounded_lines(grammar_of(Example.model_validate(e)), noisy[e["id"]]) for e in examples})
    assert raw["ungrounded_mentions"] > 0 and skipped["ungrounded_mentions"] == 0
    assert skipped["entity"]["micro"]["tp"] == raw["entity"]["micro"]["tp"]
    assert skipped["entity"]["micro"]["fp"] < raw["entity"]["micro"]["fp"]


def placed(text: str, tokens: list[str], output: str) -> set:
    """The entities the scorer places for a raw answer (its one grounding, core.spans.ground)."""
    return set(ground(text, parse_answer(output, "lines", text, tokens).mentions, tokens).entities)


@pytest.mark.parametrize("output", [
    "ORG: Paris\nLOC: Paris",                  # a dropped line of an unknown label had moved the scorer's cursor
    "LOC: Paris\nORG: Paris\nLOC: Paris",      # the same between two kept lines
    "LOC#2: Paris\nLOC: Paris",                # out of order: the scorer places it at the first occurrence
    "LOC: Lyon\nLOC#2: Paris\nXYZ: and",       # an ungrounded mention moves nothing
    "LOC: Paris and\nLOC: Paris",              # not on token boundaries
])
def test_skip_keeps_exactly_what_the_scorer_places(output):
    """`skip` grounds with the scorer's own rule: the answer it writes back places, for the scorer, exactly the
    entities of known labels the scorer places in the free answer (a mention that occurs twice in the sentence)."""
    from llmner.prediction.constrained import grounded_lines

    text = "Paris and Paris"
    tokens = text.split()
    kept = grounded_lines(AnswerGrammar(text, tokens, ["LOC"], "lines"), output)
    assert placed(text, tokens, kept) == {e for e in placed(text, tokens, output) if e.label == "LOC"}, kept


# --- inline: the text copied with [mention | TYPE] markup inserted ----------------------------------------------------

INLINE = grammar_for(TEXT, TEXT.split(), ["PER", "LOC", "ORG", "MISC"], "inline")
MARKED = "Only [France | LOC] and [Britain | LOC] backed [Fischler | PER] 's proposal"


@pytest.mark.parametrize("prefix, state", [
    ("", OPEN), ("Onl", OPEN), ("Only ", OPEN), ("[", OPEN), ("[Only", OPEN), ("Only [Fr", OPEN),
    ("Only [France", OPEN), ("Only [France ", OPEN), ("Only [France |", OPEN), ("Only [France | L", OPEN),
    ("Only [France | LOC]", OPEN), ("Only [France and Britain | MISC] b", OPEN),
    (TEXT, COMPLETE), (MARKED, COMPLETE), (MARKED[:-len("proposal")] + "[proposal | MISC]", COMPLETE),
    (MARKED[:-len("proposal")] + "[proposal | MISC", OPEN),    # the text is copied but a bracket is open
    ("Only [France | XYZ]", INVALID), ("Only [France | X", INVALID),  # a label outside the set
    ("Only [Fran ", INVALID), ("Only [Fran |", INVALID),       # a mention must end on a token end
    ("Only F[", INVALID), ("Only [rance", INVALID),            # ... and start on a token start
    ("Only  France", INVALID), ("Only Germany", INVALID),      # whitespace and text exactly as in the text
    ("Only [[France", INVALID), ("Only [France | LOC]]", INVALID), ("Only [ France", INVALID),
    ("Only [France || LOC]", INVALID), ("Only [France| LOC]", INVALID),
    (MARKED + " ", INVALID), (TEXT + ".", INVALID),            # nothing after the whole text
    ("LOC: France", INVALID), ("none", INVALID),               # another format's answer
])
def test_inline_grammar_states(prefix, state):
    assert INLINE.state(prefix) is state or INLINE.state(prefix) == state


def test_inline_grammar_literal_brackets_and_untokenised_text():
    text = "Smith [ 3 ] beat Jones"
    grammar = grammar_for(text, text.split(), ["PER"], "inline")
    assert grammar.state("[Smith | PER] [ 3 ] beat [Jones | PER]") == COMPLETE
    assert grammar.state("[Smith | PER] [") == OPEN  # the text's "[" (or an opening: both are followed)
    assert grammar.state("[Smith | PER] [[ 3 ] | PER] beat Jones") == COMPLETE  # the text's brackets, balanced
    assert grammar.state("[Smith | PER] [[ 3 | PER]") is INVALID  # ... never a mention ending inside them
    assert grammar.state("[Smith | PER] [ 3 ] b[eat") is INVALID  # an opening only at a token start
    chinese = grammar_for("菲律宾总统埃斯特拉达", None, ["GPE", "PER"], "inline")
    assert chinese.state("[菲律宾 | GPE]总统[埃斯特拉达 | PER]") == COMPLETE
    assert chinese.state("[菲律宾 | GPE]总统[埃斯特拉达 | GPE") == OPEN
    assert chinese.state("[菲律宾 | GPE]总理") is INVALID


def test_inline_grammar_answers_the_same_after_any_earlier_question():
    """The walk is cached by shared prefix: asking in any order gives the same states."""
    prefixes = [MARKED[:i] for i in range(len(MARKED) + 1)] + ["Only [Fran |", "Only [France | XYZ]", TEXT]
    fresh = [grammar_for(TEXT, TEXT.split(), ["PER", "LOC"], "inline").state(p) for p in prefixes]
    shared = grammar_for(TEXT, TEXT.split(), ["PER", "LOC"], "inline")
    assert [shared.state(p) for p in reversed(prefixes)] == fresh[::-1]


@pytest.mark.parametrize("output, kept", [
    ("Only [France | LOC] and [Brit", ["France"]), ("Only [France | LOC] and [Britain | LO", ["France"]),
    ("Only [France | LOC] and Bri", ["France"]), ("", []), ("[Only", []), (MARKED, ["France", "Britain", "Fischler"]),
])
def test_an_inline_answer_ended_early_is_completed_as_no_more_entities(output, kept):
    """`end` (and the token limit) may stop an inline answer anywhere: what it bracketed before the stop is kept,
    an unfinished bracket is dropped and the rest of the text copied plain, so the scorer reads exactly that."""
    answer = complete_answer(INLINE, output)
    assert answer.startswith(output.rsplit("[", 1)[0] if output.count("[") > output.count("]") else output)
    assert INLINE.state(answer) == COMPLETE
    parsed = parse_answer(answer, "inline", TEXT, TEXT.split())
    assert not parsed.unparseable and parsed.malformed == 0
    assert [TEXT[e.start:e.end] for e in ground(TEXT, parsed.mentions, TEXT.split()).entities] == kept


@pytest.mark.parametrize("output", [
    "[Paris | ORG] and [Paris | LOC]",           # an unknown label: dropped, the other kept in place
    "Paris and [Paris | LOC]",
    "[Paris | LOC] and [Paris | LOC] and Paris",  # not an exact copy: occurrences counted in the copy
    "[Paris | LOC] or [Paris | LOC]",             # a word changed
    "[Paris | LOC] and [Paris | L",               # cut inside a bracket
    "[Paris and | LOC] Paris",                    # off the token boundaries
    "[Lyon | LOC] and Paris",                     # not text of the input
])
def test_skip_keeps_exactly_what_the_scorer_places_inline(output):
    from llmner.prediction.constrained import grounded_lines

    text = "Paris and Paris"
    tokens = text.split()
    kept = grounded_lines(grammar_for(text, tokens, ["LOC"], "inline"), output)
    assert grammar_for(text, tokens, ["LOC"], "inline").state(kept) == COMPLETE, kept

    def placed(answer):
        return set(ground(text, parse_answer(answer, "inline", text, tokens).mentions, tokens).entities)

    assert placed(kept) == {e for e in placed(output) if e.label == "LOC"}, kept
