"""A drift report on the terminal and as JSON: per check its effect against the threshold, its CI or the
two windows' summaries, the Holm-adjusted p-value, and the alarms marked."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from evals.analysis.drift import DriftCheck, DriftReport

_SUMMARY = {"input_tokens": "median", "output_tokens": "median", "finish_reasons": "reasons",
            "refusal_rate": "rate", "json_failure_rate": "rate", "error_rate": "rate", "topic": "words/request"}


def _windows(c: DriftCheck) -> str:
    t = c.test
    if c.measure == "rise":
        return f"{t.baseline:.2%} -> {t.current:.2%} (CI of the rise {t.low:+.2%} to {t.high:+.2%})"
    return f"{_SUMMARY[c.name]} {t.baseline:.4g} -> {t.current:.4g}"


def print_drift(report: DriftReport, labels: tuple[str, str], console: Console | None = None) -> None:
    console = console or Console()
    table = Table("check", "n", "effect", "baseline -> current", f"p (Holm), alarm under {report.alpha:g}",
                  title=f"Drift: {labels[0]} -> {labels[1]}", title_justify="left")
    for c in report.checks:
        n = f"{c.n_baseline} / {c.n_current}"
        if c.test is None:
            table.add_row(c.name, n, "", f"skipped: {c.skipped}", "")
            continue
        effect = f"{c.measure} {c.test.effect:+.4g}" if c.measure == "rise" else f"{c.measure} {c.test.effect:.4g}"
        table.add_row(c.name, n, f"{effect} (threshold {c.threshold:g})", _windows(c),
                      f"{c.p_adjusted:.2g}" + (" [bold red]ALARM[/]" if c.alarm else ""))
    console.print(table)


def drift_json(report: DriftReport, labels: tuple[str, str]) -> dict:
    return {"baseline": labels[0], "current": labels[1], "alpha": report.alpha,
            "alarms": [c.name for c in report.alarms],
            "checks": [{"check": c.name, "measure": c.measure, "threshold": c.threshold, "n_baseline": c.n_baseline,
                        "n_current": c.n_current, "skipped": c.skipped,
                        **({"effect": c.test.effect, "low": c.test.low, "high": c.test.high, "pvalue": c.test.pvalue,
                            "p_adjusted": c.p_adjusted, "baseline": c.test.baseline, "current": c.test.current,
                            "alarm": c.alarm} if c.test else {})} for c in report.checks]}
