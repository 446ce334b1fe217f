"""`goldgate datasets harvest` over planted production spans in a real store: redacted again (the plant was
captured with no redaction at all), deduplicated, labelled, stratified, audited, and valid as a golden set."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from evals.golden.dataset import load_golden_set
from evals.store.retention import audit_log
from evals.store.spans import write_spans
from evals.store.store import Store, now
from telemetry.messages import content_attributes
from telemetry.redact import Redactor
from telemetry.sinks import SpanRecord
from tests.cli_helpers import assert_one_line_error, run_cli

EMAIL, CARD = "jane.doe@example.com", "4111 1111 1111 1111"  # a Luhn-valid test card number
NO_REDACTION = Redactor(rules=())


def _request(i: int, ago: timedelta, text: str, *, feature: str | None, system: str | None = None,
             run_id: str | None = None) -> SpanRecord:
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": text}]
    attrs = {**content_attributes(messages, None, "an answer", "stop", NO_REDACTION), "goldgate.tenant": "acme"}
    end = now() - ago
    return SpanRecord(f"{i:032x}", f"{i:016x}", None, "chat m", "INTERNAL", end, end, "UNSET", json.dumps(attrs), "[]",
                      run_id, None, "m", 0.5, 0.1, None, 10, 3, None, "stop", None, None, None, None, feature, None)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    db = tmp_path / "prod.duckdb"
    spans = [_request(i, timedelta(hours=i + 1), f"search question {i}", feature="search") for i in range(60)]
    spans += [_request(100 + i, timedelta(hours=i, minutes=30), f"chat question {i}", feature="chat",
                       system="You are terse.") for i in range(40)]
    spans += [_request(200, timedelta(minutes=5), f"Mail {EMAIL}, card {CARD}, please", feature="search"),
              _request(201, timedelta(hours=100), "search question 1", feature="search"),  # the same input, earlier
              _request(202, timedelta(days=30), "a month old", feature="search"),
              _request(203, timedelta(minutes=1), "an eval run's", feature="search", run_id="r1")]
    write_spans(Store(db), spans)
    return db


def test_harvest_writes_a_valid_redacted_deduplicated_candidate_set(capsys, store: Path, tmp_path: Path) -> None:
    out = tmp_path / "candidates.jsonl"
    code, printed, err = run_cli(capsys, "datasets", "harvest", "--db", str(store), "--since", "7d", "--out", str(out))
    assert code == 0, err
    golden = load_golden_set(out)
    assert len(golden) == 101 and "101 candidate examples from 102 captured requests (1 repeated" in printed
    text = out.read_text()
    assert EMAIL not in text and CARD not in text
    assert Redactor()(f"Mail {EMAIL}, card {CARD}, please") in text  # what today's rules make of it
    by_trace = {ex.trace_id: ex for ex in golden.examples}
    assert f"{201:032x}" in by_trace and f"{1:032x}" not in by_trace  # a repeated input keeps its first trace
    assert f"{202:032x}" not in by_trace and f"{203:032x}" not in by_trace  # too old; a run's, not production's
    chat = next(ex for ex in golden.examples if ex.labels["feature"] == "chat")
    assert [m.role for m in chat.input] == ["system", "user"] and chat.input[0].content == "You are terse."
    search = by_trace[f"{2:032x}"]
    assert search.input == "search question 2" and search.labels == {"feature": "search", "tenant": "acme",
                                                                     "model": "m", "finish_reason": "stop"}
    assert all(ex.provenance == "production" and ex.expected.references == () for ex in golden.examples)
    assert run_cli(capsys, "datasets", "validate", str(out))[0] == 0
    (read,) = audit_log(Store(store))
    assert read[1:] == ("goldgate datasets harvest", "read_content", "since 7d", 102)


def test_a_stratified_sample_keeps_the_features_proportions(capsys, store: Path, tmp_path: Path) -> None:
    out = tmp_path / "sample.jsonl"
    code, _, err = run_cli(capsys, "datasets", "harvest", "--db", str(store), "--sample", "20", "--stratify", "feature",
                           "--seed", "3", "--out", str(out))
    assert code == 0, err
    counts = Counter(ex.labels["feature"] for ex in load_golden_set(out).examples)
    assert counts == {"search": 12, "chat": 8}  # 61 and 40 distinct inputs: 20 split by largest remainder
    again = tmp_path / "again.jsonl"
    run_cli(capsys, "datasets", "harvest", "--db", str(store), "--sample", "20", "--stratify", "feature", "--seed", "3",
            "--out", str(again))
    assert again.read_text() == out.read_text()  # the same seed, the same sample


@pytest.mark.parametrize("flags, needle", [
    (["--since", "soon"], "--since"),
    (["--sample", "0"], "--sample"),
    (["--stratify", "colour", "--sample", "5"], "'colour'"),
    (["--since", "1s"], "no production request"),
])
def test_bad_harvests_are_exit_2_and_write_nothing(capsys, store: Path, tmp_path: Path, flags, needle) -> None:
    out = tmp_path / "c.jsonl"
    code, _, err = run_cli(capsys, "datasets", "harvest", "--db", str(store), "--out", str(out), *flags)
    assert_one_line_error(code, err, needle)
    assert not out.exists()


def test_harvest_never_writes_over_an_existing_file(capsys, store: Path, tmp_path: Path) -> None:
    out = tmp_path / "labelled.jsonl"
    out.write_text("people's work\n")
    code, _, err = run_cli(capsys, "datasets", "harvest", "--db", str(store), "--out", str(out))
    assert_one_line_error(code, err, "--out", "exists")
    assert out.read_text() == "people's work\n"
