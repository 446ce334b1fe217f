"""The same SLOs as Prometheus recording and alerting rules over goldgate's own `/metrics` names: for each
SLO a recording rule per alert window (the bad-event ratio, or spend's burn rate) and an alert per
workbook pair. A quality SLO has no series in /metrics (scores are made by runs, not by the server): it
is checked from the store by `goldgate slo check`, and named in the rules file's comment."""

from __future__ import annotations

import yaml
from prometheus_client.utils import floatToGoString

from evals.errors import EvalInputError
from evals.durations import format_duration
from evals.slo.spec import Availability, BurnAlert, Cost, Latency, Objective, Quality, SloFile
from telemetry.instruments import TTFT_BUCKETS

REQUESTS = "http_server_request_duration_seconds_count"
TTFT = "gen_ai_server_time_to_first_token_seconds"
COST = "goldgate_usage_cost_total"


def rule_groups(slos: SloFile) -> dict:
    """The rules file's content: one group per SLO that /metrics can watch."""
    groups = []
    for i, o in enumerate(slos.slos):
        if isinstance(o, Quality):
            continue
        if isinstance(o, Latency) and o.threshold_s not in TTFT_BUCKETS:
            raise EvalInputError(f"a Prometheus rule can count first tokens only at a bucket boundary of "
                                 f"{TTFT}: one of {', '.join(f'{b:g}' for b in TTFT_BUCKETS)}; got {o.threshold_s:g}",
                                 field=f"slos.{i}.threshold_s")
        windows = sorted({w for a in slos.alerts for w in (a.long, a.short)})
        rules = [{"record": _series(o, w), "expr": _expr(o, format_duration(w)), "labels": {"slo": o.name}}
                 for w in windows]
        rules += [_alert(o, a) for a in slos.alerts]
        groups.append({"name": f"goldgate-slo-{o.name}", "rules": rules})
    return {"groups": groups}


def rules_yaml(slos: SloFile) -> str:
    unwatched = [o.name for o in slos.slos if isinstance(o, Quality)]
    head = "# goldgate SLO rules, written by `goldgate slo rules`; check with `promtool check rules`.\n"
    if unwatched:
        head += f"# Not here (no /metrics series; `goldgate slo check` watches them): {', '.join(unwatched)}\n"
    return head + yaml.safe_dump(rule_groups(slos), sort_keys=False, width=200)


def alert_name(o: Objective, a: BurnAlert) -> str:
    return f"SLOBurn_{o.name}_{format_duration(a.long)}"


def _series(o: Objective, window_s: int) -> str:
    kind = "cost_burn:rate" if isinstance(o, Cost) else "errors:ratio_rate"
    return f"goldgate_slo:{kind}{format_duration(window_s)}"


def _selector(o: Objective, *matchers: str) -> str:
    model = [f'gen_ai_request_model="{o.model}"'] if o.model and not isinstance(o, Availability) else []
    return "{" + ",".join([*matchers, *model]) + "}"


def _expr(o: Objective, w: str) -> str:
    if isinstance(o, Availability):
        failed = _selector(o, 'http_response_status_code=~"5.."')
        return f"sum(rate({REQUESTS}{failed}[{w}])) / sum(rate({REQUESTS}{_selector(o)}[{w}]))"
    if isinstance(o, Latency):
        le = f'le="{floatToGoString(o.threshold_s)}"'
        return (f"1 - sum(rate({TTFT}_bucket{_selector(o, le)}[{w}]))"
                f" / sum(rate({TTFT}_count{_selector(o)}[{w}]))")
    return f"sum(rate({COST}{_selector(o)}[{w}])) * 86400 / {o.daily_budget:g}"


def _alert(o: Objective, a: BurnAlert) -> dict:
    """Both windows over the burn rate: for a ratio SLO the bad share over burn x the allowed share."""
    limit = f"{a.burn_rate:g}" if isinstance(o, Cost) else f"({a.burn_rate:g} * {1 - o.target:.6g})"
    long_, short = (f'{_series(o, w)}{{slo="{o.name}"}} > {limit}' for w in (a.long, a.short))
    return {"alert": alert_name(o, a), "expr": f"{long_} and {short}",
            "labels": {"severity": a.severity, "slo": o.name, "window": a.name},
            "annotations": {"summary": f"SLO {o.name} is burning its budget over {a.burn_rate:g}x over {a.name}"}}
