"""Drift between a baseline and a current window: input and output lengths, the finish-reason mix, the
refusal, JSON-failure and error rates, and (where content was captured) the topic as a shift in word
frequencies. A check alarms only when its change is both large (its effect over the policy's threshold)
and real (its p-value under alpha after Holm's adjustment across the checks): a big change on a handful
of requests is noise, and a tiny one on a million requests is no reason to page anybody."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from evals.scorers.refusal import is_refusal
from evals.scorers.text import looks_like_json, parse_json_answer
from evals.stats.drift import DriftTest, category_drift, numeric_drift, rate_drift, word_drift
from evals.stats.power import holm
from evals.yaml_input import load_yaml_model

_WORD = re.compile(r"[a-z0-9']+")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(_Strict):
    threshold: float = Field(gt=0)  # PSI, JS divergence in bits, or a rate's rise


class Checks(_Strict):
    """Each check's threshold; `null` turns a check off."""

    input_tokens: Threshold | None = Threshold(threshold=0.2)  # PSI: 0.1 to 0.25 is a moderate shift
    output_tokens: Threshold | None = Threshold(threshold=0.2)
    finish_reasons: Threshold | None = Threshold(threshold=0.05)
    refusal_rate: Threshold | None = Threshold(threshold=0.05)
    json_failure_rate: Threshold | None = Threshold(threshold=0.05)
    error_rate: Threshold | None = Threshold(threshold=0.02)
    topic: Threshold | None = Threshold(threshold=0.1)


class DriftPolicy(_Strict):
    alpha: float = Field(default=0.01, gt=0, lt=1)  # after Holm's adjustment across the checks that ran
    min_samples: int = Field(default=30, ge=2)  # a check with fewer in either window is skipped, not alarmed
    checks: Checks = Checks()


def load_drift_policy(path: str | Path) -> DriftPolicy:
    return load_yaml_model(path, DriftPolicy, what="drift policy")[0]


@dataclass(frozen=True)
class DriftCheck:
    name: str
    measure: str  # what `effect` is
    threshold: float
    n_baseline: int
    n_current: int
    test: DriftTest | None = None  # None: skipped
    p_adjusted: float | None = None
    alarm: bool = False
    skipped: str | None = None  # why


@dataclass(frozen=True)
class DriftReport:
    checks: tuple[DriftCheck, ...]
    alpha: float

    @property
    def alarms(self) -> tuple[DriftCheck, ...]:
        return tuple(c for c in self.checks if c.alarm)


@dataclass(frozen=True)
class _Check:
    name: str
    measure: str
    values: Callable[[pd.DataFrame], list]  # what the check compares, from one window's rows
    test: Callable[[list, list], DriftTest]
    rising_only: bool = False  # a rate alarms when it rises; a distribution when it moves either way


def _rates(baseline: list, current: list) -> DriftTest:
    """Two windows' hits (True for each request the rate counts) compared as rates."""
    return rate_drift(int(np.sum(baseline)), len(baseline), int(np.sum(current)), len(current))


CHECKS = (
    _Check("input_tokens", "PSI", lambda w: w["input_tokens"].dropna().tolist(), numeric_drift),
    _Check("output_tokens", "PSI", lambda w: w.loc[~w["failed"], "output_tokens"].dropna().tolist(), numeric_drift),
    _Check("finish_reasons", "JS bits", lambda w: w["finish_reason"].dropna().tolist(), category_drift),
    _Check("refusal_rate", "rise", lambda w: [is_refusal(t) for t in w["output_text"].dropna()],
           _rates, rising_only=True),
    _Check("json_failure_rate", "rise",
           lambda w: [parse_json_answer(t)[1] is not None for t in w["output_text"].dropna() if looks_like_json(t)],
           _rates, rising_only=True),
    _Check("error_rate", "rise", lambda w: w["failed"].astype(bool).tolist(),
           _rates, rising_only=True),
    _Check("topic", "JS bits", lambda w: [_WORD.findall(t.lower()) for t in w["input_text"].dropna()], word_drift),
)


def drift_report(baseline: pd.DataFrame, current: pd.DataFrame, policy: DriftPolicy = DriftPolicy()) -> DriftReport:
    """Every check the policy turns on, over the rows of two windows (the columns `drift_samples` gives)."""
    ran: list[tuple[_Check, DriftCheck]] = []
    skipped: list[DriftCheck] = []
    for check in CHECKS:
        rule = getattr(policy.checks, check.name)
        if rule is None:
            continue
        b, c = check.values(baseline), check.values(current)
        base = DriftCheck(check.name, check.measure, rule.threshold, len(b), len(c))
        if min(len(b), len(c)) < policy.min_samples:
            skipped.append(replace(base, skipped=f"fewer than {policy.min_samples} in a window"))
            continue
        ran.append((check, replace(base, test=check.test(b, c))))
    adjusted = holm([d.test.pvalue for _, d in ran]) if ran else []
    done = [replace(d, p_adjusted=float(p), alarm=bool(p < policy.alpha and _large(check, d)))
            for (check, d), p in zip(ran, adjusted)]
    order = [c.name for c in CHECKS]
    return DriftReport(tuple(sorted(done + skipped, key=lambda d: order.index(d.name))), policy.alpha)


def _large(check: _Check, d: DriftCheck) -> bool:
    return d.test.effect >= d.threshold if check.rising_only else abs(d.test.effect) >= d.threshold
