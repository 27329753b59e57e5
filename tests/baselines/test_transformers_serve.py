"""The API baseline against an OpenAI-compatible server this project did not write: `transformers serve` on
127.0.0.1, through the real openai client, serving two tiny Qwen2 models built here.

The server renders the prompt with the tokenizer's chat template but parses the model's reply with a response
template it picks by `model_type` (transformers/cli/serving/utils.py, _RESPONSE_TEMPLATE_FALLBACKS): for `qwen2`
it looks for `<|im_start|>assistant\\n`. A Qwen2 model with the ChatML (qwen_25) template is read right; a Qwen2
model with the DeepSeek template (as DeepSeek-R1-Distill-Qwen is) gets the whole rendered prompt back before its
answer, which the baseline must catch as an echo instead of scoring F1 0.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from llmner.converters.classification import classification_example
from tests.cli import llmner

pytestmark = pytest.mark.server  # transformers serve on loopback: about a minute to start on 2 cores

LABELS = ("World", "Sports", "Business", "Sci/Tech")
TEXTS = ("Stocks rose today in Tokyo after the bank's report", "The team won the cup in the last minute",
         "A new chip doubles the speed of phones")
START_TIMEOUT_S = 240


def tiny_model(out_dir, template: str) -> str:
    """A 2-layer Qwen2 with the template's tokenizer. The embeddings of special and whitespace tokens are zeroed
    (tied to the output layer, so their logits are 0 while some other token's is positive): greedy decoding writes
    visible text and never stops early, so every answer is a non-empty string."""
    import torch
    from transformers import AutoModelForCausalLM

    from llmner.prediction.predict import use_chat_template
    from llmner.training.twin import build_model, build_tokenizer

    texts = [turn["content"] for text in TEXTS
             for turn in classification_example("x", text, "World", LABELS)["messages"]]
    tokenizer = build_tokenizer(texts * 4, template, out_dir, vocab_size=400)
    use_chat_template(tokenizer, template)
    tokenizer.save_pretrained(out_dir)
    build_model("Qwen/Qwen2.5-0.5B-Instruct", tokenizer, out_dir, hidden=64)
    model = AutoModelForCausalLM.from_pretrained(out_dir)
    with torch.no_grad():
        blank = [i for i in range(len(tokenizer)) if not tokenizer.decode([i]).strip()]
        model.get_input_embeddings().weight[tokenizer.all_special_ids + blank] = 0.0
    model.save_pretrained(out_dir)
    return str(out_dir)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from transformers.utils.import_utils import is_serve_available

    if not is_serve_available():
        pytest.skip("transformers serve needs fastapi, uvicorn, pydantic and openai "
                    "(pip install transformers[serving])")
    port, log_path = free_port(), tmp_path_factory.mktemp("serve") / "serve.log"
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "transformers.cli.transformers", "serve", "--host",
                                    "127.0.0.1", "--port", str(port), "--device", "cpu"],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S  # bounded: polls /health until then
        while time.monotonic() < deadline and process.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).close()
                break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail(f"transformers serve did not start:\n{log_path.read_text()[-3000:]}")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()  # by its own PID
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "examples.jsonl"
    path.write_text("".join(json.dumps(classification_example(f"t/{i}", text, "World", LABELS)) + "\n"
                            for i, text in enumerate(TEXTS)))
    return path


def run_cli(url, examples, output, model):
    # Generous per-request timeout: the first request loads the model; no retries, so a count is a request.
    return llmner("baseline", "api", "run", "--data", examples, "--output", output, "--model", model, "--base-url", url,
                  "--max-new-tokens", "6", "--concurrency", "2", "--max-retries", "0", "--timeout", "180")


def summary(result) -> dict:
    return json.loads(result.output.strip().splitlines()[-1])


def test_a_model_whose_template_the_server_reads_is_answered_and_cached(server, examples, tmp_path):
    model = tiny_model(tmp_path / "qwen_25", "qwen_25")
    output = tmp_path / "p.jsonl"
    first = run_cli(server, examples, output, model)
    assert first.exit_code == 0, first.output
    assert summary(first) | {"prompt_tokens": 0} == {
        "examples": 3, "predictions": 3, "cached": 0, "asked": 3, "answered": 3, "failed": 0, "malformed": 0,
        "echoed": 0, "prompt_tokens": 0, "completion_tokens": 18}
    answers = [json.loads(line)["output"] for line in output.read_text().splitlines()]
    assert all(answers) and not any("classifier" in answer for answer in answers)
    second = run_cli(server, examples, output, model)
    assert second.exit_code == 0 and summary(second)["cached"] == 3 and summary(second)["asked"] == 0


def test_a_model_whose_template_the_server_misreads_is_caught_as_an_echo(server, examples, tmp_path):
    model = tiny_model(tmp_path / "deepseek_v3", "deepseek_v3")
    output = tmp_path / "p.jsonl"
    result = run_cli(server, examples, output, model)
    assert result.exit_code == 1, result.output
    stats = summary(result)
    assert stats["echoed"] == 3 and stats["failed"] == 3 and stats["predictions"] == 0
    assert "warning: t/" in result.output and "repeats the prompt's system turn" in result.output
    assert output.read_text() == ""
