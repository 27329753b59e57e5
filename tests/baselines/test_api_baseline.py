"""The API baseline against a real HTTP server on loopback speaking the chat-completions protocol, through the real
openai client: errors, rate limits and timeouts are retried or counted, finished answers are never lost or paid
twice."""

from __future__ import annotations

import json
import threading
from collections import Counter

import pytest

from llmner.baselines import api
from llmner.converters.classification import classification_example
from tests.baselines.scoring import report_of
from tests.cli import llmner
from tests.openai_standin import Standin

LABELS = ("World", "Sports", "Business", "Sci/Tech")
TEXTS = {"normal one": "Sports", "normal two": "Business", "fail first": "World", "rate limited first": "Sci/Tech",
         "slow first": "World", "malformed first": "Sports", "not an answer": "Business", "always fails": "World"}


def answer(messages: list[dict]) -> str:
    text = messages[-1]["content"]
    if "named-entity" in messages[0]["content"]:  # prompted NER: an answer in the lines format
        return "PER: Peter Blackburn\nLOC: Atlantis"
    if text == "not an answer":
        return "I am not sure."
    return json.dumps({"label": TEXTS.get(text, "World"), "confidence": 0.75})


@pytest.fixture()
def standin():
    with Standin(answer) as server:
        yield server


@pytest.fixture()
def endpoint(standin):
    return standin.url


@pytest.fixture()
def examples(tmp_path):
    records = [classification_example(f"ag_news/test/{i}", text, label, LABELS)
               for i, (text, label) in enumerate(TEXTS.items())]
    path = tmp_path / "examples.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def run_cli(endpoint, examples, output, *extra):
    return llmner("baseline", "api", "run", "--data", examples, "--output", output, "--model", "m", "--base-url",
                  endpoint, "--confidence", "--max-retries", "2", "--timeout", "1", "--concurrency", "4", *extra)


def summary(result) -> dict:
    return json.loads(result.output.strip().splitlines()[-1])


@pytest.mark.server  # the OpenAI stand-in on loopback
def test_errors_are_retried_or_counted_and_nothing_is_lost(standin, examples, tmp_path):
    output = tmp_path / "predictions.jsonl"
    result = run_cli(standin.url, examples, output)
    assert result.exit_code == 1, result.output  # two examples failed: not a success
    stats = summary(result)
    assert stats["asked"] == 8 and stats["answered"] == 6 and stats["failed"] == 2 and stats["predictions"] == 6
    assert stats["malformed"] == 1 and stats["echoed"] == 0
    assert stats["prompt_tokens"] == 60 and stats["completion_tokens"] == 30  # the six answered requests
    predictions = {p["id"]: p for p in map(json.loads, output.read_text().splitlines())}
    assert predictions["ag_news/test/0"] == {"id": "ag_news/test/0", "label": "Sports", "confidence": 0.75}
    for index in (2, 3, 4):  # 500, 429 and timeout: each retried by the client to an answer
        assert "label" in predictions[f"ag_news/test/{index}"]
    assert "ag_news/test/5" not in predictions  # a body that is not JSON: counted as failed, asked next run
    assert predictions["ag_news/test/6"]["output"] == "I am not sure."  # kept raw: the evaluator counts it invalid
    assert "ag_news/test/7" not in predictions  # retries exhausted: left out, counted as missing
    assert standin.hits["always fails"] == 3  # one try and two retries
    report = report_of(examples, output)
    assert report["missing_predictions"] == 2 and report["invalid"] == 1
    assert report["calibration"]["examples"] == 5 and "ece" in report


@pytest.mark.server  # the OpenAI stand-in on loopback
def test_failures_exit_non_zero_unless_allowed(standin, examples, tmp_path):
    allowed = run_cli(standin.url, examples, tmp_path / "p.jsonl", "--allow-failures")
    assert allowed.exit_code == 0 and summary(allowed)["failed"] == 2


@pytest.mark.server  # the OpenAI stand-in on loopback
def test_a_run_where_every_request_fails_never_succeeds(standin, tmp_path):
    data = tmp_path / "failing.jsonl"
    data.write_text("".join(json.dumps(classification_example(f"x/{i}", f"always fails {i}", "World", LABELS)) + "\n"
                            for i in range(3)))
    output = tmp_path / "p.jsonl"
    result = run_cli(standin.url, data, output, "--allow-failures")
    assert result.exit_code == 1 and summary(result)["predictions"] == 0 and summary(result)["failed"] == 3


@pytest.mark.server  # the OpenAI stand-in on loopback
def test_a_rerun_never_pays_twice(standin, examples, tmp_path):
    output = tmp_path / "predictions.jsonl"
    run_cli(standin.url, examples, output)
    before = Counter(standin.hits)
    result = run_cli(standin.url, examples, output)
    stats = summary(result)
    assert stats["cached"] == 6 and stats["asked"] == 2  # only the two that failed are asked again
    assert Counter(standin.hits) - before == Counter({"always fails": 3, "malformed first": 1})
    assert stats["predictions"] == 7


@pytest.mark.server  # the OpenAI stand-in on loopback
def test_a_torn_cache_line_is_cut_before_appending(standin, examples, tmp_path):
    output = tmp_path / "predictions.jsonl"
    run_cli(standin.url, examples, output)
    cache = tmp_path / "predictions.jsonl.cache.jsonl"
    cache.write_text(cache.read_text() + '{"key": "abc", "te')  # a crash mid-write
    result = run_cli(standin.url, examples, output)
    assert summary(result)["cached"] == 6 and summary(result)["answered"] == 1  # "malformed first" answered now
    assert "predictions.jsonl.cache.jsonl:7: the last line was cut" in result.output
    assert all(json.loads(line)["key"] for line in cache.read_text().splitlines())  # the new answer is readable
    before = Counter(standin.hits)
    third = run_cli(standin.url, examples, output)
    assert summary(third)["cached"] == 7 and Counter(standin.hits) - before == Counter({"always fails": 3})


@pytest.mark.server  # the OpenAI stand-in on loopback
def test_a_cache_line_broken_in_the_middle_is_bad_input(standin, examples, tmp_path):
    output = tmp_path / "predictions.jsonl"
    run_cli(standin.url, examples, output)
    cache = tmp_path / "predictions.jsonl.cache.jsonl"
    lines = cache.read_text().splitlines(keepends=True)
    cache.write_text("".join(lines[:2] + ["garbage\n"] + lines[2:]))
    before = sum(standin.hits.values())
    result = run_cli(standin.url, examples, output)
    assert result.exit_code == 2 and result.output.strip().splitlines()[-1].startswith(f"error: {cache}:3: expected")
    assert sum(standin.hits.values()) == before


def test_every_answer_is_synced_to_disk_by_the_thread_that_received_it(monkeypatch, tmp_path):
    synced = []
    monkeypatch.setattr(api.os, "fsync", lambda fd: synced.append(threading.current_thread().name))
    cache = api.AnswerCache(tmp_path / "c.jsonl")
    thread = threading.Thread(target=cache.add, args=("k", "an answer", {}), name="request-thread")
    thread.start()
    thread.join()
    assert synced == ["request-thread"]
    assert api.AnswerCache(tmp_path / "c.jsonl").answers["k"]["text"] == "an answer"


MALFORMED = ("empty choices first", "null content first", "missing fields first", "list body first",
             "malformed first")


@pytest.mark.server  # the OpenAI stand-in on loopback
def test_a_malformed_response_is_a_failure_asked_again_next_run(standin, tmp_path):
    data = tmp_path / "malformed.jsonl"
    data.write_text("".join(json.dumps(classification_example(f"x/{i}", text, "World", LABELS)) + "\n"
                            for i, text in enumerate(("normal one", *MALFORMED))))
    output = tmp_path / "p.jsonl"
    first = run_cli(standin.url, data, output)
    assert first.exit_code == 1 and "Traceback" not in first.output, first.output
    assert summary(first) | {"prompt_tokens": 0, "completion_tokens": 0} == {
        "examples": 6, "predictions": 1, "cached": 0, "asked": 6, "answered": 1, "failed": 5, "malformed": 5,
        "echoed": 0, "prompt_tokens": 0, "completion_tokens": 0}
    assert first.output.count("warning:") == 1  # one example of the kind, not one line per request
    second = run_cli(standin.url, data, output)
    assert second.exit_code == 0 and summary(second)["answered"] == 5 and summary(second)["cached"] == 1
    assert all(standin.hits[text] == 2 for text in MALFORMED) and standin.hits["normal one"] == 1


@pytest.mark.server  # the OpenAI stand-in on loopback
def test_an_answer_repeating_the_prompt_is_caught(standin, tmp_path):
    data = tmp_path / "echo.jsonl"
    data.write_text("".join(json.dumps(classification_example(f"x/{i}", text, "World", LABELS)) + "\n"
                            for i, text in enumerate(("normal one", "please echo this text back"))))
    output = tmp_path / "p.jsonl"
    result = run_cli(standin.url, data, output)
    assert result.exit_code == 1 and summary(result)["echoed"] == 1 and summary(result)["failed"] == 1
    assert "warning: x/1: the answer repeats the prompt's system turn" in result.output
    assert [json.loads(line)["id"] for line in output.read_text().splitlines()] == ["x/0"]
    assert run_cli(standin.url, data, output, "--allow-failures").exit_code == 0


def test_echo_detection_ignores_short_turns_and_whitespace():
    messages = [{"role": "system", "content": "You are a named-entity recogniser.  Entity types: PER."},
                {"role": "user", "content": "Germany"}]
    assert api.echoed_role(messages, "LOC: Germany") is None  # a one-word text is a fair answer
    assert api.echoed_role(messages, "system You are a named-entity recogniser. Entity types: PER.\nLOC") == "system"


@pytest.mark.server  # the OpenAI stand-in on loopback
def test_a_fatal_error_stops_the_run_at_once(standin, tmp_path):
    data = tmp_path / "bad_key.jsonl"
    data.write_text("".join(json.dumps(classification_example(f"x/{i}", f"bad key {i}", "World", LABELS)) + "\n"
                            for i in range(40)))
    result = run_cli(standin.url, data, tmp_path / "p.jsonl")
    assert result.exit_code == 1 and "invalid api key" in result.output.strip().splitlines()[-1]
    assert sum(standin.hits.values()) < 8  # the four in flight and a few taken meanwhile, not the 40 queued
    assert not (tmp_path / "p.jsonl").exists()


@pytest.mark.parametrize("record, expected", [
    ({"id": "x/1"}, ":2: expected an example (shared/CONTRACT.md section 1): messages: Field required"),
    ({"id": "x/1", "messages": [{"role": "system", "content": "s"}]}, ":2: expected an example"),
    ({"id": "x/1", "messages": "hello"}, ":2: expected an example"),
    ({"messages": [{"role": "user", "content": "t"}]}, ":2: expected an example"),
])
@pytest.mark.server  # the OpenAI stand-in on loopback
def test_bad_records_are_found_before_any_request(standin, examples, tmp_path, record, expected):
    data = tmp_path / "bad.jsonl"
    data.write_text(examples.read_text().splitlines()[0] + "\n" + json.dumps(record) + "\n")
    result = run_cli(standin.url, data, tmp_path / "p.jsonl")
    assert result.exit_code == 2 and result.output.strip().splitlines() == [
        result.output.strip().splitlines()[0]] and result.output.startswith(f"error: {data}{expected}")
    assert sum(standin.hits.values()) == 0


@pytest.mark.server  # the OpenAI stand-in on loopback
def test_confidence_needs_classification_records(standin, tmp_path):
    data = tmp_path / "ner.jsonl"
    data.write_text(json.dumps({"id": "n/0", "messages": [{"role": "user", "content": "t"}],
                                "gold": {"task": "ner", "text": "t", "entities": []}}) + "\n")
    result = run_cli(standin.url, data, tmp_path / "p.jsonl")
    assert result.exit_code == 2 and "--confidence" in result.output and sum(standin.hits.values()) == 0


@pytest.mark.server  # the OpenAI stand-in on loopback
def test_bad_paths_and_options_are_found_before_any_request(standin, examples, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    for output, extra, expected in [(tmp_path / "p.jsonl", ["--concurrency", "0"], "Invalid value for '--concurrency'"),
                                    (blocker / "p.jsonl", [],
                                     f"error: {blocker / 'p.jsonl'}: expected a folder on the way, "
                                     f"not the file {blocker}"),
                                    (tmp_path, [], f"error: {tmp_path}: expected a file to write, not a folder")]:
        result = run_cli(standin.url, examples, output, *extra)
        assert result.exit_code == 2 and expected in result.output, result.output
    folder = llmner("baseline", "api", "run", "--data", tmp_path, "--output", tmp_path / "p.jsonl", "--model", "m",
                    "--base-url", standin.url)
    assert folder.exit_code == 2
    assert folder.output == f"error: {tmp_path}: expected a file, not a folder (Is a directory)\n"
    assert sum(standin.hits.values()) == 0


def test_confidence_answers_are_parsed_strictly():
    assert api.parse_confidence('{"label": "Sports", "confidence": 0.9}', list(LABELS)) == {"label": "Sports",
                                                                                           "confidence": 0.9}
    assert api.parse_confidence('Sure! {"label": "Sports", "confidence": 1.5}', list(LABELS)) is None
    assert api.parse_confidence('{"label": "sport", "confidence": 0.9}', list(LABELS)) is None
    assert api.parse_confidence("Sports", list(LABELS)) is None


@pytest.mark.server  # the OpenAI stand-in on loopback
def test_prompted_ner_is_parsed_and_grounded_by_the_evaluator(endpoint, tmp_path):
    from llmner.core.examples import ner_example
    from llmner.core.spans import Entity
    from llmner.core.tasks import ner_prompt

    text = "Peter Blackburn visited Brussels"
    example = ner_example("conll2003/test/0", text, [Entity(0, 15, "PER"), Entity(24, 32, "LOC")],
                          ner_prompt("conll2003"), text.split())
    data = tmp_path / "ner.jsonl"
    data.write_text(json.dumps(example) + "\n")
    output = tmp_path / "p.jsonl"
    result = llmner("baseline", "api", "run", "--data", data, "--output", output, "--model", "m", "--base-url",
                    endpoint)
    assert result.exit_code == 0, result.output
    report = report_of(data, output)
    assert report["entity"]["micro"]["tp"] == 1 and report["ungrounded_mentions"] == 1  # Atlantis is not in the text
