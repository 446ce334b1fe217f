"""Progress of a run: a live bar on a terminal, one plain line per write to the store in a CI log."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from evals.run.work import Completion


class RunProgress:
    def __init__(self, total: int, description: str, *, done: int = 0, console: Console | None = None) -> None:
        self.total, self.done, self.tokens = total, done, 0
        self.resumed_from = done  # finished before a resume: not part of this process's rate
        self.console = console or Console(stderr=True)
        self.start = time.perf_counter()
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=self.console,
                            transient=True, disable=not self.console.is_terminal)
        self.task = self.bar.add_task(description, total=total, completed=done, rate="")

    def __enter__(self) -> "RunProgress":
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def __call__(self, group: list[Completion]) -> None:
        self.done += len(group)
        self.tokens += sum(c.completion_tokens or 0 for c in group if not c.cached)
        elapsed = time.perf_counter() - self.start
        rate = f"{self.tokens / elapsed:.0f} tokens/s" if elapsed > 0 else ""
        self.bar.update(self.task, completed=self.done, rate=rate)
        if not self.console.is_terminal:
            eta = elapsed / max(self.done - self.resumed_from, 1) * (self.total - self.done)
            self.console.print(f"goldgate: {self.done}/{self.total} done, {rate}, ETA {eta:.0f} s", highlight=False)
