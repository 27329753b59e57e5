"""The API baseline against a real HTTP server on loopback speaking the chat-completions protocol, through the real
openai client: errors, rate limits and timeouts are retried or counted, finished answers are never lost or paid twice."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from baselines import api
from converters.classification import classification_example
from evaluators.cli import main as evaluators_main

LABELS = ("World", "Sports", "Business", "Sci/Tech")
TEXTS = {"normal one": "Sports", "normal two": "Business", "fail first": "World", "rate limited": "Sci/Tech",
         "slow first": "World", "malformed first": "Sports", "not an answer": "Business", "always fails": "World"}


class Endpoint(BaseHTTPRequestHandler):
    hits: Counter = Counter()
    lock = threading.Lock()

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = request["messages"][-1]["content"]
        with self.lock:
            Endpoint.hits[text] += 1
            hit = Endpoint.hits[text]
        if text == "always fails" or (text == "fail first" and hit == 1):
            return self.reply(500, {"error": {"message": "boom", "type": "server_error"}})
        if text == "rate limited" and hit == 1:
            return self.reply(429, {"error": {"message": "slow down", "type": "rate_limit"}}, {"retry-after": "0"})
        if text == "slow first" and hit == 1:
            time.sleep(1.5)  # longer than the client's timeout
        if text == "malformed first" and hit == 1:
            return self.reply(200, None, raw=b"{this is not json")
        if "named-entity" in request["messages"][0]["content"]:  # prompted NER: an answer in the lines format
            content = "PER: Peter Blackburn\nLOC: Atlantis"
        else:
            content = "I am not sure." if text == "not an answer" else json.dumps(
                {"label": TEXTS.get(text, "World"), "confidence": 0.75})
        self.reply(200, {"id": "x", "object": "chat.completion", "created": 0, "model": request["model"],
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": content}}],
                         "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})

    def reply(self, status, body, headers=None, raw=None):
        payload = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture()
def endpoint():
    Endpoint.hits = Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


@pytest.fixture()
def examples(tmp_path):
    records = [classification_example(f"ag_news/test/{i}", text, label, LABELS)
               for i, (text, label) in enumerate(TEXTS.items())]
    path = tmp_path / "examples.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def run_cli(endpoint, examples, output, *extra):
    return CliRunner().invoke(api.main, ["run", "--data", str(examples), "--output", str(output), "--model", "m",
                                         "--base-url", endpoint, "--confidence", "--max-retries", "2", "--timeout",
                                         "1", "--concurrency", "4", *extra], env={"OPENAI_API_KEY": "test-key"})


def test_errors_are_retried_or_counted_and_nothing_is_lost(endpoint, examples, tmp_path):
    output = tmp_path / "predictions.jsonl"
    result = run_cli(endpoint, examples, output)
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output.strip().splitlines()[-1])
    assert stats["asked"] == 8 and stats["failed"] == 2 and stats["predictions"] == 6
    assert stats["prompt_tokens"] == 60 and stats["completion_tokens"] == 30  # the six answered requests
    predictions = {p["id"]: p for p in map(json.loads, output.read_text().splitlines())}
    assert predictions["ag_news/test/0"] == {"id": "ag_news/test/0", "label": "Sports", "confidence": 0.75}
    for index in (2, 3, 4):  # 500, 429 and timeout: each retried by the client to an answer
        assert "label" in predictions[f"ag_news/test/{index}"]
    assert "ag_news/test/5" not in predictions  # a body that is not JSON: counted as failed, asked next run
    assert predictions["ag_news/test/6"]["output"] == "I am not sure."  # kept raw: the evaluator counts it invalid
    assert "ag_news/test/7" not in predictions  # retries exhausted: left out, counted as missing
    assert Endpoint.hits["always fails"] == 3  # one try and two retries
    scored = CliRunner().invoke(evaluators_main, ["score", "--gold", str(examples), "--pred", str(output), "--json",
                                                  str(tmp_path / "report.json")])
    report = json.loads((tmp_path / "report.json").read_text())
    assert scored.exit_code == 0 and report["missing_predictions"] == 2 and report["invalid"] == 3
    assert report["calibration"]["examples"] == 5 and "ece" in report


def test_a_rerun_never_pays_twice(endpoint, examples, tmp_path):
    output = tmp_path / "predictions.jsonl"
    run_cli(endpoint, examples, output)
    before = Counter(Endpoint.hits)
    result = run_cli(endpoint, examples, output)
    stats = json.loads(result.output.strip().splitlines()[-1])
    assert stats["cached"] == 6 and stats["asked"] == 2  # only the two that failed are asked again
    assert Counter(Endpoint.hits) - before == Counter({"always fails": 3, "malformed first": 1})
    assert stats["predictions"] == 7


def test_a_torn_cache_line_is_asked_again(endpoint, examples, tmp_path):
    output = tmp_path / "predictions.jsonl"
    run_cli(endpoint, examples, output)
    cache = tmp_path / "predictions.jsonl.cache.jsonl"
    cache.write_text(cache.read_text() + '{"key": "abc", "te')  # a crash mid-write
    result = run_cli(endpoint, examples, output)
    assert result.exit_code == 0 and json.loads(result.output.strip().splitlines()[-1])["cached"] == 6


def test_confidence_answers_are_parsed_strictly():
    assert api.parse_confidence('{"label": "Sports", "confidence": 0.9}', list(LABELS)) == {"label": "Sports",
                                                                                           "confidence": 0.9}
    assert api.parse_confidence('Sure! {"label": "Sports", "confidence": 1.5}', list(LABELS)) is None
    assert api.parse_confidence('{"label": "sport", "confidence": 0.9}', list(LABELS)) is None
    assert api.parse_confidence("Sports", list(LABELS)) is None


def test_prompted_ner_is_parsed_and_grounded_by_the_evaluator(endpoint, tmp_path):
    from core.examples import ner_example
    from core.spans import Entity
    from core.tasks import ner_prompt

    text = "Peter Blackburn visited Brussels"
    example = ner_example("conll2003/test/0", text, [Entity(0, 15, "PER"), Entity(24, 32, "LOC")],
                          ner_prompt("conll2003"), text.split())
    data = tmp_path / "ner.jsonl"
    data.write_text(json.dumps(example) + "\n")
    output = tmp_path / "p.jsonl"
    result = CliRunner().invoke(api.main, ["run", "--data", str(data), "--output", str(output), "--model", "m",
                                           "--base-url", endpoint], env={"OPENAI_API_KEY": "k"})
    assert result.exit_code == 0, result.output
    CliRunner().invoke(evaluators_main, ["score", "--gold", str(data), "--pred", str(output), "--json",
                                         str(tmp_path / "r.json")])
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["entity"]["micro"]["tp"] == 1 and report["ungrounded_mentions"] == 1  # Atlantis is not in the text
