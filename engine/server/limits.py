"""A cap on request bodies: a body over the limit is answered 413 in OpenAI's error shape before any of
it is parsed, so one huge request cannot hold the server. The body is read here (up to the limit) and
handed on whole; a declared Content-Length over the limit is refused without reading."""

from __future__ import annotations

from typing import Any, Callable

from engine.server.errors import error_response


class BodyLimitMiddleware:
    def __init__(self, app: Callable, *, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()  # after the body: only a disconnect can come

        await self.app(scope, replay, send)

    async def _refuse(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        response = error_response(413, f"the request body is over the server's limit of {self.max_bytes} bytes",
                                  code="request_too_large")
        await response(scope, receive, send)
