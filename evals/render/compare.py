"""A comparison (and the gate's checks) as a terminal table, Markdown for a pull request, JSON, JUnit XML."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any
from xml.etree import ElementTree as ET

from rich.console import Console
from rich.table import Table

from evals.analysis.compare import Comparison, MetricDiff
from evals.analysis.gate import Check, slice_name

WORST = 5  # flipped examples listed per failing slice


def _p(x: float | None) -> str:
    return "" if x is None else f"{x:.3g}"


def _f(x: float | None) -> str:
    return "" if x is None else f"{x:.3f}"


def _row(d: MetricDiff) -> list[str]:
    return [d.metric, slice_name(d), str(d.n), _f(d.a), _f(d.b), f"{d.diff:+.3f}", f"[{d.low:+.3f}, {d.high:+.3f}]",
            "yes" if d.excludes_zero else "no", _p(d.holm_p), _f(d.noise_floor), _f(d.mde)]


HEADER = ["metric", "slice", "N", "A", "B", "B-A", "95% CI", "excludes 0", "McNemar p (Holm)", "noise floor", "MDE"]


def _intro(c: Comparison) -> str:
    scope = "shared examples only (the golden sets differ)" if c.shared_only else "the same golden set"
    return f"A = {c.run_a}, B = {c.run_b}: {c.n_examples} examples of the {c.split} split, {scope}."


def print_comparison(c: Comparison, console: Console | None = None) -> None:
    console = console or Console()
    console.print(_intro(c))
    table = Table(*HEADER, title="metrics (pass->fail flips first, below)", title_justify="left")
    for d in c.diffs:
        table.add_row(*_row(d), style="red" if d.excludes_zero and d.diff < 0 else None)
    console.print(table)
    for metric, f in c.flips.items():
        console.print(f"{metric}: {len(f['pass_to_fail'])} pass->fail {f['pass_to_fail'][:10]}, "
                      f"{len(f['fail_to_pass'])} fail->pass, {f['stayed_pass']} stayed pass, "
                      f"{f['stayed_fail']} stayed fail")
    rails = Table("guard rail", "A", "B", "B-A", title="guard rails", title_justify="left")
    for g in c.guard_rails:
        rails.add_row(g.name, _f(g.a), _f(g.b), f"{g.change:+.3f}")
    console.print(rails)


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(r) + " |" for r in rows)])


def markdown(c: Comparison, checks: list[Check] | None = None) -> str:
    parts = []
    if checks is not None:
        failing = [k for k in checks if k.status == "fail"]
        parts.append(f"## goldgate gate: {'FAILED' if failing else 'passed'}\n\n{_intro(c)}")
        if failing:
            parts.append("### Failing\n\n" + _md_table(["check", "why"], [[k.name, k.detail] for k in failing]))
            for k in failing:
                if k.diff is not None and k.diff.metric in c.flips:
                    worst = [i for i in c.flips[k.diff.metric]["pass_to_fail"]][:WORST]
                    parts.append(f"Worst flips for {k.name} (pass -> fail): " + ", ".join(f"`{i}`" for i in worst))
        judges = [k for k in checks if k.status == "info" and k.name.startswith("judge ")]
        if judges:
            parts.append("### Judges left out\n\n" + _md_table(["judge", "why"], [[k.name[6:], k.detail] for k in judges]))
    else:
        parts.append(f"## goldgate compare\n\n{_intro(c)}")
        if c.unpaired:
            parts.append("### Judges not compared\n\n" + _md_table(["judge", "why"], [[j, why] for j, why in
                                                                                    c.unpaired.items()]))
    parts.append("### Metrics\n\n" + _md_table(HEADER, [_row(d) for d in c.diffs]))
    parts.append("### Guard rails\n\n" + _md_table(["guard rail", "A", "B", "B-A"],
                                                  [[g.name, _f(g.a), _f(g.b), f"{g.change:+.3f}"]
                                                   for g in c.guard_rails]))
    return "\n\n".join(parts) + "\n"


def as_json(c: Comparison, checks: list[Check] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"run_a": c.run_a, "run_b": c.run_b, "split": c.split, "shared_only": c.shared_only,
                           "n_examples": c.n_examples, "diffs": [asdict(d) for d in c.diffs], "flips": c.flips,
                           "guard_rails": [{**asdict(g), "change": g.change} for g in c.guard_rails],
                           "unpaired_judges": c.unpaired}
    if checks is not None:
        out["passed"] = not any(k.status == "fail" for k in checks)
        out["checks"] = [{"name": k.name, "status": k.status, "detail": k.detail} for k in checks]
    return json.loads(json.dumps(out))


def junit(checks: list[Check]) -> str:
    """One test case per slice (its metrics' checks together) and per guard rail."""
    cases: dict[str, list[Check]] = {}
    for k in checks:
        cases.setdefault(f"slice {slice_name(k.diff)}" if k.diff else k.name, []).append(k)
    suite = ET.Element("testsuite", name="goldgate gate", tests=str(len(cases)),
                       failures=str(sum(any(k.status == "fail" for k in ks) for ks in cases.values())))
    for name, ks in cases.items():
        case = ET.SubElement(suite, "testcase", classname="goldgate", name=name)
        failed = [k for k in ks if k.status == "fail"]
        if failed:
            ET.SubElement(case, "failure", message="; ".join(k.name for k in failed)).text = \
                "\n".join(f"{k.name}: {k.detail}" for k in failed)
        ET.SubElement(case, "system-out").text = "\n".join(f"{k.status} {k.name}: {k.detail}" for k in ks)
    return ET.tostring(ET.ElementTree(suite).getroot(), encoding="unicode", xml_declaration=True) + "\n"
