"""Where each SLO stands at one instant, from the store: the SLI over its window, the error budget left and
the burn rate over every alert window. A burn rate of 1 spends the budget exactly over the SLO's window:
for a ratio SLO it is the bad share over the allowed share, for spend the spending rate over the daily
budget's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from evals.slo.spec import Availability, BurnAlert, Cost, Latency, Objective, Quality, SloFile
from evals.store.slo_events import EventSource, bucketed, first_tokens, requests, scores, spend, windowed
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
    counts = windowed(store, event_source(o), windows, at)
    burns = [burn_rate(o, w, *c) for w, c in zip(windows, counts)]
    bad, total = (counts[0][0], o.daily_budget * o.window / DAY_S) if isinstance(o, Cost) else counts[0]
    left = 1 - burns[0]  # the window's own burn is the share of its budget spent
    return SloStatus(o, bad, total, left, tuple(AlertState(a, burns[1 + 2 * i], burns[2 + 2 * i])
                                                for i, a in enumerate(alerts)))


def burn_series(store: Store, o: Objective, *, bucket_s: int, since: datetime, at: datetime) -> pd.DataFrame:
    """The burn rate in each time bucket (t, bad, total, burn): the chart beside the alert windows."""
    buckets = bucketed(store, event_source(o), bucket_s, since, at)
    return buckets.assign(burn=[burn_rate(o, bucket_s, b, t) for b, t in zip(buckets["bad"], buckets["total"])])


def burn_rate(o: Objective, window_s: float, bad: float, total: float | None = None) -> float:
    """How fast `o`'s budget burnt over a window holding `bad` of `total` events (spend: `bad` spent)."""
    if isinstance(o, Cost):
        return bad / (o.daily_budget * window_s / DAY_S)
    return bad / total / o.allowed if total else 0.0


def event_source(o: Objective) -> EventSource:
    if isinstance(o, Availability):
        return requests(o.model)
    if isinstance(o, Latency):
        return first_tokens(o.threshold_s, o.model)
    if isinstance(o, Quality):
        return scores(o.scorer, o.min_score, o.model)
    return spend(o.model)
