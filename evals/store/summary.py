"""The stored summary of a finished run, as a versioned model. The dashboard's SQL reads its metric rows
by the names declared here; a change to its shape bumps SUMMARY_VERSION and appends a migration that
brings older stored (or exported) summaries up to date when they are read."""

from __future__ import annotations

import json
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict

from evals.errors import EvalInputError

SUMMARY_VERSION = 3  # a literal: tests fail when a migration is added without bumping it


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricRow(_Frozen):
    """One metric over one split and slice: a point estimate, its 95% bootstrap CI and N."""

    metric: str
    split: str  # public | holdout
    slice_key: str  # "all" for the whole split
    slice_value: str
    n: int
    estimate: float
    low: float
    high: float


class Calibration(_Frozen):
    calibration_id: str | None  # None: never calibrated
    kappa: dict[str, float | None]  # per calibrated dimension
    min_kappa: float
    may_gate: bool
    expired: str | None = None  # why an older calibration of this judge no longer holds


class JudgeSummary(_Frozen):
    judge_id: str
    prompt_sha256: str
    model_id: str
    model_digest: str | None
    reference: bool
    scales: dict[str, tuple[float, float]]  # each dimension's (min, max), what its scores were normalised by
    calibration: Calibration


class Counts(_Frozen):
    results: int
    errors: int
    cached: int
    judge_failures: int


class CostPerCorrect(_Frozen):
    """What one correct answer cost, by one pass/fail scorer over the public split: all the answers' cost
    over the passes, with a 95% bootstrap CI over examples (None when nothing passed)."""

    scorer: str
    n_correct: int
    estimate: float | None
    low: float | None
    high: float | None


class CostSummary(_Frozen):
    currency: str
    prices_version: str
    answers: float  # every answer's cost, in all
    judges: float  # every judge call's, shown apart (08 §4.5)
    per_example: float  # the answers' cost over the examples run
    per_correct: list[CostPerCorrect]


class RunSummary(_Frozen):
    summary_version: int = SUMMARY_VERSION
    run_id: str
    suite_name: str
    tag: str | None
    dataset_name: str
    dataset_sha256: str
    n_examples: int
    epochs: int
    model_id: str
    model_digest: str | None
    endpoint: str | None
    prompt_sha256: str
    judges: list[JudgeSummary]
    git_commit: str | None
    git_dirty: bool | None
    goldgate_version: str
    started_at: str  # ISO 8601, UTC
    counts: Counts
    metrics: list[MetricRow]
    cost: CostSummary | None = None  # None: the run had no price table

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)


def _v1_to_v2(summary: dict[str, Any]) -> dict[str, Any]:
    """Version 1 had no version field, and summaries written before judges joined runs no judge failures."""
    return {**summary, "counts": {"judge_failures": 0, **summary["counts"]}}


# SUMMARY_MIGRATIONS[i] takes a summary of version i + 1 to version i + 2
def _v2_to_v3(summary: dict[str, Any]) -> dict[str, Any]:
    """Version 3 added costs; no run before it was priced."""
    return {**summary, "cost": None}


SUMMARY_MIGRATIONS: tuple[Callable[[dict[str, Any]], dict[str, Any]], ...] = (_v1_to_v2, _v2_to_v3)


def migrate_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """A stored summary of any older version, brought to SUMMARY_VERSION."""
    version = summary.get("summary_version", 1)
    if version > SUMMARY_VERSION:
        raise EvalInputError(f"a run summary of version {version}, newer than this goldgate's {SUMMARY_VERSION}; "
                             "upgrade goldgate", field="summary_version")
    for step in SUMMARY_MIGRATIONS[version - 1:]:
        summary = step(summary)
    return {**summary, "summary_version": SUMMARY_VERSION}


def load_summary(raw: str | dict[str, Any]) -> RunSummary:
    """A stored summary (JSON text or parsed), migrated and validated."""
    return RunSummary.model_validate(migrate_summary(json.loads(raw) if isinstance(raw, str) else raw))


def metric_struct() -> str:
    """The DuckDB type of the summary's `metrics` list, from MetricRow's fields, for `from_json` in SQL."""
    sql = {str: "VARCHAR", int: "INTEGER", float: "DOUBLE"}
    return json.dumps([{name: sql[f.annotation] for name, f in MetricRow.model_fields.items()}])
