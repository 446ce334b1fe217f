"""Where each SLO stands at one instant, from the store: the SLI over its window, the error budget left and
the burn rate over every alert window. A burn rate of 1 spends the budget exactly over the SLO's window:
for a ratio SLO it is the bad share over the allowed share, for spend the spending rate over the daily
budget's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from evals.slo.spec import Availability, BurnAlert, Cost, Latency, Objective, SloFile
from evals.store.slo_events import first_token_counts, request_counts, score_counts, spend
from evals.store.store import Store

DAY_S = 86400


@dataclass(frozen=True)
class AlertState:
    alert: BurnAlert
    long_burn: float
    short_burn: float

    @property
    def firing(self) -> bool:
        return self.long_burn > self.alert.burn_rate and self.short_burn > self.alert.burn_rate


@dataclass(frozen=True)
class SloStatus:
    objective: Objective
    bad: float  # over the SLO's window: bad events, or for spend what was spent
    total: float  # events, or for spend the window's budget
    budget_left: float  # the share of the window's error budget (or spend budget) not yet spent; < 0 overspent
    alerts: tuple[AlertState, ...]

    @property
    def sli(self) -> float | None:
        """The good share (None without events); for spend, what was spent."""
        if isinstance(self.objective, Cost):
            return self.bad
        return (self.total - self.bad) / self.total if self.total else None

    @property
    def firing(self) -> tuple[AlertState, ...]:
        return tuple(a for a in self.alerts if a.firing)


def slo_status(store: Store, slos: SloFile, at: datetime) -> list[SloStatus]:
    """Every SLO of `slos` at `at` (naive UTC, as the store keeps times)."""
    return [_status(store, o, slos.alerts, at) for o in slos.slos]


def _status(store: Store, o: Objective, alerts: tuple[BurnAlert, ...], at: datetime) -> SloStatus:
    windows = [o.window, *(w for a in alerts for w in (a.long, a.short))]
    if isinstance(o, Cost):
        spent = spend(store, windows, at, o.model)
        burns = [s / (o.daily_budget * w / DAY_S) for s, w in zip(spent, windows)]
        budget = o.daily_budget * o.window / DAY_S
        bad, total = spent[0], budget
    else:
        counts = _counts(store, o, windows, at)
        burns = [b / t / o.allowed if t else 0.0 for b, t in counts]
        bad, total = counts[0]
    left = 1 - burns[0]  # the window's own burn is the share of its budget spent
    return SloStatus(o, bad, total, left, tuple(AlertState(a, burns[1 + 2 * i], burns[2 + 2 * i])
                                                for i, a in enumerate(alerts)))


def _counts(store: Store, o: Objective, windows: list[int], at: datetime) -> list[tuple[int, int]]:
    if isinstance(o, Availability):
        return request_counts(store, windows, at, o.model)
    if isinstance(o, Latency):
        return first_token_counts(store, windows, at, o.threshold_s, o.model)
    return score_counts(store, windows, at, o.scorer, o.min_score, o.model)
