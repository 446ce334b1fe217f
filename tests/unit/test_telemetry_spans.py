"""Generation spans and the server's spans, read back from in-memory exporters: names, kinds, parents and
every attribute of a chat request, a streamed one and failed ones; the conventions' metrics beside them."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from opentelemetry.trace import SpanKind, StatusCode, format_span_id, format_trace_id

from engine.async_engine import AsyncEngine
from engine.engine import Engine
from telemetry.instruments import TTFT_BUCKETS
from tests.serving import app_in_thread
from tests.telemetry_helpers import MemoryTelemetry

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER = f"00-{CALLER_TRACE}-b7ad6b7169203331-01"


@pytest.fixture(scope="module")
def loaded(tiny_gguf):
    return Engine.load(tiny_gguf, device="cpu").loaded


@pytest.fixture
def memory() -> MemoryTelemetry:
    return MemoryTelemetry()


@pytest.fixture
def served(loaded, memory):
    engine = Engine(loaded, max_batch_size=4, kv_cache_tokens=4096, telemetry=memory.tel)
    with app_in_thread(AsyncEngine(engine), memory.tel) as url:
        yield engine, url


def sdk(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)


def one_trace(memory: MemoryTelemetry):
    """The server span and the generation span of the one request sent. The server span ends once the
    last byte is sent, which may be just after the client has read it."""
    (server,) = memory.finished("POST ", wait_for=1)
    (generation,) = [s for s in memory.finished() if s.kind == SpanKind.INTERNAL]
    return server, generation


def test_a_chat_request_is_a_server_span_with_its_generation_span_beneath(served, memory) -> None:
    engine, url = served
    response = sdk(url).chat.completions.create(
        model=engine.model_id, messages=[{"role": "user", "content": "hello"}], max_tokens=6, temperature=0.5,
        top_p=0.9, seed=7, stop=["zzz"], extra_body={"top_k": 40}, extra_headers={"traceparent": CALLER})
    server, generation = one_trace(memory)

    assert server.name == "POST /v1/chat/completions" and server.kind == SpanKind.SERVER
    assert format_trace_id(server.context.trace_id) == CALLER_TRACE  # the caller's trace, continued
    assert format_span_id(server.parent.span_id) == CALLER.split("-")[2]
    assert server.attributes["http.response.status_code"] == 200
    assert server.attributes["http.request.method"] == "POST" and server.attributes["http.route"] == "/v1/chat/completions"

    assert generation.name == f"chat {engine.model_id}" and generation.kind == SpanKind.INTERNAL
    assert generation.parent.span_id == server.context.span_id
    assert generation.status.status_code == StatusCode.UNSET
    a = dict(generation.attributes)
    port = int(url.rsplit(":", 1)[1])
    assert {k: v for k, v in a.items() if not k.startswith("goldgate.")} == {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "goldgate",
        "gen_ai.request.model": engine.model_id, "gen_ai.response.model": engine.model_id,
        "gen_ai.request.max_tokens": 6, "gen_ai.request.temperature": 0.5, "gen_ai.request.top_p": 0.9,
        "gen_ai.request.top_k": 40, "gen_ai.request.seed": 7, "gen_ai.request.stop_sequences": ("zzz",),
        "gen_ai.request.stream": False, "gen_ai.response.id": response.id,
        "gen_ai.response.finish_reasons": (response.choices[0].finish_reason,),
        "gen_ai.usage.input_tokens": response.usage.prompt_tokens,
        "gen_ai.usage.output_tokens": response.usage.completion_tokens,
        "gen_ai.usage.cache_read.input_tokens": response.usage.prompt_tokens_details.cached_tokens,
        "server.address": "127.0.0.1", "server.port": port,
    }
    assert 0 <= a["goldgate.queue_time_s"] and 0 < a["goldgate.prefill_time_s"] and 0 <= a["goldgate.decode_time_s"]
    assert a["goldgate.decode_tokens_per_s"] == pytest.approx((response.usage.completion_tokens - 1)
                                                             / a["goldgate.decode_time_s"])
    assert generation.start_time >= server.start_time and generation.end_time <= server.end_time
    assert "gen_ai.response.time_to_first_chunk" not in a  # only when streaming


def test_a_streamed_request_records_its_time_to_first_chunk(served, memory) -> None:
    engine, url = served
    chunks = list(sdk(url).completions.create(model=engine.model_id, prompt="once upon", max_tokens=5, stream=True))
    server, generation = one_trace(memory)
    assert server.name == "POST /v1/completions" and server.parent is None
    assert generation.name == f"text_completion {engine.model_id}"
    a = generation.attributes
    assert a["gen_ai.operation.name"] == "text_completion" and a["gen_ai.request.stream"] is True
    assert a["gen_ai.response.id"] == chunks[0].id
    duration = (generation.end_time - generation.start_time) / 1e9
    assert 0 < a["gen_ai.response.time_to_first_chunk"] <= duration
    assert server.end_time >= generation.end_time  # the server span covers the whole stream


def test_a_failed_generation_is_an_error_on_both_spans(served, memory, monkeypatch) -> None:
    engine, url = served

    def broken(_chunks):
        raise RuntimeError("device lost")

    monkeypatch.setattr(engine.core.runner, "execute", broken)
    with pytest.raises(openai.InternalServerError):
        sdk(url).chat.completions.create(model=engine.model_id, messages=[{"role": "user", "content": "hi"}],
                                         max_tokens=4)
    server, generation = one_trace(memory)
    assert generation.status.status_code == StatusCode.ERROR
    assert generation.attributes["error.type"] == "RuntimeError"
    assert "gen_ai.response.finish_reasons" not in generation.attributes
    assert server.status.status_code == StatusCode.ERROR and server.attributes["error.type"] == "500"
    assert [p.value for p in memory.metric_points("goldgate.errors.api")] == [1]


def test_a_refused_request_is_an_api_error_with_no_generation(served, memory) -> None:
    engine, url = served
    assert httpx.post(f"{url}/v1/chat/completions", json={"model": engine.model_id, "messages": "x"}).status_code == 400
    assert httpx.post(f"{url}/v1/no-such-route", json={}).status_code == 404
    spans = memory.finished(wait_for=2)
    assert [s.kind for s in spans] == [SpanKind.SERVER, SpanKind.SERVER]
    assert [s.name for s in spans] == ["POST /v1/chat/completions", "POST"]  # unknown paths stay out of names
    assert [s.attributes["error.type"] for s in spans] == ["400", "404"]
    assert all(s.status.status_code == StatusCode.UNSET for s in spans)  # a 4xx is the client's error
    errors = {p.attributes["error.type"]: p.value for p in memory.metric_points("goldgate.errors.api")}
    assert errors == {"400": 1, "404": 1}
    assert memory.metric_points("goldgate.errors.validation") == []


def test_the_request_histograms_count_every_request_with_the_conventions_buckets(served, memory) -> None:
    engine, url = served
    usages = [sdk(url).chat.completions.create(model=engine.model_id, messages=[{"role": "user", "content": f"q{i}"}],
                                               max_tokens=3 + i).usage for i in range(3)]
    (ttft,) = memory.metric_points("gen_ai.server.time_to_first_token")
    assert ttft.count == 3 and tuple(ttft.explicit_bounds) == TTFT_BUCKETS
    durations = memory.metric_points("gen_ai.server.request.duration")  # one point per finish reason
    assert sum(p.count for p in durations) == 3
    assert {p.attributes["goldgate.finish_reason"] for p in durations} <= {"length", "stop"}
    (tpot,) = memory.metric_points("gen_ai.server.time_per_output_token")
    assert tpot.count == sum(u.completion_tokens > 1 for u in usages)  # a one-token answer has no gaps
    tokens = {p.attributes["gen_ai.token.type"]: p for p in memory.metric_points("gen_ai.client.token.usage")}
    assert tokens["input"].sum == sum(u.prompt_tokens for u in usages)
    assert tokens["output"].sum == sum(u.completion_tokens for u in usages)
    labels = set().union(*(p.attributes for p in memory.metric_points("gen_ai.server.request.duration")))
    assert labels == {"gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model",
                      "goldgate.finish_reason"}  # bounded: no ids, no text
    gauges = {name: memory.metric_points(name) for name in ("goldgate.engine.requests.running",
                                                            "goldgate.engine.kv_blocks.free")}
    assert gauges["goldgate.engine.requests.running"][0].value == 0
    assert gauges["goldgate.engine.kv_blocks.free"][0].value == engine.stats().kv_blocks_free


def test_the_exported_span_json_has_no_message_text_when_capture_is_off(served, memory) -> None:
    engine, url = served
    answer = sdk(url).chat.completions.create(model=engine.model_id, max_tokens=8,
                                              messages=[{"role": "user", "content": "my secret plan"}])
    exported = json.dumps([json.loads(s.to_json()) for s in memory.finished(wait_for=2)])
    assert "secret plan" not in exported
    assert "gen_ai.input.messages" not in exported and "gen_ai.output.messages" not in exported
    output = answer.choices[0].message.content.strip()
    carried = attribute_strings(memory.finished())
    assert output not in carried  # a one-letter answer is inside "POST"; compare whole values for it
    if len(output) >= 4:
        assert not any(output in value for value in carried)


def attribute_strings(spans) -> list[str]:
    """Every string a span or its events carry as an attribute value: where a message would go."""
    carriers = [*spans, *(event for span in spans for event in span.events)]
    values = [v for c in carriers for v in (c.attributes or {}).values()]
    flat = [x for v in values for x in (v if isinstance(v, (list, tuple)) else [v])]
    return [x for x in flat if isinstance(x, str)]
