"""The run report on the terminal: every metric over the public split and the holdout, then the scored
metrics per slice of the public split. The JSON summary holds every row, holdout slices included."""

from __future__ import annotations

from itertools import groupby

from rich.console import Console
from rich.table import Table

from evals.analysis.report import DIMENSIONS
from evals.store.summary import MetricRow, RunSummary


def _table(title: str, rows: list[MetricRow], *, with_slice: bool) -> Table:
    table = Table(title=title, title_justify="left")
    if with_slice:
        table.add_column("slice")
    for name in ("metric", "N", "estimate", "95% CI"):
        table.add_column(name, justify="left" if name == "metric" else "right")
    for value, group in groupby(rows, key=lambda r: r.slice_value):
        group = list(group)
        for i, r in enumerate(group):
            cells = [r.metric, str(r.n), f"{r.estimate:.3f}", f"[{r.low:.3f}, {r.high:.3f}]"]
            table.add_row(*([value if i == 0 else ""] if with_slice else []), *cells, end_section=i == len(group) - 1)
    return table


def print_report(summary: RunSummary, console: Console | None = None) -> None:
    console = console or Console()
    counts = summary.counts
    console.print(f"[bold]{summary.run_id}[/bold]: {summary.dataset_name} "
                  f"(sha256 {summary.dataset_sha256[:12]}) on {summary.model_id}; "
                  f"{counts.results} results, {counts.errors} errors, {counts.cached} from the cache, "
                  f"{counts.judge_failures} unusable judge replies")
    for j in summary.judges:
        cal = j.calibration
        kappas = ", ".join(f"{d} {k:.3f}" if k is not None else f"{d} n/a" for d, k in cal.kappa.items())
        console.print(f"judge {j.judge_id} on {j.model_id}: "
                      + (f"calibrated ({kappas}; needs {cal.min_kappa})" if cal.calibration_id else
                         f"calibration expired: {cal.expired}" if cal.expired else "never calibrated")
                      + (", may gate" if cal.may_gate else ", may not gate: its scores are for reading only"))
    if (cost := summary.cost) is not None:
        per_correct = "; ".join(
            f"per correct answer ({c.scorer}) {c.estimate:.4g} [{c.low:.4g}, {c.high:.4g}] over {c.n_correct}"
            if c.estimate is not None else f"no correct answer ({c.scorer})" for c in cost.per_correct)
        console.print(f"cost ({cost.currency}, prices {cost.prices_version}): answers {cost.answers:.4g}, "
                      f"judges {cost.judges:.4g} apart; {cost.per_example:.4g} per example"
                      + (f"; {per_correct}" if per_correct else ""))
    for (split, key), rows in groupby(summary.metrics, key=lambda r: (r.split, r.slice_key)):
        if key == "all":
            console.print(_table(f"{split}: all examples", list(rows), with_slice=False))
        elif split == "public":
            scored = [r for r in rows if r.metric not in DIMENSIONS]
            console.print(_table(f"{split}: by {key}", scored, with_slice=True))
