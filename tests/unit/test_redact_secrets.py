"""Credentials pasted into a prompt never reach a span, an event or the store: each kind is redacted by
the shape its issuer gives it, and the words around it survive. (The values are made-up, well-formed
stand-ins, never real keys.)"""

from __future__ import annotations

import json
import time
from pathlib import Path

import duckdb
import pytest

from evals.store.spans import write_spans
from evals.store.store import Store
from telemetry import GenerationRecord, configure, record_generation
from telemetry.redact import Redactor
from telemetry.sinks import SpanRowBuffer

KEY_BODY = "ab12CD34ef56GH78ij90KL12mn34OP56qr78ST90"  # 40 letters and digits
PLANTED = {
    "OPENAI_KEY": f"sk-proj-{KEY_BODY[:32]}",
    "ANTHROPIC_KEY": f"sk-ant-api03-{KEY_BODY}",
    "AWS_ACCESS_KEY": "AKIA" + "ABCDEFGHIJKLMNOP",
    "GITHUB_TOKEN": f"ghp_{KEY_BODY[:36]}",
    "SLACK_TOKEN": "xoxb-1234567890-0987654321-" + KEY_BODY[:24],
    "JWT": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
}
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # 40 characters, AWS's documented example shape
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7v\nq1w2e3r4t5y6\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize("label", sorted(PLANTED))
def test_each_kind_of_key_is_redacted_and_the_words_around_it_kept(label: str) -> None:
    assert Redactor()(f"my key is {PLANTED[label]} thanks") == f"my key is [{label}] thanks"


def test_an_aws_secret_is_redacted_where_it_follows_its_name() -> None:
    assert Redactor()(f"aws_secret_access_key = {AWS_SECRET}") == "aws_secret_access_key = [AWS_SECRET_KEY]"
    assert Redactor()(f'"AWS_SECRET_KEY": "{AWS_SECRET}"') == '"AWS_SECRET_KEY": "[AWS_SECRET_KEY]"'


def test_a_private_key_block_and_a_bearer_token_are_redacted() -> None:
    assert Redactor()(f"key:\n{PRIVATE_KEY}\nend") == "key:\n[PRIVATE_KEY]\nend"
    assert Redactor()(f"Authorization: Bearer {KEY_BODY}") == "Authorization: Bearer [TOKEN]"


@pytest.mark.parametrize("text", [
    "the task-management skill is key",  # "sk-" inside a word
    "see sk-short for details",  # too short to be a key
    "a 40-character hash 0123456789abcdef0123456789abcdef01234567 with no secret's name before it",
    "eyJ is how base64 JSON starts",
])
def test_text_that_only_looks_a_little_like_a_key_is_kept(text: str) -> None:
    assert Redactor()(text) == text


def test_planted_secrets_reach_no_span_no_event_and_no_stored_row(tmp_path: Path) -> None:
    rows = SpanRowBuffer()
    tel = configure(env={"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_AND_EVENT"}, span_rows=rows)
    secrets = [*PLANTED.values(), AWS_SECRET, PRIVATE_KEY]
    prompt = " ".join(f"key {i}: {s}" for i, s in enumerate(PLANTED.values()))
    prompt += f"\naws_secret_access_key={AWS_SECRET}\n{PRIVATE_KEY}"
    now = time.time_ns()
    record_generation(tel, GenerationRecord(
        operation="chat", provider="goldgate", request_model="m", start_ns=now - 10**8, end_ns=now,
        finish_reason="stop", messages=({"role": "user", "content": prompt},),
        output=f"Stored your key {PLANTED['OPENAI_KEY']}."))
    tel.shutdown()
    (span,) = rows.drain()
    assert "gen_ai.input.messages" in json.loads(span.attributes)  # content was captured, then redacted
    assert json.loads(span.events)[0]["attributes"]["gen_ai.input.messages"]  # and on the event
    db = tmp_path / "gg.duckdb"
    write_spans(Store(db), [span])
    with duckdb.connect(str(db), read_only=True) as con:
        stored = json.dumps(con.execute("SELECT * FROM spans").fetchall(), default=str)
    for text in (span.attributes, span.events, stored):
        assert not [s for s in secrets if s in text or s.replace("\n", "\\n") in text]
    assert all(f"[{label}]" in span.attributes for label in [*PLANTED, "AWS_SECRET_KEY", "PRIVATE_KEY"])
