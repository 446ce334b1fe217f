"""Structured outputs on a tiny random-weight model: random weights follow a schema only because the
mask makes them; rows without a schema keep their logits bit for bit; bad schemas are 400s naming
`response_format`, through the server as through the engine."""

from __future__ import annotations

import json

import httpx
import jsonschema
import pytest
import torch

from engine import GenerationRequest, InvalidRequestError, SamplingParams
from engine.async_engine import AsyncEngine
from engine.engine import Engine
from tests.serving import app_in_thread
from tests.telemetry_helpers import MemoryTelemetry

SCHEMA = {"type": "object", "additionalProperties": False, "required": ["ok", "level", "tags"],
          "properties": {"ok": {"type": "boolean"}, "level": {"enum": ["low", "high"]},
                         "tags": {"type": "array", "maxItems": 2, "items": {"type": "integer", "minimum": 0,
                                                                            "maximum": 9}}}}


@pytest.fixture(scope="module")
def engine(tiny_gguf) -> Engine:
    return Engine.load(tiny_gguf, device="cpu", max_batch_size=4, kv_cache_tokens=4096)


def constrained(seed: int, schema: dict = SCHEMA) -> GenerationRequest:
    return GenerationRequest(prompt="hello", params=SamplingParams(temperature=1.0, seed=seed, max_tokens=200,
                                                                   json_schema=json.dumps(schema)))


def test_random_weights_sampled_under_a_schema_always_validate(engine) -> None:
    results = engine.generate([constrained(seed) for seed in range(8)])
    for r in results:
        assert r.finish_reason == "stop", r.text
        jsonschema.validate(json.loads(r.text), SCHEMA)
    free = engine.generate([GenerationRequest(prompt="hello", params=SamplingParams(seed=0, max_tokens=40))])[0]
    with pytest.raises(json.JSONDecodeError):  # the same weights without the mask write no JSON
        json.loads(free.text)


def test_the_mask_touches_only_constrained_rows(engine) -> None:
    logits = torch.randn(3, engine.loaded.config.vocab_size)
    matcher = engine.grammars.matcher(json.dumps(SCHEMA), "response_format")
    masked = logits.clone()
    engine.grammars.constrain(masked, [None, matcher, None])
    assert torch.equal(masked[[0, 2]], logits[[0, 2]])
    allowed = masked[1].isfinite().nonzero()[:, 0].tolist()
    assert [engine.tokenizer.decode([t]) for t in allowed] == ["{"]  # the only way a JSON object starts
    assert torch.equal(masked[1, allowed], logits[1, allowed])


@pytest.mark.parametrize("schema, says", [({"type": "strng"}, "strng"), ({"if": {"type": "string"}}, '"if"')])
def test_a_schema_the_engine_cannot_enforce_names_why(engine, schema, says) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        engine.validate(constrained(0, schema))
    assert refused.value.field == "response_format" and says in str(refused.value)


def test_the_server_refuses_bad_response_formats_with_400(tiny_gguf) -> None:
    memory = MemoryTelemetry()
    engine = Engine.load(tiny_gguf, device="cpu", max_batch_size=2, kv_cache_tokens=1024, telemetry=memory.tel)
    chat = {"model": engine.model_id, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 40,
            "temperature": 0}
    with app_in_thread(AsyncEngine(engine, max_waiting=4), memory.tel) as url:
        for response_format, param in (({"type": "json_schema"}, "response_format"),
                                       ({"type": "yaml"}, "response_format.type"),
                                       ({"type": "json_schema",
                                         "json_schema": {"name": "x", "schema": {"type": "nope"}}},
                                        "response_format")):
            refused = httpx.post(f"{url}/v1/chat/completions", json=chat | {"response_format": response_format})
            assert refused.status_code == 400 and refused.json()["error"]["param"] == param, refused.text
        small = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"],
                 "additionalProperties": False}
        kept = httpx.post(f"{url}/v1/chat/completions", json=chat | {
            "response_format": {"type": "json_schema", "json_schema": {"name": "small", "schema": small}}})
        assert kept.status_code == 200, kept.text
        jsonschema.validate(json.loads(kept.json()["choices"][0]["message"]["content"]), small)
