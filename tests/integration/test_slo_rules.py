"""`goldgate slo rules` writes rules that Prometheus's own `promtool` accepts, and that `promtool test rules`
shows firing at the burn rates where they should and quiet below them, on synthetic series named as
goldgate's /metrics names them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from evals.cli import main

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="needs promtool (Debian's prometheus)")

SLOS = {"slos": [{"name": "availability", "kind": "availability", "target": 0.995},
                 {"name": "ttft", "kind": "latency", "threshold_s": 0.5, "target": 0.99},
                 {"name": "spend", "kind": "cost", "daily_budget": 24.0},
                 {"name": "correct", "kind": "quality", "scorer": "exact_match", "target": 0.8}]}
REQUESTS = "http_server_request_duration_seconds_count"
TTFT = "gen_ai_server_time_to_first_token_seconds"


def _requests(ok_per_min: int, failed_per_min: int, minutes: int = 200) -> list[dict]:
    return [{"series": f'{REQUESTS}{{http_response_status_code="200",http_route="/v1/chat/completions"}}',
             "values": f"0+{ok_per_min}x{minutes}"},
            {"series": f'{REQUESTS}{{http_response_status_code="503",http_route="/v1/chat/completions"}}',
             "values": f"0+{failed_per_min}x{minutes}"}]


def _alerts(slo: str, at: str, firing: dict[str, str]) -> list[dict]:
    """Each of the three workbook alerts of `slo` at `at`: firing with its labels if named in `firing`
    (long window -> severity), else expected quiet. (Annotations are filled in from the rules file.)"""
    return [{"eval_time": at, "alertname": f"SLOBurn_{slo}_{long}",
             "exp_alerts": [{"exp_labels": {"slo": slo, "severity": firing[long], "window": window}}]
             if long in firing else []}
            for long, window in (("1h", "1h/5m"), ("6h", "6h/30m"), ("3d", "3d/6h"))]


def _with_annotations(tests: list[dict], rules: dict) -> list[dict]:
    annotations = {r["alert"]: r["annotations"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    for test in tests:
        for case in test["alert_rule_test"]:
            for alert in case["exp_alerts"]:
                alert["exp_annotations"] = annotations[case["alertname"]]
    return tests


PAGE_ALL = {"1h": "page", "6h": "page", "3d": "ticket"}
TESTS = [
    # 10% of requests fail: 20x the 0.5% budget, over 14.4 -> every alert fires
    {"interval": "1m", "input_series": _requests(90, 10), "alert_rule_test": _alerts("availability", "70m", PAGE_ALL)},
    # 5%: 10x, under the 1 h page's 14.4, over the 6 h page's 6
    {"interval": "1m", "input_series": _requests(95, 5),
     "alert_rule_test": _alerts("availability", "70m", {"6h": "page", "3d": "ticket"})},
    # 0.3%: 0.6x, under every alert
    {"interval": "1m", "input_series": _requests(997, 3), "alert_rule_test": _alerts("availability", "70m", {})},
    # 10% for an hour, then none: the 1 h window still burns over 14.4x, the 5 min window does not -> quiet
    {"interval": "1m", "input_series": [
        {"series": f'{REQUESTS}{{http_response_status_code="200"}}', "values": "0+90x60 5400+100x30"},
        {"series": f'{REQUESTS}{{http_response_status_code="503"}}', "values": "0+10x60 600+0x30"}],
     "alert_rule_test": [{"eval_time": "70m", "alertname": "SLOBurn_availability_1h", "exp_alerts": []}]},
    # first tokens: 20% later than 0.5 s is 20x a 1% budget -> fires; 10% is 10x -> the 1 h page stays quiet
    {"interval": "1m", "input_series": [{"series": f'{TTFT}_bucket{{le="0.5"}}', "values": "0+80x200"},
                                        {"series": f'{TTFT}_count', "values": "0+100x200"}],
     "alert_rule_test": _alerts("ttft", "70m", PAGE_ALL)},
    {"interval": "1m", "input_series": [{"series": f'{TTFT}_bucket{{le="0.5"}}', "values": "0+90x200"},
                                        {"series": f'{TTFT}_count', "values": "0+100x200"}],
     "alert_rule_test": _alerts("ttft", "70m", {"6h": "page", "3d": "ticket"})},
    # spend against 24 a day (1 an hour): 20 an hour is 20x -> fires; 10 an hour is 10x -> the 1 h page is quiet.
    # Spend is a rate, not a ratio of two: a window longer than the history reads low, so these have 3 days.
    {"interval": "1m", "input_series": [{"series": 'goldgate_usage_cost_total{gen_ai_request_model="m"}',
                                         "values": f"0+{20 / 60}x4400"}],
     "alert_rule_test": _alerts("spend", "73h", PAGE_ALL)},
    {"interval": "1m", "input_series": [{"series": 'goldgate_usage_cost_total{gen_ai_request_model="m"}',
                                         "values": f"0+{10 / 60}x4400"}],
     "alert_rule_test": _alerts("spend", "73h", {"6h": "page", "3d": "ticket"})},
]


def test_rules_pass_promtool_check_and_fire_where_they_should(capsys, tmp_path: Path) -> None:
    slo, rules = tmp_path / "slo.yaml", tmp_path / "rules.yaml"
    slo.write_text(yaml.safe_dump(SLOS))
    assert main(["slo", "rules", "--slo", str(slo), "--out", str(rules)]) == 0
    text = rules.read_text()
    assert "correct" in text.splitlines()[1]  # the quality SLO is named as not watched by Prometheus
    check = subprocess.run(["promtool", "check", "rules", str(rules)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    # 3 watched SLOs x (5 distinct windows recorded: 5m, 30m, 1h, 6h, 3d; and 3 alerts)
    assert "SUCCESS: 24 rules found" in check.stdout

    tests = tmp_path / "rules_test.yaml"
    tests.write_text(yaml.safe_dump({"rule_files": [rules.name], "evaluation_interval": "1m",
                                     "tests": _with_annotations(TESTS, yaml.safe_load(text))}))
    result = subprocess.run(["promtool", "test", "rules", str(tests)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_latency_threshold_off_the_histogram_buckets_is_refused(capsys, tmp_path: Path) -> None:
    slo = tmp_path / "slo.yaml"
    slo.write_text(yaml.safe_dump({"slos": [{"name": "ttft", "kind": "latency", "threshold_s": 0.3, "target": 0.99}]}))
    assert main(["slo", "rules", "--slo", str(slo)]) == 2
    err = capsys.readouterr().err
    assert "slos.0.threshold_s" in err and "0.25" in err and len(err.strip().splitlines()) == 1
