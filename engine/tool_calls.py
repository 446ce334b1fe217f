"""Tool calls as text, in the Hermes convention (Qwen's and NousResearch's chat templates use it): the
function signatures in `<tools>` in the system message, each call as a `<tool_call>` block holding
`{"name": ..., "arguments": {...}}`, each tool's result handed back in `<tool_response>`. Any chat
template renders these as text, the default model's too, which knows nothing of tools; the server and
the harness both write and read calls this way. Torch-free.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

Tool = Mapping[str, Any]  # OpenAI's shape: {"type": "function", "function": {"name", "description", "parameters"}}

_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)
_INSTRUCTIONS = (
    "You may call one or more functions to assist with the user query. You are provided with function "
    "signatures within <tools></tools> XML tags:\n<tools>\n{tools}\n</tools>\n\nFor each function call, return "
    "a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{{"name": <function-name>, "arguments": <args-json-object>}}\n</tool_call>'
)


@dataclass(frozen=True)
class Call:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ToolUse:
    """How one conversation uses its tools: its messages with the offered tools written in, the schema a
    forced call is decoded under, and whether the reply is read for calls."""

    messages: tuple[dict[str, str], ...]
    json_schema: str | None  # set when a call is forced (tool choice "required" or a tool's name)
    reads_calls: bool

    def calls(self, reply: str) -> tuple[str, list[Call]]:
        """The reply's calls and the text around them (all of it where it makes none)."""
        if not self.reads_calls:
            return reply, []
        if self.json_schema is not None:
            call = _forced_call(reply)
            return ("", [call]) if call else (reply, [])
        return read_calls(reply)


def use_tools(messages: Sequence[dict[str, str]], tools: Sequence[Tool], choice: str) -> ToolUse:
    """`messages` with the tools a reply may call under `choice` ("none", "auto", "required" or one tool's
    name); a required or named call is a structured output under `_forced_schema`."""
    chosen = [] if choice == "none" else [t for t in tools if choice in ("auto", "required")
                                          or t["function"]["name"] == choice]
    if not chosen:
        return ToolUse(tuple(messages), None, reads_calls=False)
    return ToolUse(with_tools(messages, chosen), _forced_schema(chosen) if forces(choice) else None, reads_calls=True)


def forces(choice: str) -> bool:
    """Whether `choice` makes the reply a call."""
    return choice not in ("none", "auto")


def with_tools(messages: Sequence[dict[str, str]], tools: Sequence[Tool]) -> tuple[dict[str, str], ...]:
    """`messages` with the tools' signatures and how to call them added to the system message (or a new one)."""
    instructions = _INSTRUCTIONS.format(tools="\n".join(json.dumps(t) for t in tools))
    if messages and messages[0]["role"] in ("system", "developer"):
        first = messages[0]
        return ({"role": first["role"], "content": f"{first['content']}\n\n{instructions}"}, *messages[1:])
    return ({"role": "system", "content": instructions}, *messages)


def block(call: Call) -> str:
    return f"<tool_call>\n{json.dumps({'name': call.name, 'arguments': call.arguments})}\n</tool_call>"


def tool_response(content: str) -> dict[str, str]:
    """A tool's result as the user turn that hands it back."""
    return {"role": "user", "content": f"<tool_response>\n{content}\n</tool_response>"}


def _forced_schema(tools: Sequence[Tool]) -> str:
    """JSON text of the schema a forced call is decoded under: one of the tools, by name, with arguments
    that match that tool's own parameter schema."""
    return json.dumps({"anyOf": [
        {"type": "object", "additionalProperties": False, "required": ["name", "arguments"],
         "properties": {"name": {"const": t["function"]["name"]},
                        "arguments": t["function"].get("parameters") or {"type": "object"}}}
        for t in tools]})


def _forced_call(text: str) -> Call | None:
    """The call a forced reply is (None when max_tokens cut it short)."""
    try:
        return _call(json.loads(text))
    except ValueError:
        return None


def read_calls(text: str) -> tuple[str, list[Call]]:
    """A reply's `<tool_call>` blocks as calls, and the text around them; a block that is not a call
    (broken JSON, no name) stays in the text."""
    calls: list[Call] = []

    def taken(block: re.Match) -> str:
        try:
            calls.append(_call(json.loads(block.group(1))))
        except ValueError:
            return block.group(0)
        return ""

    rest = _BLOCK.sub(taken, text)
    return rest.strip() if calls else text, calls


def _call(value: Any) -> Call:
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise ValueError("a call is an object with a string name")
    arguments = value.get("arguments", {})
    if isinstance(arguments, str):
        arguments = json.loads(arguments)
    if not isinstance(arguments, dict):
        raise ValueError("a call's arguments are an object")
    return Call(value["name"], arguments)
