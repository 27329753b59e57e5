"""Ctrl-C in the middle of a paid run, measured: `llmner baseline api run` as a subprocess against a slow
loopback endpoint, interrupted with SIGINT once some answers are cached, then rerun to the end. The endpoint counts
the requests per prompt: none is paid twice but those that failed the first time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llmner.converters.classification import classification_example
from tests.constants import ROOT
from tests.openai_standin import Standin

LABELS = ("World", "Sports", "Business", "Sci/Tech")
PROMPTS, CONCURRENCY, DELAY_S, INTERRUPT_AFTER = 60, 4, 0.2, 8
GRACE_S = 5.0  # baselines.api.IN_FLIGHT_GRACE_S (not imported: the test must also run against the old code)


def answer(messages):
    return json.dumps({"label": "World", "confidence": 0.5})


def texts() -> list[str]:
    # two prompts near the start fail once (a 500 after retries, an empty 200): the only ones a rerun may ask again
    faults = {1: "fail first", 3: "empty choices first"}
    return [f"prompt {i}: " + faults.get(i, "an ordinary news text") for i in range(PROMPTS)]


def start(data: Path, output: Path, url: str, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "llmner", "baseline", "api", "run", "--data", str(data), "--output", str(output),
               "--model", "m", "--base-url", url, "--concurrency", str(CONCURRENCY), "--max-retries", "0",
               "--timeout", "5"]
    env = dict(os.environ, OPENAI_API_KEY="test-key")
    with open(log, "w") as handle:
        # A shell runs its background jobs with SIGINT ignored, and the child would inherit that (a CI started with
        # `&` did): give it the default disposition, so that Python installs its KeyboardInterrupt handler.
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def cached_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.server  # the OpenAI stand-in; two interpreters importing openai: ~18 s on 2 busy cores
def test_ctrl_c_cancels_queued_requests_and_the_rerun_pays_for_nothing_twice(tmp_path):
    data = tmp_path / "examples.jsonl"
    data.write_text("".join(json.dumps(classification_example(f"x/{i}", text, "World", LABELS)) + "\n"
                            for i, text in enumerate(texts())))
    output, cache = tmp_path / "p.jsonl", tmp_path / "p.jsonl.cache.jsonl"
    with Standin(answer, delay=DELAY_S) as server:
        run = start(data, output, server.url, tmp_path / "first.log")
        try:
            deadline = time.monotonic() + 60  # bounded: the interpreter and openai import, then a few answers
            while cached_lines(cache) < INTERRUPT_AFTER and run.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert run.poll() is None, (tmp_path / "first.log").read_text()
            run.send_signal(signal.SIGINT)
            sent = time.monotonic()
            status = run.wait(timeout=30)
            stopped_s = time.monotonic() - sent
        finally:
            run.kill()  # by its own handle; a no-op once it has ended
        first_hits, first_faulted = sum(server.hits.values()), set(server.faulted)
        first_answers = sum(server.answered.values())
        kept = cached_lines(cache)

        rerun = start(data, output, server.url, tmp_path / "second.log")
        try:
            rerun_status = rerun.wait(timeout=120)
        finally:
            rerun.kill()
        hits = dict(server.hits)
    print(f"\n{PROMPTS} prompts, concurrency {CONCURRENCY}, {DELAY_S} s per request: SIGINT after {INTERRUPT_AFTER} "
          f"cached answers; stopped in {stopped_s:.2f} s with status {status}; the endpoint had seen {first_hits} "
          f"requests and given {first_answers} answers, {kept} of them cached; the rerun sent "
          f"{sum(hits.values()) - first_hits}; prompts asked twice: {sum(1 for n in hits.values() if n > 1)} "
          f"({len(first_faulted)} had failed)")
    assert status == 130 and stopped_s < GRACE_S + 2, (tmp_path / "first.log").read_text()
    assert first_hits < PROMPTS / 2  # the queued requests were dropped, not sent
    assert kept == first_answers  # every answer that arrived was kept
    assert rerun_status == 0, (tmp_path / "second.log").read_text()
    assert set(hits) == set(texts())
    assert {text: count for text, count in hits.items() if count != 1} == {text: 2 for text in first_faulted}
    assert len(output.read_text().splitlines()) == PROMPTS
