"""A replayed request on the terminal: its input, then the captured and the replayed answer side by side
with what is known of each."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from evals.golden.dataset import Example
from evals.judges.replay import Answer


def _facts(a: Answer) -> str:
    parts = [f"{a.output_tokens} tokens" if a.output_tokens is not None else "tokens unknown",
             f"finish {a.finish_reason or 'unknown'}", f"{a.latency_s:.2f} s" if a.latency_s is not None else "",
             "REFUSED" if a.refused else "", f"JSON {a.json}" if a.json else ""]
    if a.judge_score is not None:
        parts.append(f"judge {a.judge_score:g}")
    return ", ".join(p for p in parts if p)


def print_replay(example: Example, answers: tuple[Answer, Answer], labels: tuple[str, str],
                 console: Console | None = None) -> None:
    console = console or Console()
    turns = [("user", example.input)] if isinstance(example.input, str) else [(m.role, m.content) for m in example.input]
    for role, content in turns:
        console.print(f"[bold]{role}:[/] {escape(content)}", highlight=False)
    table = Table(*labels, show_lines=True)
    table.add_row(*(escape(a.text) for a in answers))
    table.add_row(*(_facts(a) for a in answers))
    if any(a.judge_rationale for a in answers):
        table.add_row(*(escape(a.judge_rationale or "") for a in answers))
    console.print(table)
