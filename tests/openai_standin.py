"""A chat-completions endpoint on 127.0.0.1 that injects faults, for the API baseline's tests.

It answers through `answer(messages)`, counts requests per user text, and misbehaves when the user text names a
fault (FAULTS): an HTTP error, a 200 that is not a chat completion, an answer that repeats the prompt, a slow reply.
A fault ending in "first" happens on the first request for that text only, so a rerun gets an answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# fault -> (status, body or raw bytes); matched as a substring of the last user turn
FAULTS = {
    "always fails": (500, {"error": {"message": "boom", "type": "server_error"}}),
    "fail first": (500, {"error": {"message": "boom", "type": "server_error"}}),
    "rate limited first": (429, {"error": {"message": "slow down", "type": "rate_limit"}}),
    "bad key": (401, {"error": {"message": "invalid api key", "type": "invalid_request_error"}}),
    "malformed first": (200, b"{this is not json"),
    "empty choices first": (200, {"id": "x", "object": "chat.completion", "choices": []}),
    "null content first": (200, {"id": "x", "object": "chat.completion",
                                 "choices": [{"index": 0, "message": {"role": "assistant", "content": None}}]}),
    "missing fields first": (200, {"id": "x", "object": "chat.completion"}),
    "list body first": (200, b"[]"),
}
SLOW_FIRST_S = 1.5  # "slow first": longer than the tests' client timeout


def completion(model: str, content: str) -> dict:
    return {"id": "x", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


class Standin:
    """`with Standin(answer) as server:` serves at server.url until the block ends; server.hits counts requests
    per user text, server.faulted the texts that got a fault, server.answered the texts that got a real answer."""

    def __init__(self, answer: Callable[[list[dict]], str], delay: float = 0.0):
        self.answer, self.delay = answer, delay
        self.hits, self.answered, self.faulted, self.lock = Counter(), Counter(), Counter(), threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                standin.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def handle(self, http):
        request = json.loads(http.rfile.read(int(http.headers["Content-Length"])))
        messages = request["messages"]
        text = [turn for turn in messages if turn["role"] == "user"][-1]["content"]
        with self.lock:
            self.hits[text] += 1
            first = self.hits[text] == 1
        if self.delay:
            time.sleep(self.delay)
        if "slow first" in text and first:
            time.sleep(SLOW_FIRST_S)
        for name, (status, body) in FAULTS.items():
            if name in text and (first or not name.endswith("first")):
                with self.lock:
                    self.faulted[text] += 1
                return self.reply(http, status, body, {"retry-after": "0"} if status == 429 else {})
        content = self.answer(messages)
        if "echo" in text:  # what a server does that renders the prompt with the wrong chat template
            content = "".join(f"{turn['role']}\n{turn['content']}\n" for turn in messages) + "assistant\n" + content
        with self.lock:
            self.answered[text] += 1
        self.reply(http, 200, completion(request["model"], content))

    @staticmethod
    def reply(http, status, body, headers=None):
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        http.send_response(status)
        http.send_header("Content-Type", "application/json")
        http.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            http.send_header(key, value)
        http.end_headers()
        try:
            http.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting ("slow first")
            pass
