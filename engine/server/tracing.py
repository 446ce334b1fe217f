"""An ASGI middleware that gives every /v1 request a SERVER span (continuing a valid incoming
`traceparent`) and counts its 4xx and 5xx answers as API errors, validation failures included.
The span ends when the last byte is sent, so a streamed answer's span covers the whole stream."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from telemetry.server_spans import end_server_span, start_server_span
from telemetry.setup import Telemetry
from telemetry.trace_context import valid_traceparent

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


class TracingMiddleware:
    def __init__(self, app: ASGIApp, *, telemetry: Telemetry, model: str, routes: frozenset[str]) -> None:
        self.app, self.telemetry, self.model, self.routes = app, telemetry, model, routes

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host, port = scope.get("server") or ("", 0)
        route = scope["path"] if scope["path"] in self.routes else None  # unknown paths stay out of span names
        span = start_server_span(self.telemetry, scope["method"], route, valid_traceparent(headers.get("traceparent")),
                                 host, port)
        scope.setdefault("state", {})["server_span"] = span
        status = 500  # if the app fails before answering

        async def send_and_watch(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            end_server_span(self.telemetry, span, status, self.model)
