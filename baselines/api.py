"""Prompting a chat API (any OpenAI-compatible endpoint: OpenAI, DeepSeek, vLLM, ...) with the converters' prompts.

    python -m baselines api run --data data/zh_news/test_5shot.jsonl --output preds.jsonl \
        --base-url https://api.deepseek.com --model deepseek-chat --confidence
    python -m evaluators score --gold data/zh_news/test_5shot.jsonl --pred preds.jsonl --reliability-png rel.png

Zero-, one- or few-shot is the examples file's own prompt (`python -m converters classification --shots N ...`).
With `--confidence` (classification), the model also states how sure it is, as the seeds did: it answers
`{"label": ..., "confidence": 0.0-1.0}`; an answer that is not such JSON is kept as raw output, which the evaluator
reads as a plain label or counts as invalid. Requests run concurrently up to a bound; the openai client retries rate
limits, server errors and timeouts with exponential back-off (a response that is not even JSON is counted as
failed for this run); every finished answer is appended to an on-disk cache
at once, so a rerun (after a crash, or with more examples) never pays twice for the same prompt. A request that still
fails is left out of the predictions (the evaluator counts it as missing) and retried on the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import click

from core.io import exits_on_data_error, read_records, write_jsonl
from core.tasks import prompt_turns

CONFIDENCE_INSTRUCTION = ('\nAnswer with JSON only: {"label": "<one of the topics>", "confidence": <your probability '
                          'that the label is right, from 0 to 1>}.')


def request_messages(example: dict, confidence: bool) -> list[dict]:
    turns = [dict(turn) for turn in prompt_turns(example["messages"])]
    if confidence:
        turns[0]["content"] += CONFIDENCE_INSTRUCTION
    return turns


def cache_key(model: str, messages: list[dict], temperature: float) -> str:
    payload = json.dumps({"model": model, "messages": messages, "temperature": temperature}, ensure_ascii=False,
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


class AnswerCache:
    """Append-only JSONL of finished answers; safe to share between threads; a torn last line is ignored."""

    def __init__(self, path: Path):
        self.path, self.lock, self.answers = path, threading.Lock(), {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                    self.answers[record["key"]] = record
                except (ValueError, KeyError):
                    continue  # a line cut by a crash: that answer is simply asked again
        path.parent.mkdir(parents=True, exist_ok=True)

    def add(self, key: str, text: str, usage: dict) -> None:
        record = {"key": key, "text": text, "usage": usage}
        with self.lock:
            self.answers[key] = record
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def parse_confidence(text: str, labels: list[str]) -> dict | None:
    """{"label", "confidence"} from a JSON answer, or None when the answer is not that."""
    start, end = text.find("{"), text.rfind("}")
    try:
        answer = json.loads(text[start:end + 1]) if start >= 0 else None
        label, confidence = answer["label"], float(answer["confidence"])
    except (ValueError, KeyError, TypeError):
        return None
    if label not in labels or not 0.0 <= confidence <= 1.0:
        return None
    return {"label": label, "confidence": confidence}


def prediction(example: dict, text: str, confidence: bool) -> dict:
    gold = example["gold"]
    if confidence and gold["task"] == "classification":
        parsed = parse_confidence(text, gold["labels"])
        if parsed:
            return {"id": example["id"], **parsed}
    return {"id": example["id"], "output": text}


def ask(client, model: str, messages: list[dict], temperature: float, max_tokens: int) -> tuple[str, dict]:
    response = client.chat.completions.create(model=model, messages=messages, temperature=temperature,
                                              max_tokens=max_tokens)
    usage = response.usage
    return (response.choices[0].message.content or "",
            {"prompt_tokens": getattr(usage, "prompt_tokens", 0), "completion_tokens": getattr(usage, "completion_tokens", 0)})


def run_examples(client, examples: list[dict], model: str, cache: AnswerCache, confidence: bool = False,
                 concurrency: int = 8, temperature: float = 0.0, max_tokens: int = 256) -> dict:
    """Ask for every example not yet in the cache; returns counts and token usage of this run."""
    import openai
    from tqdm import tqdm

    pending = {}
    for example in examples:
        messages = request_messages(example, confidence)
        key = cache_key(model, messages, temperature)
        if key not in cache.answers:
            pending[key] = messages
    stats = {"cached": len(examples) - len(pending), "asked": len(pending), "failed": 0, "prompt_tokens": 0,
             "completion_tokens": 0}
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = {pool.submit(ask, client, model, messages, temperature, max_tokens): key
                   for key, messages in pending.items()}
        for future in tqdm(as_completed(futures), total=len(futures), desc="asking", unit="request"):
            try:
                text, usage = future.result()
            # Retries exhausted, or a body that is not JSON (the client neither wraps nor retries that): counted,
            # and asked again on the next run.
            except (openai.OpenAIError, ValueError):
                stats["failed"] += 1
                continue
            cache.add(futures[future], text, usage)
            stats["prompt_tokens"] += usage["prompt_tokens"]
            stats["completion_tokens"] += usage["completion_tokens"]
    return stats


def collect_predictions(examples: list[dict], model: str, cache: AnswerCache, confidence: bool,
                        temperature: float = 0.0) -> list[dict]:
    out = []
    for example in examples:
        record = cache.answers.get(cache_key(model, request_messages(example, confidence), temperature))
        if record is not None:
            out.append(prediction(example, record["text"], confidence))
    return out


@click.group()
def main():
    """Chat-API prompting baseline."""


@main.command()
@click.option("--data", required=True, help="Examples JSONL (its prompts are sent as they are).")
@click.option("--output", required=True, help="Predictions JSONL.")
@click.option("--model", required=True, help="Model name at the endpoint.")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint (default: OpenAI's).")
@click.option("--api-key-env", default="OPENAI_API_KEY", show_default=True, help="Environment variable with the key.")
@click.option("--confidence", is_flag=True, help="Classification: ask for a label and a stated confidence.")
@click.option("--concurrency", default=8, show_default=True, help="Requests in flight at most.")
@click.option("--max-retries", default=5, show_default=True, help="Retries per request (exponential back-off).")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds per request attempt.")
@click.option("--max-tokens", default=256, show_default=True)
@click.option("--cache", "cache_path", default=None, help="Answer cache (default: OUTPUT.cache.jsonl).")
@click.option("--limit", type=int, default=None)
@exits_on_data_error
def run(data, output, model, base_url, api_key_env, confidence, concurrency, max_retries, timeout, max_tokens,
        cache_path, limit):
    """Send every example's prompt to the endpoint and write predictions."""
    import openai

    examples = read_records(data, limit)
    client = openai.OpenAI(base_url=base_url, api_key=os.environ.get(api_key_env, "not-needed"),
                           max_retries=max_retries, timeout=timeout)
    cache = AnswerCache(Path(cache_path or f"{output}.cache.jsonl"))
    stats = run_examples(client, examples, model, cache, confidence, concurrency, max_tokens=max_tokens)
    count = write_jsonl(output, collect_predictions(examples, model, cache, confidence))
    click.echo(json.dumps({"predictions": count, "examples": len(examples), **stats}), err=True)


if __name__ == "__main__":
    main()
