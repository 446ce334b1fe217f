"""The OpenAI-compatible server: chat and text completions (whole or streamed as server-sent events),
the model list, health, and Prometheus metrics, over one AsyncEngine."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from typing import AsyncIterator

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from fastapi.responses import JSONResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from engine.async_engine import AsyncEngine, EngineFailedError, QueueFullError, RequestStream
from engine.engine import StreamChunk
from engine.errors import InvalidRequestError
from engine.request import GenerationRequest, GenerationResult
from engine.sampling_params import SamplingParams
from engine.server import responses, tools
from engine.server.defaults import MAX_BODY_BYTES
from engine.server.errors import error_response, http_error, validation_error
from engine.server.limits import BodyLimitMiddleware
from engine.server.protocol import ChatCompletionRequest, CompletionRequest, SamplingFields
from engine.server.tracing import TracingMiddleware
from telemetry.attribution import request_attribution
from telemetry.server_spans import server_attributes_of
from telemetry.setup import Telemetry
from telemetry.trace_context import traceparent

RETRY_AFTER_S = 1
DISCONNECT_POLL_S = 0.25  # how often a whole answer's client is checked for having hung up


class ApiError(Exception):
    def __init__(self, response: JSONResponse) -> None:
        self.response = response


def create_app(engine: AsyncEngine, telemetry: Telemetry, *, api_key: str | None = None,
               max_body_bytes: int = MAX_BODY_BYTES, user_salt: bytes | None = None) -> FastAPI:
    """The app over `engine`, whose steps the caller drives (`AsyncEngine.run` or `start`). Give the engine
    the same `telemetry`, so that its generation spans and saturation join the server's. `user_salt` keys the
    hash a request's user id is stored as (default: a fresh one, so hashes do not outlive the process)."""
    model = engine.engine.model_id
    created = int(time.time())
    salt = user_salt if user_salt is not None else secrets.token_bytes(16)

    async def authorized(request: Request) -> None:
        if api_key is None:
            return
        given = request.headers.get("authorization", "")
        if not secrets.compare_digest(given.encode(), f"Bearer {api_key}".encode()):
            raise ApiError(error_response(401, "missing or wrong API key: send 'Authorization: Bearer <key>'",
                                          code="invalid_api_key"))

    app = FastAPI(title="goldgate", docs_url=None, redoc_url=None)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(ApiError, lambda _, e: e.response)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(TracingMiddleware, telemetry=telemetry, model=model,  # outermost: a 413 has its span
                       routes=frozenset({"/v1/models", "/v1/chat/completions", "/v1/completions"}))

    def token_text(token_id: int) -> str:
        return engine.engine.tokenizer.decode([token_id])

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "model": model}

    @app.get("/metrics")
    async def metrics() -> Response:
        if telemetry.prometheus_registry is None:
            return error_response(404, "this server's telemetry has no Prometheus registry")
        return Response(generate_latest(telemetry.prometheus_registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models", dependencies=[Depends(authorized)])
    async def models() -> dict:
        return responses.model_list(model, created)

    @app.post("/v1/chat/completions", dependencies=[Depends(authorized)])
    async def chat(body: ChatCompletionRequest, request: Request) -> Response:
        use = tools.plan(body)
        return await _respond("chat", body, request, messages=use.messages, max_tokens=body.requested_max_tokens(),
                              chat={"add_generation_prompt": body.add_generation_prompt,
                                    "continue_final_message": body.continue_final_message}, tool_use=use)

    @app.post("/v1/completions", dependencies=[Depends(authorized)])
    async def completions(body: CompletionRequest, request: Request) -> Response:
        echo = responses.Echo(body.prompt_text(), generated=body.max_tokens > 0) if body.echo else None
        return await _respond("text", body, request, prompt=body.prompt_text(), max_tokens=body.requested_max_tokens(),
                              echo=echo)

    async def _respond(kind: responses.Kind, body: SamplingFields, request: Request, *, max_tokens: int | None,
                       prompt: str | None = None, messages: tuple | None = None, chat: dict | None = None,
                       echo: responses.Echo | None = None, tool_use: tools.ToolUse | None = None) -> Response:
        attribution = request_attribution(body.metadata, body.user, request.headers, salt)
        request.state.server_span.set_attributes(attribution)
        if body.model != model:
            return error_response(404, f"the model '{body.model}' does not exist; this server serves '{model}'",
                                  param="model", code="model_not_found")
        params = dict(temperature=body.temperature, top_p=body.top_p, top_k=body.top_k, stop=body.stop_tuple(),
                      max_tokens=max_tokens or engine.engine.context_window, logprobs=body.requested_logprobs(),
                      json_schema=tool_use and tool_use.json_schema or body.requested_json_schema(),
                      prompt_logprobs=body.requested_prompt_logprobs())
        response_id = f"{'chatcmpl' if kind == 'chat' else 'cmpl'}-{uuid.uuid4().hex}"
        streams: list[RequestStream] = []
        try:
            for i in range(body.n):  # n choices: each its own seed; the later ones read the first's prefill
                seed = body.seed if body.seed is None or i == 0 else (body.seed + i) % 2**63  # the first's is checked
                streams.append(await engine.submit_off_loop(
                    GenerationRequest(prompt=prompt, messages=messages, **(chat or {}),
                                      params=SamplingParams(seed=seed, **params), stream=body.stream,
                                      request_id=response_id, traceparent=traceparent(request.state.server_span),
                                      span_attributes=server_attributes_of(*(request.scope.get("server") or ("", 0)))
                                      | attribution),
                    fit_max_tokens=max_tokens is None, after=streams[0].seq if streams else None))
        except (QueueFullError, InvalidRequestError) as e:
            for stream in streams:
                stream.cancel()
            if isinstance(e, QueueFullError):
                return error_response(503, str(e), kind="server_overloaded",
                                      headers={"Retry-After": str(RETRY_AFTER_S)})
            return error_response(400, str(e), param=e.field)
        if body.stream:
            include_usage = body.stream_options is not None and body.stream_options.include_usage
            return StreamingResponse(_events(kind, streams, response_id, include_usage, tool_use),
                                     media_type="text/event-stream")
        try:
            results = await _unless_gone(request, streams)
        except EngineFailedError as e:
            return error_response(500, str(e), kind="server_error")
        if results is None:  # the client hung up; nobody reads an answer
            return Response(status_code=499)
        return JSONResponse(responses.completion(kind, results, response_id, int(time.time()), model, token_text,
                                                 echo, tool_use))

    async def _events(kind: responses.Kind, streams: list[RequestStream], response_id: str, include_usage: bool,
                      tool_use: tools.ToolUse | None) -> AsyncIterator[str]:
        """The answer as server-sent events, each choice's chunks under its index as they come; a reply read
        for tool calls is sent whole at its end (its text is content or calls only once it is all there)."""
        created_at = int(time.time())
        held = tool_use is not None and tool_use.reads_calls
        envelope = (kind, response_id, created_at, model)
        offsets = [0] * len(streams)  # characters streamed so far per choice (completions' text_offset)
        finished: list[GenerationResult] = []
        if kind == "chat":
            for i in range(len(streams)):
                yield responses.sse(responses.chunk(*envelope, role=True, index=i))
        try:
            async for i, piece in _merged(streams):
                if not held and (piece.text or piece.logprobs):
                    logprobs = responses.logprobs_of(kind, piece.logprobs, token_text, offsets[i]) if piece.logprobs \
                        else None
                    yield responses.sse(responses.chunk(*envelope, text=piece.text, logprobs=logprobs, index=i))
                    offsets[i] += len(piece.text)
                if piece.result is not None:
                    calls: list = []
                    if held:
                        content, calls = tools.read_reply(tool_use, piece.result.text)
                        yield responses.sse(responses.chunk(*envelope, text=content, tool_calls=calls, index=i))
                    yield responses.sse(responses.chunk(*envelope, index=i,
                                                        finish_reason=responses.finish_reason(piece.result, calls)))
                    finished.append(piece.result)
            if include_usage:
                yield responses.sse(responses.usage_chunk(kind, finished, response_id, created_at, model))
        except EngineFailedError as e:  # headers are sent: the error travels as an event, as OpenAI's does
            yield responses.sse({"error": {"message": str(e), "type": "server_error", "param": None, "code": None}})
        finally:  # also when the client hung up and the response was abandoned mid-stream
            for stream in streams:
                stream.cancel()
        yield responses.sse("[DONE]")

    return app


async def _unless_gone(request: Request, streams: list[RequestStream]) -> list[GenerationResult] | None:
    """Every choice's whole answer, or None once the client has hung up: the requests are cancelled then,
    and their KV blocks and batch slots freed for the clients still waiting (a stream learns it by a failed
    send)."""
    answers = asyncio.ensure_future(asyncio.gather(*(s.result() for s in streams)))
    while not answers.done():
        await asyncio.wait({answers}, timeout=DISCONNECT_POLL_S)
        if not answers.done() and await request.is_disconnected():
            answers.cancel()
            for stream in streams:
                stream.cancel()
            return None
    return answers.result()


async def _merged(streams: list[RequestStream]) -> AsyncIterator[tuple[int, StreamChunk]]:
    """The chunks of several streams as they come, each with its stream's index; a failure in any (the
    engine's, or any other) is raised here."""
    if len(streams) == 1:
        async for piece in streams[0]:
            yield 0, piece
        return
    arrived: asyncio.Queue[tuple[int, StreamChunk | None | BaseException]] = asyncio.Queue()

    async def pump(i: int, stream: RequestStream) -> None:
        try:
            async for piece in stream:
                await arrived.put((i, piece))
            await arrived.put((i, None))
        except Exception as e:  # noqa: BLE001 - raised where the chunks are read, never left waiting there
            await arrived.put((i, e))

    pumps = [asyncio.ensure_future(pump(i, s)) for i, s in enumerate(streams)]
    try:
        for _ in streams:
            while True:
                i, piece = await arrived.get()
                if isinstance(piece, BaseException):
                    raise piece
                if piece is None:
                    break
                yield i, piece
    finally:
        for p in pumps:
            p.cancel()
