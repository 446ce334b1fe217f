"""`goldgate challenge` against three scripted endpoints on loopback (baseline, challenger, judge) over
planted production requests: the win rate is the one the plan implies, order flips are ties, and the
read of captured content is audited."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from evals.cli import main
from evals.store.retention import audit_log
from evals.store.spans import write_spans
from evals.store.store import Store, now
from telemetry.messages import content_attributes
from telemetry.redact import Redactor
from telemetry.sinks import SpanRecord
from tests.cli_helpers import assert_one_line_error, run_cli
from tests.openai_stub import OpenAIStub, Reply

N = 40


def _question(body: dict) -> int:
    user = next(m for m in body["messages"] if m["role"] == "user")
    return int(re.search(r"question (\d+)", user["content"]).group(1))


def baseline(body: dict, call: int) -> Reply:
    return Reply(["a", "plain", "answer"])


def challenger(body: dict, call: int) -> Reply:
    """Better than the baseline on four inputs in five, worse on the fifth."""
    return Reply(["a", "worse" if _question(body) % 5 == 0 else "better", "answer"])


def judge(body: dict, call: int) -> Reply:
    """Prefers 'better' over 'plain' over 'worse'; on questions ending in 1 it always says A (position bias)."""
    prompt = body["messages"][1]["content"]
    a, b = (re.search(rf"Answer {x}: (.*)", prompt).group(1) for x in "AB")
    rank = lambda text: 2 if "better" in text else 0 if "worse" in text else 1  # noqa: E731
    if _question(body) % 10 == 1:
        winner = "A"
    else:
        winner = "A" if rank(a) > rank(b) else "B" if rank(b) > rank(a) else "tie"
    return Reply([f'{{"rationale": "judged", "winner": "{winner}"}}'])


def _plant(db: Path) -> None:
    spans = []
    for i in range(N):
        attrs = content_attributes(None, f"question {i}", "an answer", "stop", Redactor())
        end = now() - timedelta(hours=1, seconds=i)
        spans.append(SpanRecord(f"{i:032x}", f"{i:016x}", None, "chat m", "INTERNAL", end, end, "UNSET",
                                json.dumps(attrs), "[]", None, None, "m", 0.5, 0.1, None, 10, 3, None, "stop", None,
                                None, None, None, "search" if i % 2 else "chat", None))
    write_spans(Store(db), spans)


def test_the_win_rate_is_the_plans(capsys, tmp_path: Path) -> None:
    db = tmp_path / "prod.duckdb"
    _plant(db)
    with OpenAIStub(baseline) as base, OpenAIStub(challenger) as chal, OpenAIStub(judge) as jud:
        code = main(["challenge", "--db", str(db), "--sample", str(N), "--baseline", "stub", "--baseline-endpoint",
                     base.url, "--challenger", "stub", "--challenger-endpoint", chal.url, "--judge-model", "stub",
                     "--judge-endpoint", jud.url, "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    flips = [i for i in range(N) if i % 10 == 1]
    worse = [i for i in range(N) if i % 5 == 0]
    wins = N - len(worse) - len(flips)
    assert (result["challenger_wins"], result["baseline_wins"], result["ties"], result["order_flips"]) == \
        (wins, len(worse), len(flips), len(flips))
    assert result["judged"] == N and result["win_rate"] == pytest.approx((wins + len(flips) / 2) / N)
    assert result["low"] < result["win_rate"] < result["high"]
    assert result["consistency"] == pytest.approx(1 - len(flips) / N)
    assert len(jud.bodies) == 2 * N  # each pair in both orders
    (read,) = audit_log(Store(db))
    assert read[1:] == ("goldgate challenge", "read_content", "since 7d", N)


def test_a_pointwise_judge_and_an_empty_store_are_exit_2(capsys, tmp_path: Path) -> None:
    db = tmp_path / "prod.duckdb"
    Store(db).write().__enter__().close()
    base = ["challenge", "--db", str(db), "--sample", "5", "--baseline", "a", "--challenger", "b"]
    pointwise = Path(__file__).resolve().parents[2] / "datasets" / "judges" / "correctness-v1.yaml"
    code, _, err = run_cli(capsys, *base, "--judge", str(pointwise))
    assert_one_line_error(code, err, "pairwise")
    code, _, err = run_cli(capsys, *base)
    assert_one_line_error(code, err, "no production request")
