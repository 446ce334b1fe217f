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


def offered(tools: Sequence[Tool], choice: str) -> list[Tool]:
    """The tools a reply may call under `choice`: "none", "auto", "required" or one tool's name."""
    if choice == "none":
        return []
    return [t for t in tools if choice in ("auto", "required") or t["function"]["name"] == choice]


def forces(choice: str) -> bool:
    """Whether `choice` makes the reply a call (it is then decoded under `forced_schema`)."""
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


def forced_schema(tools: Sequence[Tool]) -> str:
    """JSON text of the schema a forced call is decoded under: one of the tools, by name, with arguments
    that match that tool's own parameter schema."""
    return json.dumps({"anyOf": [
        {"type": "object", "additionalProperties": False, "required": ["name", "arguments"],
         "properties": {"name": {"const": t["function"]["name"]},
                        "arguments": t["function"].get("parameters") or {"type": "object"}}}
        for t in tools]})


def forced_call(text: str) -> Call | None:
    """The call a forced reply is (None when max_tokens cut it short)."""
    try:
        return _call(json.loads(text))
    except ValueError:
        return None


def read_calls(text: str) -> tuple[str, list[Call]]:
    """A reply's `<tool_call>` blocks as calls, and the text around them; a block that is not a call
    (broken JSON, no name) stays in the text."""
    calls, kept = [], []
    for found in _BLOCK.finditer(text):
        try:
            calls.append(_call(json.loads(found.group(1))))
        except ValueError:
            kept.append(found.group(0))
    rest = _BLOCK.sub(lambda m: m.group(0) if m.group(0) in kept else "", text)
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
