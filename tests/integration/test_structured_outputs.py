"""Structured outputs on the default model: JSON schemas with nested objects, enums, arrays and required
fields, asked for through the openai SDK of `goldgate serve`, all come back as JSON that `jsonschema`
validates; an unsupported keyword is a 400 naming it; and constrained requests in a batch leave the
unconstrained ones token-identical to the same requests run alone."""

from __future__ import annotations

import asyncio
import json

import jsonschema
import openai
import pytest
import torch

from engine import GenerationRequest, SamplingParams
from engine.engine import Engine
from tests.serving import goldgate_serve

pytestmark = pytest.mark.model

SUBJECTS = ["a bakery", "a library", "a football club", "a hospital", "a bookshop", "a farm", "a school",
            "a museum", "a train station", "a zoo"]


def schema(i: int) -> dict:
    """Twenty schemas: two shapes, each nesting an object and an array, with enums and required fields."""
    address = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 30},
                                                "country": {"enum": ["UK", "France", "Spain", "Italy"]}},
               "required": ["city", "country"], "additionalProperties": False}
    if i % 2 == 0:
        return {"type": "object", "additionalProperties": False, "required": ["name", "kind", "address", "staff"],
                "properties": {
                    "name": {"type": "string", "maxLength": 40},
                    "kind": {"enum": ["public", "private"]},
                    "address": address,
                    "staff": {"type": "array", "maxItems": 3, "items": {
                        "type": "object", "additionalProperties": False, "required": ["role", "years"],
                        "properties": {"role": {"type": "string", "maxLength": 20},
                                       "years": {"type": "integer", "minimum": 0, "maximum": 50}}}}}}
    return {"type": "object", "additionalProperties": False, "required": ["title", "rating", "open", "tags"],
            "properties": {
                "title": {"type": "string", "maxLength": 40},
                "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                "open": {"type": "boolean"},
                "tags": {"type": "array", "minItems": 1, "maxItems": 4,
                         "items": {"enum": ["busy", "quiet", "old", "new", "cheap", "dear"]}},
                "location": address}}


def ask(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Describe {SUBJECTS[i % len(SUBJECTS)]} as JSON."}]


def response_format(i: int) -> dict:
    return {"type": "json_schema", "json_schema": {"name": f"shape{i % 2}", "schema": schema(i), "strict": True}}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with goldgate_serve("--max-batch", "32", "--device", "cpu", "--dtype", "float32",
                        log=tmp_path_factory.mktemp("serve") / "serve.log") as url:
        yield url


@pytest.fixture(scope="module")
def engine(default_model_path) -> Engine:
    return Engine.load(default_model_path, device="cpu", dtype=torch.float32, max_batch_size=8)


def test_twenty_schemas_all_validate_through_the_sdk(server) -> None:
    client = openai.AsyncOpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0, timeout=600)

    async def main():
        model = (await client.models.list()).data[0].id
        return await asyncio.gather(*(client.chat.completions.create(
            model=model, messages=ask(i), temperature=0, max_tokens=400, response_format=response_format(i))
            for i in range(20)))

    answers = asyncio.run(main())
    for i, answer in enumerate(answers):
        choice = answer.choices[0]
        assert choice.finish_reason == "stop", (i, choice.message.content)
        jsonschema.validate(json.loads(choice.message.content), schema(i))


def test_streamed_on_completions_and_json_object(server) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0, timeout=600)
    model = client.models.list().data[0].id
    chunks = client.chat.completions.create(model=model, messages=ask(3), temperature=0, max_tokens=300, stream=True,
                                            response_format=response_format(3))
    jsonschema.validate(json.loads("".join(c.choices[0].delta.content or "" for c in chunks if c.choices)), schema(3))
    text = client.completions.create(model=model, prompt="A zoo, described in JSON:", temperature=0, max_tokens=300,
                                     extra_body={"response_format": response_format(1)}).choices[0].text
    jsonschema.validate(json.loads(text), schema(1))
    answer = client.chat.completions.create(
        model=model, temperature=0, max_tokens=100, response_format={"type": "json_object"},
        messages=[{"role": "user",
                   "content": 'Reply with a JSON object whose key "capital" names the capital of France.'}])
    assert answer.choices[0].finish_reason == "stop"
    assert isinstance(json.loads(answer.choices[0].message.content), dict)


def test_an_unsupported_keyword_is_a_400_naming_it(server) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0)
    bad = {"type": "json_schema", "json_schema": {"name": "cond", "schema": {
        "type": "object", "if": {"required": ["a"]}, "then": {"required": ["b"]}}}}
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model=client.models.list().data[0].id, messages=ask(0), response_format=bad)
    assert refused.value.body["param"] == "response_format" and '"if"' in refused.value.body["message"]
    assert client.models.list().data  # still serving


def test_constrained_neighbours_leave_unconstrained_requests_token_identical(engine) -> None:
    free = [GenerationRequest(messages=tuple(ask(i)), params=SamplingParams(temperature=t, seed=7, max_tokens=48))
            for i, t in ((4, 0.0), (5, 0.8))]
    constrained = [GenerationRequest(messages=tuple(ask(i)), params=SamplingParams(
        temperature=0, max_tokens=300, json_schema=json.dumps(schema(i)))) for i in (0, 1)]
    alone = [engine.generate([r])[0].token_ids for r in free]
    mixed = engine.generate([constrained[0], free[0], constrained[1], free[1]])
    assert [mixed[1].token_ids, mixed[3].token_ids] == alone
    for r, i in ((mixed[0], 0), (mixed[2], 1)):
        jsonschema.validate(json.loads(r.text), schema(i))
