"""Telemetry into real collectors: `goldgate serve` on the default model exports its spans over both OTLP
protocols to Arize Phoenix, where they read back with their gen_ai.* attributes (and with content capture
on, the planted personal data redacted); a Prometheus server scrapes its /metrics and PromQL counts every
request in the time-to-first-token histogram."""

from __future__ import annotations

import json
import time
import uuid

import duckdb
import openai
import pytest

from telemetry.redact import Redactor
from tests.collectors import phoenix, prometheus
from tests.serving import goldgate_serve

pytestmark = pytest.mark.model

PLANTED = "I am jane.doe@example.com, card 4111 1111 1111 1111, phone +1 415-555-0132. Say hi."
RAW_PII = ("jane.doe@example.com", "4111 1111 1111 1111", "555-0132")


@pytest.fixture(scope="module")
def collector(tmp_path_factory):
    with phoenix(tmp_path_factory.mktemp("phoenix")) as p:
        yield p


def sdk(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=120)


def read_back(collector, project: str, n: int, timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(spans := collector.spans(project)) < n and time.monotonic() < deadline:
        time.sleep(0.5)
    return spans


@pytest.mark.parametrize("protocol, capture", [("grpc", "SPAN_ONLY"), ("http/protobuf", "NO_CONTENT")])
def test_spans_reach_phoenix_over_otlp_with_their_gen_ai_attributes(collector, tmp_path, protocol, capture) -> None:
    project = f"goldgate-{protocol.split('/')[0]}"
    caller_trace = uuid.uuid4().hex  # a trace belongs to one Phoenix project: each test starts its own
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.grpc if protocol == "grpc" else collector.url,
           "OTEL_EXPORTER_OTLP_PROTOCOL": protocol, "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none",
           "OTEL_RESOURCE_ATTRIBUTES": f"openinference.project.name={project}",
           "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": capture}
    with goldgate_serve("--device", "cpu", log=tmp_path / "serve.log", env=env) as url:
        model = sdk(url).models.list().data[0].id
        chat = sdk(url).chat.completions.create(
            model=model, messages=[{"role": "user", "content": PLANTED}], max_tokens=12, temperature=0,
            extra_headers={"traceparent": f"00-{caller_trace}-00f067aa0ba902b7-01"})
        streamed = list(sdk(url).completions.create(model=model, prompt="The sea is", max_tokens=8, stream=True,
                                                    stream_options={"include_usage": True}))
    # leaving stopped the server, which flushed its spans
    spans = read_back(collector, project, 5)
    by_kind: dict[str, list[dict]] = {}
    for s in spans:
        by_kind.setdefault("server" if s["name"].split()[0] in ("GET", "POST") else "generation", []).append(s)
    assert len(by_kind["server"]) == 3 and len(by_kind["generation"]) == 2, [s["name"] for s in spans]

    (chat_span,) = [s for s in by_kind["generation"] if s["name"] == f"chat {model}"]
    (text_span,) = [s for s in by_kind["generation"] if s["name"] == f"text_completion {model}"]
    (chat_server,) = [s for s in by_kind["server"] if s["context"]["trace_id"] == caller_trace]
    assert chat_span["context"]["trace_id"] == caller_trace and chat_span["parent_id"] == chat_server["context"]["span_id"]
    a = chat_span["attributes"]
    assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.provider.name"] == "goldgate"
    assert a["gen_ai.request.model"] == a["gen_ai.response.model"] == model
    assert a["gen_ai.response.id"] == chat.id and a["gen_ai.request.max_tokens"] == 12
    assert a["gen_ai.usage.input_tokens"] == chat.usage.prompt_tokens
    assert a["gen_ai.usage.output_tokens"] == chat.usage.completion_tokens
    assert a["gen_ai.response.finish_reasons"] == [chat.choices[0].finish_reason]
    assert a["server.port"] == int(url.rsplit(":", 1)[1]) and a["goldgate.decode_time_s"] > 0
    assert text_span["attributes"]["gen_ai.request.stream"] is True
    assert text_span["attributes"]["gen_ai.usage.output_tokens"] == streamed[-1].usage.completion_tokens
    assert text_span["attributes"]["gen_ai.response.time_to_first_chunk"] > 0

    exported = json.dumps(spans)
    assert not any(raw in exported for raw in RAW_PII)
    if capture == "NO_CONTENT":
        assert "jane" not in exported and "gen_ai.input.messages" not in exported and "The sea is" not in exported
    else:
        (message,) = json.loads(a["gen_ai.input.messages"])
        assert message["parts"][0]["content"] == "I am [EMAIL], card [CARD], phone [PHONE]. Say hi."
        (answer,) = json.loads(a["gen_ai.output.messages"])
        assert answer["parts"][0]["content"] == Redactor()(chat.choices[0].message.content)


def test_prometheus_scrapes_the_time_to_first_token_histogram_with_every_request(tmp_path) -> None:
    db, jsonl = tmp_path / "spans.duckdb", tmp_path / "spans.jsonl"
    with goldgate_serve("--device", "cpu", "--db", str(db), "--spans-jsonl", str(jsonl),
                        log=tmp_path / "serve.log") as url:
        with prometheus(tmp_path, url.removeprefix("http://")) as prom:
            model = sdk(url).models.list().data[0].id
            sent = 5
            for i in range(sent):
                if i % 2:
                    list(sdk(url).completions.create(model=model, prompt=f"Count to {i}:", max_tokens=6, stream=True))
                else:
                    sdk(url).chat.completions.create(model=model, messages=[{"role": "user", "content": f"hi {i}"}],
                                                     max_tokens=6)
            deadline, counted = time.monotonic() + 30, 0.0
            while time.monotonic() < deadline:
                result = prom.query("sum(gen_ai_server_time_to_first_token_seconds_count)")
                counted = float(result[0]["value"][1]) if result else 0.0
                if counted >= sent:
                    break
                time.sleep(1)
            assert counted == sent
            buckets = prom.query('sum by (le) (gen_ai_server_time_to_first_token_seconds_bucket)')
            by_le = {b["metric"]["le"]: float(b["value"][1]) for b in buckets}
            assert by_le["+Inf"] == sent and len(by_le) == 17  # the conventions' 16 boundaries, and +Inf
            quantile = prom.query("histogram_quantile(0.5, sum by (le) (gen_ai_server_time_to_first_token_seconds_bucket))")
            assert 0 < float(quantile[0]["value"][1]) <= 10
            ops = prom.query("sum by (gen_ai_operation_name) (gen_ai_server_request_duration_seconds_count)")
            assert {o["metric"]["gen_ai_operation_name"]: float(o["value"][1]) for o in ops} == {
                "chat": 3, "text_completion": 2}
    # the server's own sinks, flushed when it stopped: the DuckDB store and the JSONL file
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute("SELECT name, kind FROM spans").fetchall()
    assert sorted(n.split()[0] for n, k in stored if k == "INTERNAL") == ["chat"] * 3 + ["text_completion"] * 2
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert sorted(s["name"] for s in lines) == sorted(n for n, _ in stored)
