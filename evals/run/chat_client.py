"""OpenAI's streamed chat completions wire protocol, spoken over urllib3's keep-alive connection pool.

Why not the official SDK on this path: against an endpoint that answers at once, the SDK spent about
1.5 ms of CPU per request (building request models, httpx2, and a new TCP connection per request, since
it stops reading a stream at `[DONE]`, before the body's end, and so cannot return the connection to its
pool); this spends about 0.4 ms, and the client, not the endpoint, bounded a large run
(docs/BENCHMARKS.md, bench/harness_overhead.py). The SDK stays the client the tests drive servers with.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any, Iterator

import urllib3


class EndpointError(Exception):
    """The endpoint answered, but not with an answer: an error event inside the stream."""


class EndpointStatusError(EndpointError):
    """The endpoint refused the request: its HTTP status and the message of its (OpenAI-shaped) error body."""

    def __init__(self, status: int, message: str) -> None:
        try:
            status_line = f"HTTP {status} {HTTPStatus(status).phrase}"
        except ValueError:  # a status Python has no name for
            status_line = f"HTTP {status}"
        super().__init__(f"{message} ({status_line})")
        self.status = status


class ChatClient:
    """One endpoint (a base URL such as http://host:8000/v1) with up to `connections` kept open to it."""

    def __init__(self, base_url: str, *, api_key: str, timeout_s: float, connections: int) -> None:
        self.url = base_url.rstrip("/")
        self._pool = urllib3.PoolManager(num_pools=1, maxsize=connections, retries=False,
                                         timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s))
        self._headers = {"Content-Type": "application/json", "Accept": "text/event-stream",
                         "Authorization": f"Bearer {api_key}"}

    def stream(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """The chunks of a streamed chat completion as they arrive, parsed; raises EndpointStatusError for a
        refusal and urllib3's errors for a connection that failed, timed out or was cut."""
        response = self._request("POST", "/chat/completions", json.dumps(body).encode(), headers)
        try:
            data: list[bytes] = []
            for line in response:
                line = line.rstrip(b"\r\n")
                if line.startswith(b"data:"):
                    data.append(line[5:].lstrip(b" "))
                elif not line and data:  # a blank line ends an event
                    event, data = b"\n".join(data), []
                    if event == b"[DONE]":
                        continue  # read on to the body's end, so that the connection can be used again
                    try:
                        chunk = json.loads(event)
                    except ValueError:
                        raise EndpointError(f"a stream event that is not JSON: {event[:80]!r}") from None
                    if "error" in chunk:
                        raise EndpointError(_message(chunk))
                    yield chunk
        finally:
            response.release_conn()

    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """A whole text completion (`POST /completions`), parsed."""
        response = self._request("POST", "/completions", json.dumps(body).encode(), None)
        try:
            return json.loads(response.read())
        except ValueError:
            raise EndpointError("a completion that is not JSON") from None
        finally:
            response.release_conn()

    def list_models(self, timeout_s: float) -> None:
        """`GET /models`: raises unless the endpoint answers it with success."""
        response = self._request("GET", "/models", None, None, timeout_s)
        response.drain_conn()  # the listing itself is not needed; read, the connection can be used again
        response.release_conn()

    def _request(self, method: str, path: str, body: bytes | None, headers: dict[str, str] | None,
                 timeout_s: float | None = None) -> urllib3.BaseHTTPResponse:
        response = self._pool.request(method, self.url + path, body=body, headers=self._headers | (headers or {}),
                                      preload_content=False, **({"timeout": timeout_s} if timeout_s else {}))
        if response.status >= 400:
            text = response.read()
            response.release_conn()
            try:
                message = _message(json.loads(text))
            except (ValueError, TypeError, KeyError):
                message = text.decode("utf-8", "replace")[:200] or "no message"
            raise EndpointStatusError(response.status, message)
        return response


def _message(body: dict[str, Any]) -> str:
    error = body["error"]
    return str(error.get("message") or error) if isinstance(error, dict) else str(error)
