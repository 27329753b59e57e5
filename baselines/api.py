"""Prompting a chat API (any OpenAI-compatible endpoint: OpenAI, DeepSeek, vLLM, ...) with the converters' prompts.

    llmner baseline api run --data data/zh_news/test_5shot.jsonl --output preds.jsonl \
        --base-url https://api.deepseek.com --model deepseek-chat --confidence
    llmner score --data data/zh_news/test_5shot.jsonl --pred preds.jsonl --reliability-png rel.png

Zero-, one- or few-shot is the examples file's own prompt (`llmner data convert zh_news --shots N --shot-pool FILE`).
With `--confidence` (classification), the model also states how sure it is, as the seeds did: it answers
`{"label": ..., "confidence": 0.0-1.0}`; an answer that is not such JSON is kept as raw output, which the evaluator
reads as a plain label or counts as invalid.

Money is spent only on prompts not yet answered, and every answer is kept:
- the records and the output folder are checked before the first request (bad input: one line, exit status 2);
- requests run concurrently up to a bound; the openai client retries rate limits, server errors and timeouts with
  exponential back-off;
- the worker that receives an answer appends it to an on-disk cache at once (one JSON line, flushed and synced), so
  a rerun (after a crash, Ctrl-C, or with more examples) never pays twice for the same prompt; a line torn by a crash
  is cut off, with a warning, before anything is appended;
- Ctrl-C, or an error no retry can cure (a rejected key, an unknown model, an unreachable endpoint), drops the queued
  requests and waits at most a few seconds for those in flight;
- a request that still fails, a response that is not a chat completion (no choices, no content, not JSON), and an
  answer that repeats the prompt (a server applying the wrong chat template) are failures of that example: not
  cached, left out of the predictions (the evaluator counts them as missing), asked again on the next run.
The run ends with one summary line on stderr (JSON: examples, predictions, cached, asked, answered, failed, of which
malformed and echoed, tokens). Exit status: 0 when every example has a prediction; 1 when some failed (unless
`--allow-failures`), when none has a prediction, or after a fatal API error; 2 for bad input; 130 after Ctrl-C.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
import time
from pathlib import Path

import click
from pydantic import BaseModel, Field, ValidationError

from llmner.core import options
from llmner.core.errors import DataError
from llmner.core.io import check_writable, write_jsonl
from llmner.core.schemas import Example, one_line, read_examples
from llmner.core.tasks import prompt_turns

CONFIDENCE_INSTRUCTION = ('\nAnswer with JSON only: {"label": "<one of the topics>", "confidence": <your probability '
                          'that the label is right, from 0 to 1>}.')
IN_FLIGHT_GRACE_S = 5.0  # after Ctrl-C, how long answers already on their way may still arrive and be cached
ECHO_MIN_CHARS = 20  # a prompt turn shorter than this may legitimately reappear in an answer (a one-word NER text)


# The responses this command accepts (the records it reads are the contract's examples, core.schemas).
class ReplyMessage(BaseModel):
    content: str


class ReplyChoice(BaseModel):
    message: ReplyMessage


class ReplyUsage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class ChatReply(BaseModel):
    choices: list[ReplyChoice] = Field(min_length=1)
    usage: ReplyUsage | None = None


class MalformedResponse(Exception):
    """A 200 response that is not a chat completion with an answer."""


def read_prompts(path: str | Path, limit: int | None, confidence: bool) -> list[Example]:
    """The first `limit` examples, each checked against the contract before any request is paid for."""
    examples = read_examples(path, limit)
    for number, example in enumerate(examples, start=1):
        if confidence and example.gold.task != "classification":
            raise DataError(path, None, f"expected classification examples with --confidence; example {number} "
                                        f"({example.id!r}) is {example.gold.task}")
    return examples


def request_messages(example: Example, confidence: bool) -> list[dict]:
    """The prompt turns as the endpoint gets them (and the cache keys them): each turn's JSON as it was read."""
    turns = prompt_turns([turn.to_json() for turn in example.messages])
    if confidence:
        turns[0]["content"] += CONFIDENCE_INSTRUCTION
    return turns


def cache_key(model: str, messages: list[dict], temperature: float) -> str:
    payload = json.dumps({"model": model, "messages": messages, "temperature": temperature}, ensure_ascii=False,
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def cache_record(line: bytes) -> dict | None:
    try:
        record = json.loads(line)
        return record if isinstance(record, dict) and isinstance(record.get("key"), str) and isinstance(
            record.get("text"), str) else None
    except ValueError:  # not JSON, or not UTF-8
        return None


class AnswerCache:
    """Append-only JSONL of finished answers, shared by the request threads; each answer is on disk (flushed and
    synced) before `add` returns. A last line torn by a crash is cut off before anything is appended."""

    def __init__(self, path: Path):
        self.path, self.lock, self.answers, self.handle, self.closed = path, threading.Lock(), {}, None, False
        if path.exists():
            self.load()

    def load(self) -> None:
        try:
            data = self.path.read_bytes()
        except OSError as error:
            raise DataError(self.path, None, f"expected a readable answer cache ({error.strerror})") from None
        lines = data.split(b"\n")  # the last item is what follows the last newline: b"" unless the end is torn
        kept = 0  # bytes of whole, readable lines
        for number, line in enumerate(lines, start=1):
            record = cache_record(line) if line.strip() else {}
            last = number == len(lines) or (number == len(lines) - 1 and not lines[-1])
            if record is None and not last:
                raise DataError(self.path, number, "expected one answer record per line (delete the line to ask "
                                                   "that prompt again)")
            if record is None or (number == len(lines) and line):  # unreadable, or no newline: cut by a crash
                click.echo(f"warning: {self.path}:{number}: the last line was cut by an interrupted write; "
                           f"removed (that prompt is asked again)", err=True)
                self.truncate(kept)
                return
            if record:
                self.answers[record["key"]] = record
            kept += len(line) + 1

    def truncate(self, size: int) -> None:
        try:
            with open(self.path, "r+b") as handle:
                handle.truncate(size)
                os.fsync(handle.fileno())
        except OSError as error:
            raise DataError(self.path, None, f"expected a writable answer cache ({error.strerror})") from None

    def add(self, key: str, text: str, usage: dict) -> None:
        record = {"key": key, "text": text, "usage": usage}
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        with self.lock:
            if self.closed:  # the run is over (Ctrl-C): this late answer is asked again next time
                return
            if self.handle is None:
                self.handle = open(self.path, "ab")
            self.handle.write(line)
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.answers[key] = record

    def close(self) -> None:
        with self.lock:
            self.closed = True
            if self.handle is not None:
                self.handle.close()


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


def prediction(example: Example, text: str, confidence: bool) -> dict:
    if confidence:
        parsed = parse_confidence(text, example.gold.labels)
        if parsed:
            return {"id": example.id, **parsed}
    return {"id": example.id, "output": text}


def squeezed(text: str) -> str:
    return "".join(text.split())


def echoed_role(messages: list[dict], answer: str) -> str | None:
    """The role of a prompt turn the answer repeats, as a server does that renders the prompt with a template the
    model was not trained on and returns the prompt with the answer. Whitespace is ignored: decoding may change it."""
    answer = squeezed(answer)
    for turn in messages:
        text = squeezed(turn["content"])
        if len(text) >= ECHO_MIN_CHARS and text in answer:
            return turn["role"]
    return None


def ask(client, model: str, messages: list[dict], temperature: float, max_tokens: int) -> tuple[str, dict]:
    """One answer and its token usage; MalformedResponse when the 200 body is not a chat completion with content."""
    # The raw body, checked against ChatReply: the client's own parsing builds objects without validating them, so
    # empty choices or a null content would surface later as an IndexError or a None.
    raw = client.chat.completions.with_raw_response.create(model=model, messages=messages, temperature=temperature,
                                                           max_tokens=max_tokens)
    try:
        reply = ChatReply.model_validate_json(raw.http_response.content)
    except ValidationError as error:
        raise MalformedResponse(one_line(error, "a chat completion with an answer")) from None
    usage = reply.usage or ReplyUsage()
    return reply.choices[0].message.content, usage.model_dump()


def fatal_errors() -> tuple[type[Exception], ...]:
    """Errors that every other request would meet too: end the run instead of paying for them all."""
    import openai

    return openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError


def answer_job(client, job: dict, model: str, cache: AnswerCache, temperature: float, max_tokens: int) -> dict:
    """Runs on a request thread: ask, check and cache one prompt. Returns the outcome; raises only what is fatal."""
    import openai

    try:
        text, usage = ask(client, model, job["messages"], temperature, max_tokens)
    except fatal_errors():
        raise
    except openai.APITimeoutError as error:  # this prompt took too long: others may not
        return {"outcome": "failed", "why": f"request failed ({error})"}
    except openai.APIConnectionError:  # the endpoint is unreachable even after the retries: so for every prompt
        raise
    except openai.OpenAIError as error:  # retries exhausted, or a request the endpoint refuses for this prompt
        return {"outcome": "failed", "why": f"request failed ({error})"}
    except MalformedResponse as error:
        return {"outcome": "malformed", "why": str(error)}
    role = echoed_role(job["messages"], text)
    if role:
        return {"outcome": "echoed", "why": f"the answer repeats the prompt's {role} turn (a server using the wrong "
                                            f"chat template?)"}
    cache.add(job["key"], text, usage)
    return {"outcome": "answered", **usage}


def run_examples(client, examples: list[Example], model: str, cache: AnswerCache, confidence: bool = False,
                 concurrency: int = 8, temperature: float = 0.0, max_tokens: int = 256) -> dict:
    """Ask for every example not yet in the cache; returns counts and token usage of this run.

    The requests run on daemon threads fed from a queue (not a ThreadPoolExecutor: it joins its threads at exit, so
    one request hanging for --timeout × retries would hold Ctrl-C that long). On Ctrl-C or a fatal error the queue
    is dropped, nothing queued is sent, and answers in flight get IN_FLIGHT_GRACE_S to arrive and be cached."""
    from tqdm import tqdm

    jobs, cached = {}, 0
    for example in examples:
        messages = request_messages(example, confidence)
        key = cache_key(model, messages, temperature)
        if key in cache.answers:
            cached += 1
        elif key not in jobs:  # two examples with one prompt: one request
            jobs[key] = {"key": key, "messages": messages, "id": example.id}
    stats = {"cached": cached, "asked": len(jobs), "answered": 0, "failed": 0, "malformed": 0, "echoed": 0,
             "prompt_tokens": 0, "completion_tokens": 0}
    todo, done, stop = queue.SimpleQueue(), queue.SimpleQueue(), threading.Event()
    for job in jobs.values():
        todo.put(job)

    def worker():
        while not stop.is_set():
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put((job, answer_job(client, job, model, cache, temperature, max_tokens)))
            except BaseException as error:  # fatal, or a bug: handed to the main thread, which ends the run
                stop.set()  # at once: no other worker takes a new prompt meanwhile
                done.put((job, error))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(min(concurrency, len(jobs)))]
    for thread in threads:
        thread.start()
    warned = set()
    try:
        for _ in tqdm(range(len(jobs)), desc="asking", unit="request"):
            job, outcome = done.get()
            if isinstance(outcome, BaseException):
                raise outcome
            if outcome["outcome"] == "answered":
                stats["answered"] += 1
                stats["prompt_tokens"] += outcome["prompt_tokens"]
                stats["completion_tokens"] += outcome["completion_tokens"]
                continue
            stats["failed"] += 1
            if outcome["outcome"] in ("malformed", "echoed"):
                stats[outcome["outcome"]] += 1
            if outcome["outcome"] not in warned:  # one example of each kind, not one line per request
                warned.add(outcome["outcome"])
                click.echo(f"\nwarning: {job['id']}: {outcome['why']}; counted as failed", err=True)
    finally:
        stop.set()
        deadline = time.monotonic() + IN_FLIGHT_GRACE_S
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        cache.close()  # a straggler's answer is not written half-way as the process leaves
    return stats


def collect_predictions(examples: list[Example], model: str, cache: AnswerCache, confidence: bool,
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
@options.data("Examples JSONL (its prompts are sent as they are).")
@options.output("Predictions JSONL.")
@options.model("Model name at the endpoint.")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint (default: OpenAI's).")
@click.option("--api-key-env", default="OPENAI_API_KEY", show_default=True, help="Environment variable with the key.")
@click.option("--confidence", is_flag=True, help="Classification: ask for a label and a stated confidence.")
@click.option("--concurrency", type=click.IntRange(min=1), default=8, show_default=True,
              help="Requests in flight at most.")
@click.option("--max-retries", type=click.IntRange(min=0), default=5, show_default=True,
              help="Retries per request (exponential back-off).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
              help="Seconds per request attempt.")
@options.max_new_tokens(256, "The longest answer, in tokens (the API's max_tokens).")
@click.option("--cache", "cache_path", default=None, help="Answer cache (default: OUTPUT.cache.jsonl).")
@options.examples()
@click.option("--allow-failures", is_flag=True,
              help="Exit 0 although some examples failed (they stay out of the predictions and are asked next run).")
def run(data, output, model, base_url, api_key_env, confidence, concurrency, max_retries, timeout, max_new_tokens,
        cache_path, examples, allow_failures):
    """Send every example's prompt to the endpoint and write predictions."""
    import openai

    output = Path(output)
    cache_path = Path(cache_path or f"{output}.cache.jsonl")
    examples = read_prompts(data, examples, confidence)
    for path in (output, cache_path):
        check_writable(path)
    cache = AnswerCache(cache_path)
    client = openai.OpenAI(base_url=base_url, api_key=os.environ.get(api_key_env, "not-needed"),
                           max_retries=max_retries, timeout=timeout)
    try:
        stats = run_examples(client, examples, model, cache, confidence, concurrency, max_tokens=max_new_tokens)
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: {len(cache.answers)} answers are kept in {cache_path}; rerun to ask the rest",
                   err=True)
        raise click.exceptions.Exit(130) from None
    except (*fatal_errors(), openai.APIConnectionError) as error:
        click.echo(f"\nerror: {base_url or 'the OpenAI API'}: {error}; the answers so far are kept in {cache_path}",
                   err=True)
        raise click.exceptions.Exit(1) from None
    count = write_jsonl(output, collect_predictions(examples, model, cache, confidence))
    click.echo(json.dumps({"examples": len(examples), "predictions": count, **stats}), err=True)
    if count == 0 or (count < len(examples) and not allow_failures):
        # nothing to score is never a success, whatever --allow-failures says
        raise click.exceptions.Exit(1)
