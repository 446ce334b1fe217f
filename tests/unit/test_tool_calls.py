"""Tool calls through the official openai SDK on a tiny random-weight model: a required or named call is
always a call of an offered function whose arguments validate against its schema (whole and streamed),
earlier calls and tool results go back into the conversation, a reply's call blocks are read out of its
text, and contradictory requests are 400s."""

from __future__ import annotations

import json

import jsonschema
import openai
import pytest

from engine.server import tools
from engine.server.protocol import ChatCompletionRequest
from engine.tool_calls import Call, read_calls
from tests.serving import served_engine
from tests.tiny_models import write_gguf

WEATHER = {"type": "object", "additionalProperties": False, "required": ["city", "unit"],
           "properties": {"city": {"enum": ["Paris", "Oslo"]}, "unit": {"enum": ["C", "F"]}}}
FLAG = {"type": "object", "additionalProperties": False, "required": ["on"], "properties": {"on": {"type": "boolean"}}}
TOOLS = [{"type": "function", "function": {"name": "weather", "parameters": WEATHER}},
         {"type": "function", "function": {"name": "flag", "parameters": FLAG}}]
ASK = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The tiny model with a context long enough for the tools' signatures (a byte a token)."""
    path = write_gguf(tmp_path_factory.mktemp("tools") / "tiny-2k.gguf", context_length=2048)
    with served_engine(path, max_batch_size=4, kv_cache_tokens=8192) as s:
        yield s.client, s.engine


def schema_of(name: str) -> dict:
    return next(t["function"]["parameters"] for t in TOOLS if t["function"]["name"] == name)


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "flag"}}])
def test_a_forced_call_always_validates_against_its_functions_schema(served, choice) -> None:
    client, engine = served
    for seed in range(3):
        reply = client.chat.completions.create(model=engine.model_id, messages=ASK, tools=TOOLS, tool_choice=choice,
                                               temperature=1.0, seed=seed, max_tokens=60)
        (call,) = reply.choices[0].message.tool_calls
        assert reply.choices[0].finish_reason == "tool_calls" and reply.choices[0].message.content is None
        assert call.function.name in ("weather", "flag") and call.id.startswith("call_")
        if isinstance(choice, dict):
            assert call.function.name == "flag"
        jsonschema.validate(json.loads(call.function.arguments), schema_of(call.function.name))


def test_a_streamed_forced_call_arrives_as_one_tool_call_delta(served) -> None:
    client, engine = served
    chunks = list(client.chat.completions.create(model=engine.model_id, messages=ASK, tools=TOOLS, max_tokens=60,
                                                 tool_choice="required", temperature=0, stream=True))
    deltas = [d for c in chunks if c.choices for d in c.choices[0].delta.tool_calls or ()]
    assert len(deltas) == 1 and deltas[0].index == 0
    jsonschema.validate(json.loads(deltas[0].function.arguments), schema_of(deltas[0].function.name))
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_earlier_calls_and_tool_results_go_back_into_the_conversation(served) -> None:
    client, engine = served
    first = client.chat.completions.create(model=engine.model_id, messages=ASK, tools=TOOLS, tool_choice="required",
                                           temperature=0, max_tokens=60).choices[0].message
    call = first.tool_calls[0]
    turn = [*ASK, first.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": '{"temperature": 18}'}]
    reply = client.chat.completions.create(model=engine.model_id, messages=turn, tools=TOOLS, tool_choice="none",
                                           temperature=0, max_tokens=4)
    assert reply.choices[0].message.tool_calls is None and reply.choices[0].finish_reason in ("stop", "length")
    use = tools.plan(ChatCompletionRequest.model_validate({"model": "m", "messages": turn, "tools": TOOLS}))
    rendered = [m["content"] for m in use.messages]
    assert '"name": "weather"' in rendered[0] and "<tools>" in rendered[0]  # the signatures, in the system message
    assert f'"name": "{call.function.name}"' in rendered[2] and "<tool_call>" in rendered[2]
    assert rendered[3] == '<tool_response>\n{"temperature": 18}\n</tool_response>'
    assert use.reads_calls and use.json_schema is None  # auto: free text, read for calls afterwards


def test_call_blocks_are_read_out_of_a_replys_text() -> None:
    text = ('Checking. <tool_call>\n{"name": "weather", "arguments": {"city": "Oslo", "unit": "C"}}\n</tool_call>'
            '<tool_call>{"name": "flag", "arguments": "{\\"on\\": true}"}</tool_call> <tool_call>not json</tool_call>')
    rest, calls = read_calls(text)
    assert calls == [Call("weather", {"city": "Oslo", "unit": "C"}), Call("flag", {"on": True})]
    assert rest == "Checking.  <tool_call>not json</tool_call>"
    assert read_calls("no calls here") == ("no calls here", [])


@pytest.mark.parametrize("extra, says", [
    ({"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "not among the tools"),
    ({"tool_choice": "required"}, "needs tools"),
    ({"tools": TOOLS, "tool_choice": "required", "response_format": {"type": "json_object"}}, "not both"),
])
def test_contradictory_tool_requests_are_400(served, extra, says) -> None:
    client, engine = served
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model=engine.model_id, messages=ASK, max_tokens=4, **extra)
    assert says in str(refused.value)
    with pytest.raises(openai.BadRequestError) as refused:  # a tool message must name the call it answers
        client.chat.completions.create(model=engine.model_id, max_tokens=4, messages=[*ASK, {"role": "tool",
                                                                                           "content": "18"}])
    assert "tool_call_id" in str(refused.value)
