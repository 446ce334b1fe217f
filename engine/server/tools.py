"""Tool calls on chat, in OpenAI's shapes: the request's tools and earlier calls written into the
conversation (engine.tool_calls: the Hermes convention, which any chat template renders), and the
reply read back into `message.tool_calls`. A required or named tool choice is a structured output:
the grammar admits only a call of an offered function with arguments that match its parameter schema.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from engine.server.protocol import ChatCompletionRequest, ChatMessage
from engine.tool_calls import Call, ToolUse, block, tool_response, use_tools


def plan(body: ChatCompletionRequest) -> ToolUse:
    tools = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in body.tools or ()]
    return use_tools(tuple(_as_text(m) for m in body.messages), tools, body.tool_choice_name)


def read_reply(use: ToolUse, text: str) -> tuple[str | None, list[dict[str, Any]]]:
    """The reply's content (None when it is only calls, or empty where calls were looked for) and its calls
    in OpenAI's shape."""
    content, calls = use.calls(text)
    if calls or (use.reads_calls and use.json_schema is None):
        content = content or None
    return content, [_openai(c) for c in calls]


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
