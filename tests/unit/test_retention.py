"""Retention: `store prune` and `store forget` remove exactly the planted rows (counted before and after),
a dry run changes nothing, results and summaries are untouched, the file is compacted, and the audit
log lists the content reads made here (an export and the Traces page) and the deletions."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from evals.settings import DB_VARIABLE
from evals.store.spans import write_spans
from evals.store.store import Store, now
from telemetry.sinks import SpanRecord
from tests.cli_helpers import assert_one_line_error, run_cli
from tests.synthetic_runs import golden_set, write_run

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
CONTENT = {"gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]),
           "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "yo"}]}])}
EVENT = [{"name": "gen_ai.client.inference.operation.details", "time": "t", "attributes": CONTENT}]


def _span(n: int, age_days: float, *, content: bool = False, user: str | None = None, run_id: str | None = None,
          trace: int | None = None) -> SpanRecord:
    end = now() - timedelta(days=age_days)
    attributes = {"gen_ai.operation.name": "chat", **(CONTENT if content else {}),
                  **({"goldgate.user.hash": user} if user else {})}
    return SpanRecord(f"{trace if trace is not None else n:032x}", f"{n:016x}", None, "chat m", "INTERNAL", end, end,
                      "UNSET", json.dumps(attributes), json.dumps(EVENT if content and n % 2 else []), run_id, None, "m",
                      0.1, None, None, 5, 5, None, None, None, None, None, None, None, None)


def _sql(db: Path, query: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(query).fetchall()


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Path, str]:
    store = Store(tmp_path / "gg.duckdb")
    golden = golden_set(tmp_path, 50, 2)
    run_id = write_run(store, golden, "r1", {ex.id: 1.0 for ex in golden.examples})
    spans = [_span(i, 40) for i in range(30)]  # old: deleted at 30d
    spans += [_span(100 + i, 10, content=True) for i in range(20)]  # content older than 7d: stripped
    spans += [_span(200 + i, 10) for i in range(10)]  # no content: untouched
    spans += [_span(300 + i, 1, content=True, run_id=run_id) for i in range(5)]  # recent content: kept
    spans += [_span(400 + i, 1, user="a" * 32, trace=400 + i // 2) for i in range(4)]  # two traces of user A
    spans += [_span(500, 1, user="b" * 32)]
    write_spans(store, spans)
    return store.path, run_id


def test_prune_counts_then_removes_exactly_the_planted_rows(capsys, planted) -> None:
    db, run_id = planted
    before = {t: _sql(db, f"SELECT * FROM {t} ORDER BY ALL") for t in ("results", "scores", "runs")}
    prune = ("store", "prune", "--spans-older-than", "30d", "--content-older-than", "7d", "--db", str(db))
    code, out, _ = run_cli(capsys, *prune)
    assert code == 0 and "would delete 30 spans" in out and "from 20 more" in out
    assert _sql(db, "SELECT count(*) FROM spans") == [(70,)]  # a dry run changes nothing
    size = db.stat().st_size
    code, out, _ = run_cli(capsys, *prune, "--yes")
    assert code == 0 and "deleted 30 spans" in out
    assert _sql(db, "SELECT count(*) FROM spans") == [(40,)]
    with_content = "json_exists(attributes, '$.\"gen_ai.input.messages\"') OR events LIKE '%operation.details%'"
    assert _sql(db, f"SELECT count(*) FROM spans WHERE {with_content}") == [(5,)]  # only the recent ones
    assert _sql(db, "SELECT count(*) FROM spans WHERE attributes->>'gen_ai.operation.name' = 'chat'") == [(40,)]
    assert {t: _sql(db, f"SELECT * FROM {t} ORDER BY ALL") for t in before} == before
    assert db.stat().st_size <= size and not db.with_name(db.name + ".compacting").exists()


def test_forget_removes_every_span_of_one_user_and_the_audit_log_lists_reads(capsys, planted, monkeypatch,
                                                                             tmp_path) -> None:
    db, run_id = planted
    forget = ("store", "forget", "--user", "a" * 32, "--db", str(db))
    assert "would delete 4 spans" in run_cli(capsys, *forget)[1]
    assert run_cli(capsys, *forget, "--yes")[0] == 0
    assert _sql(db, "SELECT count(*) FROM spans WHERE attributes->>'goldgate.user.hash' = repeat('a', 32)") == [(0,)]
    assert _sql(db, "SELECT count(*) FROM spans") == [(66,)]  # user B's span and the rest stay

    assert run_cli(capsys, "runs", "export", run_id, "--out", str(tmp_path / "export"), "--db", str(db))[0] == 0
    monkeypatch.setenv(DB_VARIABLE, str(db))
    trace = f"{300:032x}"
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["trace"] = trace
    at.run()
    at.switch_page("views/traces.py").run()
    assert not at.exception
    assert any("gen_ai.input.messages" in str(j.proto.body) for j in at.json)  # shown, once recorded

    code, out, _ = run_cli(capsys, "store", "audit", "--db", str(db))
    rows = [line.split("\t") for line in out.strip().splitlines()]
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        ("forget", "goldgate store forget", "a" * 32, "4 spans"),
        ("read_content", "goldgate runs export", run_id, "5 spans"),
        ("read_content", "dashboard:traces", trace, "1 spans")]


def test_bad_ages_are_one_line_errors(capsys, planted) -> None:
    db, _ = planted
    assert_one_line_error(*run_cli(capsys, "store", "prune", "--spans-older-than", "a month", "--db", str(db))[::2],
                          "--spans-older-than", "'a month'")
    assert_one_line_error(*run_cli(capsys, "store", "prune", "--db", str(db))[::2], "--spans-older-than")
