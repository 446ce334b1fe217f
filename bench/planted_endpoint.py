"""An OpenAI-compatible chat endpoint that answers planted questions at once, for the harness benchmarks.

It runs in its own process (`python bench/planted_endpoint.py` prints its base URL), so that the harness
measured never shares a GIL with it, and it is a bare asyncio HTTP/1.1 server with keep-alive, so that
thousands of answers a second cost it little: the harness under test, not the endpoint, sets the pace.
It speaks both shapes clients use, a whole JSON answer and a `stream: true` event stream (usage chunk
included when asked).

The questions are `planted_question(i)`; the answer to question i is `planted_answer(i)`: right for most,
a wrong number for one in ten (i % 10 == 3) and a right number in a sentence for one in seven of the rest
(i % 7 == 0), so an exact-match check and a contains check each pass a known count (`expected_passes`).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys

QUESTION = re.compile(r"what is (\d+) plus (\d+)\?")


def planted_question(i: int) -> str:
    return f"Question {i}: what is {i} plus {i}?"


def planted_answer(i: int) -> str:
    if i % 10 == 3:
        return str(2 * i + 1)
    return f"Sorry, I believe it is {2 * i}" if i % 7 == 0 else str(2 * i)


def expected_passes(n: int) -> dict[str, int]:
    """How many of questions 0..n-1 pass each check: `exact` (the answer is 2i) and `contains` (it holds 2i)."""
    wrong = sum(1 for i in range(n) if i % 10 == 3)
    worded = sum(1 for i in range(n) if i % 10 != 3 and i % 7 == 0)
    return {"exact": n - wrong - worded, "contains": n - wrong}


def _answer(body: dict) -> str:
    question = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
    found = QUESTION.search(question if isinstance(question, str) else json.dumps(question))
    return planted_answer(int(found.group(1))) if found else "I do not know"


def _usage(answer: str) -> dict:
    completion = len(answer.split())
    return {"prompt_tokens": 12, "completion_tokens": completion, "total_tokens": 12 + completion}


def _completion(body: dict) -> tuple[bytes, bytes]:
    answer, model = _answer(body), body.get("model", "planted")
    if not body.get("stream"):
        return b"application/json", json.dumps({
            "id": "planted", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
            "usage": _usage(answer)}).encode()
    base = {"id": "planted", "object": "chat.completion.chunk", "created": 0, "model": model}
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": answer},
                                    "finish_reason": None}]},
              {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks.append({**base, "choices": [], "usage": _usage(answer)})
    events = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    return b"text/event-stream", events.encode()


def _respond(method: str, path: str, body: bytes) -> tuple[int, bytes, bytes]:
    if method == "GET" and path.endswith("/models"):
        return 200, b"application/json", json.dumps({"object": "list", "data": [
            {"id": "planted", "object": "model", "created": 0, "owned_by": "bench"}]}).encode()
    if method == "POST" and path.endswith("/chat/completions"):
        return 200, *_completion(json.loads(body))
    return 404, b"application/json", b'{"error": {"message": "no such route", "type": "not_found"}}'


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while head := await reader.readuntil(b"\r\n\r\n"):
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if line)}
            body = await reader.readexactly(int(headers.get("content-length", 0)))
            status, kind, payload = _respond(method, path, body)
            writer.write(b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                         % (status, b"OK" if status == 200 else b"Not Found", kind, len(payload)) + payload)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the client closed its connection
    finally:
        writer.close()


async def main() -> None:
    server = await asyncio.start_server(_serve_connection, "127.0.0.1", 0, backlog=1024)
    print(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
