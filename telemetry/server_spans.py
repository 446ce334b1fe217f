"""The server's side of a request: a SERVER span that continues the caller's trace, the HTTP conventions'
request duration (by status code: what an availability SLO counts), and API errors in their own class."""

from __future__ import annotations

import time

from opentelemetry.semconv.attributes import error_attributes, http_attributes, server_attributes, url_attributes
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from telemetry.genai import record_error
from telemetry.setup import Telemetry
from telemetry.trace_context import context_from_traceparent


def server_attributes_of(host: str, port: int) -> dict[str, str | int]:
    """`server.address` and `server.port`, for the generation spans the server's requests make."""
    return {server_attributes.SERVER_ADDRESS: host, server_attributes.SERVER_PORT: port}


def start_server_span(tel: Telemetry, method: str, route: str | None, incoming: str | None, host: str,
                      port: int) -> Span:
    """The span of one HTTP request, a child of the caller's valid `traceparent` if it sent one; named by
    its route, or by the method alone for a path the server does not know (the HTTP conventions' rule)."""
    attrs = {http_attributes.HTTP_REQUEST_METHOD: method, **server_attributes_of(host, port)}
    if route is not None:
        attrs |= {http_attributes.HTTP_ROUTE: route, url_attributes.URL_PATH: route}
    return tel.tracer.start_span(f"{method} {route}" if route else method, context=context_from_traceparent(incoming),
                                 kind=SpanKind.SERVER, attributes=attrs)


def end_server_span(tel: Telemetry, span: Span, status_code: int, model: str) -> None:
    """End the request's span; a 4xx or 5xx answer counts as an API error (a 5xx also marks the span failed,
    as the HTTP conventions say for servers)."""
    span.set_attribute(http_attributes.HTTP_RESPONSE_STATUS_CODE, status_code)
    attributes = span.attributes or {}
    labels = {http_attributes.HTTP_REQUEST_METHOD: attributes.get(http_attributes.HTTP_REQUEST_METHOD, ""),
              http_attributes.HTTP_RESPONSE_STATUS_CODE: status_code}
    if http_attributes.HTTP_ROUTE in attributes:
        labels[http_attributes.HTTP_ROUTE] = attributes[http_attributes.HTTP_ROUTE]
    tel.instruments.http_duration.record((time.time_ns() - span.start_time) / 1e9,
                                         labels | tel.labels.of(attributes))
    if status_code >= 400:
        span.set_attribute(error_attributes.ERROR_TYPE, str(status_code))
        record_error(tel, "api", str(status_code), model)
    if status_code >= 500:
        span.set_status(Status(StatusCode.ERROR, str(status_code)))
    span.end()
