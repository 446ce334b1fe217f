"""SLOs against a real `goldgate serve` (a tiny model) that stores its spans: planted traffic with a burst of
503s (a queue of one, flooded), then healthy traffic. `slo report` gives the SLIs the client itself
counted; `slo check` exits 1 during the burn and 0 once the short window holds only healthy traffic.
The same server shows feature and variant labels on /metrics and keeps no raw user id anywhere."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import httpx
import yaml

from evals.cli import main
from tests.serving import goldgate_serve

USER = "alice@example.com"  # must appear in no span, metric, log or store row
SLOS = {"slos": [{"name": "availability", "kind": "availability", "target": 0.995, "window": "1d"},
                 {"name": "ttft", "kind": "latency", "threshold_s": 10.0, "target": 0.99, "window": "1d"},
                 {"name": "spend", "kind": "cost", "daily_budget": 1000.0, "window": "1d"}],
        # the workbook's 14.4x page, over windows a test can wait out
        "alerts": [{"long": "10m", "short": "4s", "burn_rate": 14.4, "severity": "page"}]}


def _ask(url: str, max_tokens: int, **extra) -> int:
    body = {"model": "tiny", "messages": [{"role": "user", "content": "hello"}], "max_tokens": max_tokens, **extra}
    return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=60, headers=extra.pop("headers", None)).status_code


def _stored_server_statuses(db: Path) -> list[int]:
    """The hand count: every stored SERVER span's status, read from its raw JSON attributes."""
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT attributes FROM spans WHERE kind = 'SERVER'").fetchall()
    return [json.loads(a)["http.response.status_code"] for (a,) in rows]


def _wait_stored(db: Path, n: int, timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            statuses = _stored_server_statuses(db)
        except duckdb.IOException:  # the server is writing a batch
            statuses = []
        if len(statuses) >= n:
            return statuses
        assert time.monotonic() < deadline, f"{len(statuses)} of {n} server spans stored"
        time.sleep(0.3)


def _slo(capsys, action: str, slo: Path, db: Path) -> tuple[int, dict | str]:
    code = main(["slo", action, "--slo", str(slo), "--db", str(db), "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_slo_report_and_check_over_planted_burn_then_healthy(capsys, tmp_path, tiny_gguf) -> None:
    db, slo, prices = tmp_path / "gg.duckdb", tmp_path / "slo.yaml", tmp_path / "prices.yaml"
    slo.write_text(yaml.safe_dump(SLOS))
    prices.write_text(yaml.safe_dump({"version": "t1", "models": {tiny_gguf.stem: {"per_hour": 3600.0}}}))
    with goldgate_serve("--model", str(tiny_gguf), "--device", "cpu", "--db", str(db), "--max-batch", "1",
                        "--max-waiting", "1", "--prices", str(prices), "--spans-jsonl", str(tmp_path / "spans.jsonl"),
                        log=tmp_path / "serve.log") as url:
        listing = httpx.get(f"{url}/v1/models")  # a request like any other, counted with them
        model = listing.json()["data"][0]["id"]
        ask = lambda max_tokens, **kw: _ask(url, max_tokens, **{**kw, "model": model})  # noqa: E731
        statuses = [listing.status_code] + [ask(4) for _ in range(40)]
        with ThreadPoolExecutor(24) as pool:  # floods of long answers: one runs, one waits, most of the rest get 503
            for _ in range(10):  # until a tenth of the requests failed (how many a flood turns away varies)
                statuses += list(pool.map(lambda _: ask(48, temperature=0.0), range(24)))
                if sum(s >= 500 for s in statuses) / len(statuses) >= 0.1:
                    break
        stored = _wait_stored(db, len(statuses))
        failed = sum(s >= 500 for s in statuses)
        assert failed == sum(s >= 500 for s in stored) and failed / len(statuses) >= 0.1, statuses

        code, report = _slo(capsys, "report", slo, db)
        by_name = {s["slo"]: s for s in report["slos"]}
        assert code == 0
        assert (by_name["availability"]["bad"], by_name["availability"]["total"]) == (failed, len(statuses))
        assert by_name["availability"]["sli"] == (len(statuses) - failed) / len(statuses)
        served = statuses.count(200)
        assert by_name["ttft"]["total"] == served - 1 and by_name["ttft"]["bad"] == 0  # the listing generated nothing
        assert by_name["spend"]["bad"] > 0  # an hourly price: the engine time of what was served
        assert _slo(capsys, "check", slo, db)[0] == 1

        healthy_until = time.monotonic() + 6  # past the 4 s short window, with only healthy traffic in it
        while time.monotonic() < healthy_until:
            statuses.append(ask(4))
            time.sleep(0.5)
        assert set(statuses[-5:]) == {200}
        _wait_stored(db, len(statuses))
        code, report = _slo(capsys, "check", slo, db)
        assert code == 0, report
        alert = report["slos"][0]["alerts"][0]
        assert alert["long_burn"] > 14.4 and alert["short_burn"] == 0  # still burnt over 10 min, quiet now

        # attribution: labels on /metrics, the user only as a hash
        headers = {"X-Goldgate-Variant": "b"}
        assert httpx.post(f"{url}/v1/chat/completions", headers=headers, timeout=60, json={
            "model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, "user": USER,
            "metadata": {"feature": "search", "tenant": "acme"}}).status_code == 200
        metrics = httpx.get(f"{url}/metrics").text
        assert 'goldgate_feature="search"' in metrics and 'goldgate_variant="b"' in metrics
        assert "goldgate_usage_cost_total" in metrics and "acme" not in metrics  # tenant is no metric label
        _wait_stored(db, len(statuses) + 1)
    with duckdb.connect(str(db), read_only=True) as con:
        tagged = con.execute("SELECT attributes FROM spans WHERE feature = 'search'").fetchall()
        everything = [str(con.execute(f"SELECT * FROM {t}").fetchall()) for (t,) in
                      con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    assert len(tagged) == 2  # the server span and the generation span
    assert all(json.loads(a)["goldgate.user.hash"] and json.loads(a)["goldgate.tenant"] == "acme" for (a,) in tagged)
    for text in (*everything, (tmp_path / "spans.jsonl").read_text(), (tmp_path / "serve.log").read_text(), metrics):
        assert USER not in text
