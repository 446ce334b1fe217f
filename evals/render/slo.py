"""SLO status on the terminal: per SLO its SLI against target, the budget left and the burn over each alert
window, with the alerts that fire marked."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from evals.durations import format_duration
from evals.slo.spec import Cost
from evals.slo.status import SloStatus


def _sli(s: SloStatus) -> str:
    o = s.objective
    if isinstance(o, Cost):
        return f"spent {s.bad:.4g} of {s.total:.4g} ({o.daily_budget:g}/day)"
    if s.sli is None:
        return f"no events (target {o.target:.2%})"
    return f"{s.sli:.3%} of {s.total:.0f} (target {o.target:.2%})"


def print_status(statuses: list[SloStatus], console: Console | None = None) -> None:
    console = console or Console()
    alerts = statuses[0].alerts if statuses else ()
    table = Table("SLO", "kind", "window", "SLI", "budget left", *(f"burn {a.alert.name} (>{a.alert.burn_rate:g})"
                                                                   for a in alerts), title="SLOs", title_justify="left")
    for s in statuses:
        table.add_row(s.objective.name, s.objective.kind, format_duration(s.objective.window), _sli(s),
                      f"{s.budget_left:.1%}",
                      *(f"{a.long_burn:.2f} / {a.short_burn:.2f}" + (" [bold red]FIRING[/]" if a.firing else "")
                        for a in s.alerts))
    console.print(table)


def status_json(statuses: list[SloStatus]) -> list[dict]:
    return [{"slo": s.objective.name, "kind": s.objective.kind, "window_s": s.objective.window, "bad": s.bad,
             "total": s.total, "sli": s.sli, "budget_left": s.budget_left,
             "alerts": [{"window": a.alert.name, "severity": a.alert.severity, "burn_rate": a.alert.burn_rate,
                         "long_burn": a.long_burn, "short_burn": a.short_burn, "firing": a.firing} for a in s.alerts]}
            for s in statuses]
