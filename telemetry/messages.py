"""Message content in the GenAI conventions' JSON shapes, redacted before it leaves the process."""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as g

from telemetry.redact import Redactor

# The conventions' event for content captured as an event (no constant in the semconv package yet)
INFERENCE_DETAILS_EVENT = "gen_ai.client.inference.operation.details"
CONTENT_KEYS = (g.GEN_AI_SYSTEM_INSTRUCTIONS, g.GEN_AI_INPUT_MESSAGES, g.GEN_AI_OUTPUT_MESSAGES)  # what capture writes


def _parts(text: str, redact: Redactor) -> list[dict[str, str]]:
    return [{"type": "text", "content": redact(text)}]


def content_attributes(messages: Sequence[Mapping[str, Any]] | None, prompt: str | None, output: str | None,
                       finish_reason: str | None, redact: Redactor) -> dict[str, str]:
    """`gen_ai.system_instructions`, `gen_ai.input.messages` and `gen_ai.output.messages` as JSON strings.
    A raw prompt is one user message; system messages become the system instructions."""
    chat = list(messages) if messages is not None else [{"role": "user", "content": prompt or ""}]
    system = [p for m in chat if m.get("role") == "system" for p in _parts(str(m.get("content", "")), redact)]
    inputs = [{"role": m.get("role", "user"), "parts": _parts(str(m.get("content", "")), redact)}
              for m in chat if m.get("role") != "system"]
    attrs = {g.GEN_AI_INPUT_MESSAGES: json.dumps(inputs)}
    if system:
        attrs[g.GEN_AI_SYSTEM_INSTRUCTIONS] = json.dumps(system)
    if output is not None:
        attrs[g.GEN_AI_OUTPUT_MESSAGES] = json.dumps(
            [{"role": "assistant", "parts": _parts(output, redact), "finish_reason": finish_reason or "stop"}])
    return attrs


def messages_text(messages_json: str | None) -> str | None:
    """The text of every part of messages captured by `content_attributes` (None when none were)."""
    if not messages_json:
        return None
    try:
        messages = json.loads(messages_json)
    except json.JSONDecodeError:
        return None
    return "\n".join(str(p.get("content", "")) for m in messages if isinstance(m, dict)
                     for p in m.get("parts", ()) if isinstance(p, dict))
