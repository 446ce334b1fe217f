"""Tool calls on chat, in OpenAI's shapes: the request's tools and earlier calls written into the
conversation (engine.tool_calls: the Hermes convention, which any chat template renders), and the
reply read back into `message.tool_calls`. A required or named tool choice is a structured output:
the grammar admits only a call of an offered function with arguments that match its parameter schema.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from engine.server.protocol import ChatCompletionRequest, ChatMessage
from engine.tool_calls import (Call, block, forced_call, forced_schema, forces, offered, read_calls, tool_response,
                               with_tools)


@dataclass(frozen=True)
class ToolUse:
    """How one chat request uses its tools: the messages as the template renders them, the schema a forced
    call is decoded under, and whether the reply is read for calls."""

    messages: tuple[dict[str, str], ...]
    json_schema: str | None  # set when a call is forced (tool_choice "required" or a named function)
    reads_calls: bool


def plan(body: ChatCompletionRequest) -> ToolUse:
    choice = body.tool_choice if isinstance(body.tool_choice, str) else body.tool_choice.function.name
    specs = offered([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in body.tools or ()], choice)
    messages = tuple(_as_text(m) for m in body.messages)
    if not specs:
        return ToolUse(messages, None, reads_calls=False)
    return ToolUse(with_tools(messages, specs), forced_schema(specs) if forces(choice) else None, reads_calls=True)


def read_reply(use: ToolUse, text: str) -> tuple[str | None, list[dict[str, Any]]]:
    """The reply's content (None when it is only calls) and its calls in OpenAI's shape."""
    if not use.reads_calls:
        return text, []
    if use.json_schema is not None:
        call = forced_call(text)
        return (None, [_openai(call)]) if call else (text, [])
    content, calls = read_calls(text)
    return content or None, [_openai(c) for c in calls]


def _openai(call: Call) -> dict[str, Any]:
    return {"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
            "function": {"name": call.name, "arguments": json.dumps(call.arguments)}}


def _as_text(m: ChatMessage) -> dict[str, str]:
    """A message as plain role and content: an assistant's calls written as blocks, a tool's result as the
    user turn that hands it back."""
    if m.role == "tool":
        return tool_response(m.content)
    blocks = [block(Call(c.function.name, json.loads(c.function.arguments))) for c in m.tool_calls or ()]
    return {"role": m.role, "content": "\n".join([m.content, *blocks] if m.content else blocks)}
