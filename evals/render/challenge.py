"""A challenge's result on the terminal: the challenger's win rate with its CI, and how the verdicts fell."""

from __future__ import annotations

from rich.console import Console

from evals.judges.challenge import ChallengeResult


def print_challenge(r: ChallengeResult, baseline: str, challenger: str, judge: str, inputs: int,
                    console: Console | None = None) -> None:
    console = console or Console()
    console.print(f"[bold]{challenger}[/] against [bold]{baseline}[/] on {inputs} production inputs, judged by {judge}")
    if not r.judged:
        console.print("no pair was judged: every reply failed or gave no verdict")
    else:
        console.print(f"challenger win rate {r.win_rate:.1%} (95% CI {r.low:.1%} to {r.high:.1%}; a tie is half a win)")
    console.print(f"{r.challenger_wins} challenger wins, {r.baseline_wins} baseline wins, {r.ties} ties "
                  f"({r.order_flips} from verdicts that flipped with the order); {r.unparsed} unparsed, "
                  f"{r.failed} not answered; the verdict held in both orders for {r.consistency:.0%} of pairs")
