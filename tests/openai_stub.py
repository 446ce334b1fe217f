"""A scripted OpenAI-compatible chat server on loopback, for tests of clients (the eval runner, judges).

`reply(body, call_number)` decides each answer: the words to stream, or an HTTP error status.
It speaks the streaming wire format the official `openai` SDK reads, usage chunk included.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator


@dataclass
class Reply:
    words: list[str] = field(default_factory=list)
    status: int = 200
    pause_after_first_s: float = 0.0  # stall mid-answer (deadline tests)
    usage: bool = True  # some servers send no usage chunk


class OpenAIStub:
    def __init__(self, reply: Callable[[dict, int], Reply], port: int = 0) -> None:
        self.reply, self.calls, self.bodies, self.traceparents = reply, Counter(), [], []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # the health check: `GET /models`
                models = {"object": "list", "data": [{"id": "stub", "object": "model", "created": 0,
                                                      "owned_by": "tests"}]}
                self.send_response(200 if self.path.endswith("/models") else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(models).encode())

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = json.dumps(body["messages"])
                stub.calls[key] += 1
                stub.bodies.append(body)
                stub.traceparents.append(self.headers.get("traceparent"))
                answer = stub.reply(body, stub.calls[key])
                self.send_response(answer.status)
                if answer.status != 200:
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"error": {"message": "scripted failure"}}')
                    return
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for chunk in _chunks(body["model"], answer):
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> "OpenAIStub":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _chunks(model: str, answer: Reply) -> Iterator[dict]:
    base = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model}
    for i, word in enumerate(answer.words):
        if i == 1 and answer.pause_after_first_s:
            time.sleep(answer.pause_after_first_s)
        yield {**base, "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    if answer.usage:
        yield {**base, "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": len(answer.words),
                                                "total_tokens": 7 + len(answer.words)}}


def serve_until_killed(die_on_call: int) -> None:
    """A replica in its own process that answers every question, and on call `die_on_call` is killed
    (SIGKILL, as by the kernel's OOM killer) while that answer and any others are mid-stream."""
    calls = itertools.count(1)

    def reply(body: dict, call: int) -> Reply:
        if next(calls) == die_on_call:
            threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGKILL)).start()
        return Reply(["ye", "s"], pause_after_first_s=0.1)

    with OpenAIStub(reply) as stub:
        print(stub.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    serve_until_killed(int(sys.argv[1]))
