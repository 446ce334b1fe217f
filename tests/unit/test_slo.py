"""SLO files, and SLIs, budgets and burn rates from planted spans and scores in a real store, against
counts made by hand from the same plant."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from evals.slo.spec import load_slos
from evals.slo.status import slo_status
from evals.store.spans import write_spans
from evals.store.store import Store
from telemetry.sinks import SpanRecord
from tests.cli_helpers import assert_one_line_error, run_cli
from tests.synthetic_runs import golden_set, write_run

AT = datetime(2026, 12, 3, 12, 0, 0)


def _span(i: int, ago_s: float, *, kind: str, status: int | None = None, ttft: float | None = None,
          cost: float | None = None, model: str | None = None) -> SpanRecord:
    end = AT - timedelta(seconds=ago_s)
    name = "POST /v1/chat/completions" if kind == "SERVER" else f"chat {model}"
    return SpanRecord(f"{i:032x}", f"{i + (kind != 'SERVER') * 10**6:016x}", None, name, kind, end, end, "UNSET",
                      json.dumps({}), "[]", None, None, model, 0.1, ttft, None, None, None, None, None, None, None,
                      status, cost, None, None)


def _slo_file(tmp_path: Path, **content) -> Path:
    path = tmp_path / "slo.yaml"
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


def test_budgets_and_burn_rates_from_planted_spans(tmp_path: Path) -> None:
    """Over the last hour 1,000 requests with 40 5xx (4%, burn 8 against a 0.5% budget); the last 5 minutes
    hold 100 of them with 20 5xx (20%, burn 40). Older traffic (a day ago) is healthy and outside the
    windows but the 30-day one."""
    spans = []
    for i in range(1000):
        recent = i < 100
        ago = 1 + i * 2.9 if recent else 300 + (i - 100) * 3.6  # 0..290 s, then 300..3540 s ago
        failed = (i % 5 == 0) if recent else (i % 45 == 0)  # 20 recent, 20 older
        spans.append(_span(i, ago, kind="SERVER", status=503 if failed else 200))
        if not failed:
            spans.append(_span(i, ago, kind="INTERNAL", ttft=0.9 if i % 10 == 1 else 0.1, cost=0.01, model="m"))
    spans += [_span(5000 + i, 86400 + i, kind="SERVER", status=200) for i in range(3000)]
    store = Store(tmp_path / "gg.duckdb")
    write_spans(store, spans)
    slos = load_slos(_slo_file(tmp_path, slos=[
        {"name": "availability", "kind": "availability", "target": 0.995},
        {"name": "ttft", "kind": "latency", "threshold_s": 0.5, "target": 0.9},
        {"name": "spend", "kind": "cost", "daily_budget": 2.4}]))
    servers = [s for s in spans if s.kind == "SERVER"]
    bad = lambda rows, w: sum(s.http_status >= 500 for s in rows if s.end_time > AT - timedelta(seconds=w))  # noqa
    n = lambda rows, w: sum(s.end_time > AT - timedelta(seconds=w) for s in rows)  # noqa
    availability, ttft, spend = slo_status(store, slos, AT)

    assert (availability.bad, availability.total) == (40, 4000)
    assert availability.sli == 1 - 40 / 4000
    assert availability.budget_left == pytest.approx(1 - (40 / 4000) / 0.005)
    page = availability.alerts[0]  # 1 h / 5 min at 14.4
    assert page.long_burn == pytest.approx(bad(servers, 3600) / n(servers, 3600) / 0.005)
    assert page.short_burn == pytest.approx(bad(servers, 300) / n(servers, 300) / 0.005)
    assert page.firing == (page.long_burn > 14.4 and page.short_burn > 14.4)
    assert [a.firing for a in availability.alerts] == [False, True, True]  # burn 8 over 1 h is under 14.4

    generations = [s for s in spans if s.kind == "INTERNAL"]
    assert (ttft.bad, ttft.total) == (sum(s.ttft_s > 0.5 for s in generations), len(generations))
    assert spend.bad == pytest.approx(0.01 * len(generations))
    assert spend.total == pytest.approx(2.4 * 30)  # the 30-day window's budget
    long_spent = sum(s.cost for s in generations if s.end_time > AT - timedelta(hours=1))
    assert spend.alerts[0].long_burn == pytest.approx(long_spent / (2.4 / 24))


def test_a_tail_sampled_store_counts_each_span_as_its_weight(tmp_path: Path) -> None:
    """The sampler kept all 10 failed requests (weight 1) and 50 of the 990 healthy ones (weight 19.8):
    the SLO reads the traffic's 1% error rate, not the sample's 1 in 6; spend scales the same way."""
    from dataclasses import replace

    failed = [replace(_span(i, 60 + i, kind="SERVER", status=503), sample_weight=1.0) for i in range(10)]
    healthy = [replace(_span(100 + i, 60 + i, kind="SERVER", status=200), sample_weight=19.8) for i in range(50)]
    spent = [replace(_span(100 + i, 60 + i, kind="INTERNAL", ttft=0.1, cost=0.01, model="m"), sample_weight=19.8)
             for i in range(50)]
    store = Store(tmp_path / "gg.duckdb")
    write_spans(store, failed + healthy + spent)
    slos = load_slos(_slo_file(tmp_path, slos=[{"name": "availability", "kind": "availability", "target": 0.995},
                                              {"name": "spend", "kind": "cost", "daily_budget": 100}]))
    availability, spend = slo_status(store, slos, AT)
    assert (availability.bad, availability.total) == pytest.approx((10, 10 + 50 * 19.8))
    assert availability.sli == pytest.approx(0.99)
    assert spend.bad == pytest.approx(50 * 19.8 * 0.01)


def test_a_quality_slo_counts_scores_under_the_pass_mark(tmp_path: Path) -> None:
    golden = golden_set(tmp_path, 100, 2)
    store = Store(tmp_path / "gg.duckdb")
    write_run(store, golden, "r1", {ex.id: float(i % 4 != 0) for i, ex in enumerate(golden.examples)})
    slos = load_slos(_slo_file(tmp_path, slos=[{"name": "correct", "kind": "quality", "scorer": "exact_match",
                                               "target": 0.8, "window": "1d"}]))
    (quality,) = slo_status(store, slos, datetime.utcnow() + timedelta(seconds=1))
    assert (quality.bad, quality.total, quality.sli) == (25, 100, 0.75)
    assert quality.budget_left == pytest.approx(1 - 0.25 / 0.2)  # overspent: negative


@pytest.mark.parametrize(("content", "needle", "line"), [
    ({"slos": [{"name": "a", "kind": "availability", "target": 1.5}]}, "slos.0.availability.target", 4),
    ({"slos": [{"name": "a", "kind": "availability", "target": 0.9, "window": "30 days"}]}, "30 days", 5),
    ({"slos": [{"name": "a", "kind": "speed", "target": 0.9}]}, "slos.0", 2),
    ({"slos": [{"name": "a", "kind": "cost", "daily_budget": 5}, {"name": "a", "kind": "cost", "daily_budget": 5}]},
     "two SLOs are named 'a'", 1),
    ({"slos": [{"name": "a", "kind": "cost", "daily_budget": 5}],
      "alerts": [{"long": "5m", "short": "1h", "burn_rate": 2, "severity": "page"}]}, "shorter", 6),
])
def test_a_bad_slo_file_is_a_one_line_error_naming_its_line(capsys, tmp_path: Path, content, needle, line) -> None:
    path = _slo_file(tmp_path, **content)
    code, _, err = run_cli(capsys, "slo", "report", "--slo", str(path), "--db", str(tmp_path / "gg.duckdb"))
    assert_one_line_error(code, err, f"{path}:{line}", needle)


def test_bad_flags_and_a_missing_store_exit_2(capsys, tmp_path: Path) -> None:
    path = _slo_file(tmp_path, slos=[{"name": "a", "kind": "availability", "target": 0.99}])
    db = tmp_path / "gg.duckdb"
    assert_one_line_error(*run_cli(capsys, "slo", "check", "--slo", str(path), "--db", str(db))[::2], "no such store")
    write_spans(Store(db), [])
    assert_one_line_error(*run_cli(capsys, "slo", "check", "--slo", str(path), "--db", str(db), "--at",
                                   "yesterday")[::2], "--at", "'yesterday'")
    assert_one_line_error(*run_cli(capsys, "slo", "check", "--slo", str(tmp_path / "none.yaml"), "--db",
                                   str(db))[::2], "no such SLO file")
    assert run_cli(capsys, "slo", "check", "--slo", str(path), "--db", str(db))[0] == 0  # no traffic: no alert
