"""Message content capture: off by default, on with OTel's variable, and always through the redactor
(e-mail addresses, Luhn-valid card numbers, phone numbers, national ids, IP addresses)."""

from __future__ import annotations

import json

import pytest

import re
import time

from telemetry import GenerationRecord, record_generation
from telemetry.redact import DEFAULT_RULES, Redactor, Rule, luhn_valid
from telemetry.settings import CaptureMode, TelemetryConfigError, capture_mode
from tests.telemetry_helpers import MemoryTelemetry

PLANTED = ("Write to jane.doe+billing@example.co.uk or call +1 415-555-0132; my card is 4111 1111 1111 1111 "
           "and my order number is 4111 1111 1111 1112.")


ANSWER = "Sure, I will email jane.doe+billing@example.co.uk from 10.0.0.12."


def generate(capture: CaptureMode) -> MemoryTelemetry:
    """One finished chat generation's span, as the engine writes it (the tiny test model's 64-token window
    is too small for this prompt; the real model carries content end to end in the Phoenix test)."""
    memory = MemoryTelemetry(capture=capture)
    now = time.time_ns()
    record_generation(memory.tel, GenerationRecord(
        operation="chat", provider="goldgate", request_model="m", start_ns=now - 10**8, end_ns=now,
        finish_reason="stop", messages=({"role": "system", "content": "You are terse."},
                                        {"role": "user", "content": PLANTED}), output=ANSWER))
    return memory


@pytest.mark.parametrize("value", [None, "", "NO_CONTENT", "false", "FALSE"])
def test_capture_is_off_unless_asked_for(value) -> None:
    assert capture_mode(value) is CaptureMode.NO_CONTENT


@pytest.mark.parametrize("value, mode", [("true", CaptureMode.SPAN_ONLY), ("SPAN_ONLY", CaptureMode.SPAN_ONLY),
                                         ("event_only", CaptureMode.EVENT_ONLY),
                                         ("SPAN_AND_EVENT", CaptureMode.SPAN_AND_EVENT)])
def test_capture_takes_otels_values_and_true_as_an_alias(value, mode) -> None:
    assert capture_mode(value) is mode


def test_an_unknown_capture_value_names_the_variable() -> None:
    with pytest.raises(TelemetryConfigError, match="OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT.*'yes please'"):
        capture_mode("yes please")


def test_with_capture_off_no_message_text_leaves_in_any_span_or_event() -> None:
    memory = generate(CaptureMode.NO_CONTENT)
    exported = json.dumps([json.loads(s.to_json()) for s in memory.finished()])
    assert "jane.doe" not in exported and "terse" not in exported and "Write to" not in exported
    assert not any(s.events for s in memory.finished())


def test_with_capture_on_the_text_is_on_the_span_and_event_with_pii_redacted() -> None:
    memory = generate(CaptureMode.SPAN_AND_EVENT)
    (span,) = memory.finished()
    inputs = json.loads(span.attributes["gen_ai.input.messages"])
    assert inputs == [{"role": "user", "parts": [{"type": "text", "content": (
        "Write to [EMAIL] or call [PHONE]; my card is [CARD] and my order number is 4111 1111 1111 1112.")}]}]
    assert json.loads(span.attributes["gen_ai.system_instructions"]) == [{"type": "text", "content": "You are terse."}]
    (out,) = json.loads(span.attributes["gen_ai.output.messages"])
    assert out == {"role": "assistant", "finish_reason": "stop",
                   "parts": [{"type": "text", "content": "Sure, I will email [EMAIL] from [IP]."}]}
    (event,) = span.events
    assert event.name == "gen_ai.client.inference.operation.details"
    assert event.attributes["gen_ai.input.messages"] == span.attributes["gen_ai.input.messages"]
    exported = json.dumps([json.loads(s.to_json()) for s in memory.finished()])
    assert "jane.doe" not in exported and "555-0132" not in exported and "4111 1111 1111 1111" not in exported


def test_event_only_capture_keeps_the_text_off_the_span_attributes() -> None:
    memory = generate(CaptureMode.EVENT_ONLY)
    (span,) = memory.finished()
    assert "gen_ai.input.messages" not in span.attributes
    assert "[EMAIL]" in span.events[0].attributes["gen_ai.input.messages"]


@pytest.mark.parametrize("text, expected", [
    ("mail a.b@c.io now", "mail [EMAIL] now"),
    ("card 5555-5555-5555-4444 ok", "card [CARD] ok"),
    ("card 5555-5555-5555-4445 ok", "card 5555-5555-5555-4445 ok"),  # fails Luhn: not a card
    ("ssn 123-45-6789", "ssn [SSN]"),
    ("NI number AB 12 34 56 C", "NI number [NATIONAL_ID]"),  # UK national insurance
    ("from 192.168.10.7 and 2001:db8::ff00:42:8329", "from [IP] and [IP]"),
    ("version 999.1.1.1 stays", "version 999.1.1.1 stays"),  # not a valid IPv4 address
    ("call (020) 7946 0958 or 415.555.0199", "call [PHONE] or [PHONE]"),
    ("in 2024 we shipped 1500 units", "in 2024 we shipped 1500 units"),
])
def test_the_redactor(text, expected) -> None:
    assert Redactor()(text) == expected


def test_luhn_agrees_with_known_numbers() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")


def test_teams_add_their_own_rules() -> None:
    employee = Rule("EMPLOYEE", re.compile(r"\bEMP-\d{6}\b"))
    assert Redactor(rules=(*DEFAULT_RULES, employee))("EMP-004211 at a@b.io") == "[EMPLOYEE] at [EMAIL]"
