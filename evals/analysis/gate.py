"""The gate: a comparison judged against a policy file. It fails on a slice only when the drop is over
that slice's threshold, the CI of the difference excludes zero (for pass/fail metrics, McNemar's test
Holm-corrected across the metric's slices agrees), and (if known) the drop is over the noise floor:
noise does not block anyone, and a real regression on a small slice still does."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from evals.analysis.compare import Comparison, MetricDiff
from evals.analysis.report import DIMENSIONS
from evals.judges.governance import JudgeGating
from evals.errors import EvalInputError
from evals.stats.agreement import GATING_KAPPA
from evals.yaml_input import load_yaml_model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SliceRule(_Strict):
    max_drop: float | None = Field(default=None, ge=0, le=1)  # absolute, on [0, 1]; None: the policy default
    informational: bool = False  # shown, never failing


class GuardRailRule(_Strict):
    max_ratio: float | None = Field(default=None, gt=0)  # candidate / baseline
    max_increase: float | None = None  # candidate - baseline
    max: float | None = None  # candidate alone


class Policy(_Strict):
    metrics: tuple[str, ...] | None = None  # gated metrics; None: every scored metric and calibrated judge
    max_drop: float = Field(default=0.05, ge=0, le=1)
    require_ci_excludes_zero: bool = True  # and, for pass/fail metrics, McNemar's Holm-corrected p below alpha
    alpha: float = Field(default=0.05, gt=0, lt=1)
    respect_noise_floor: bool = True
    slices: dict[str, SliceRule] = {}  # "all", or "key=value"
    guard_rails: dict[Literal["latency_p95_s", "mean_output_tokens", "mean_total_tokens", "cost_per_example",
                              "refusal_rate", "judge_parse_failure_rate"], GuardRailRule] = {}
    min_judge_kappa: float = Field(default=GATING_KAPPA, ge=-1, le=1)
    judge_calibration_max_age_days: int | None = Field(default=90, ge=1)  # older calibrations expire; None: never


def load_policy(path: str | Path) -> Policy:
    return load_yaml_model(path, Policy, what="policy")[0]


@dataclass(frozen=True)
class Check:
    name: str  # "metric @ slice" or the guard rail
    status: Literal["pass", "fail", "info"]
    detail: str
    diff: MetricDiff | None = None


def slice_name(d: MetricDiff) -> str:
    return "all" if d.slice_key == "all" else f"{d.slice_key}={d.slice_value}"


def judge_reasons(policy: Policy, judges: dict[str, JudgeGating]) -> dict[str, str]:
    """Why each judge that may not gate may not: no calibration, an expired one, or a kappa too low."""
    out = {}
    for name, g in judges.items():
        if g.reason is not None:
            out[name] = g.reason
        elif g.kappa is None or g.kappa < policy.min_judge_kappa:
            out[name] = f"kappa {g.kappa if g.kappa is not None else 'unknown'} under the policy's {policy.min_judge_kappa}"
    return out


def gated_metrics(comparison: Comparison, policy: Policy, judges: dict[str, JudgeGating]) -> set[str]:
    metrics = {d.metric for d in comparison.diffs if d.metric not in DIMENSIONS}
    if policy.metrics is not None:
        metrics &= set(policy.metrics)
    not_gating = judge_reasons(policy, judges)
    def calibrated(metric: str) -> bool:  # "JUDGE/DIMENSION", or "ensemble/..." which needs every judge
        judge = metric.split("/")[0]
        names = list(judges) if judge == "ensemble" else [judge]
        return bool(names) and all(n in judges and n not in not_gating for n in names)
    return {m for m in metrics if "/" not in m or calibrated(m)}  # scorer names never hold a "/"


TOLERANCE = 1e-9  # a drop exactly at its limit is within it (0.81 - 0.76 is 0.05000000000000004 in floats)


def check_policy_names(comparison: Comparison, policy: Policy) -> None:
    """A metric or slice the policy names must be one the runs have: a typo must not turn gating off."""
    metrics = {d.metric for d in comparison.diffs}
    for name in policy.metrics or ():
        if name not in metrics:
            raise EvalInputError(f"{name!r} is in neither run; they have {', '.join(sorted(metrics))}",
                                 field="metrics")
    slices = {slice_name(d) for d in comparison.diffs}
    for name in policy.slices:
        if name not in slices:
            raise EvalInputError(f"{name!r} is not a slice of these runs; they have {', '.join(sorted(slices))}",
                                 field="slices")
    rails = {g.name for g in comparison.guard_rails}
    for name in policy.guard_rails:
        if name not in rails:  # only cost can be missing: a run without a price table
            raise EvalInputError("both runs must be priced for this guard rail: run them with --prices",
                                 field=f"guard_rails.{name}")


def evaluate(comparison: Comparison, policy: Policy, judges: dict[str, JudgeGating]) -> list[Check]:
    """Every gated metric and slice, every guard rail, and (as information) each judge that does not
    gate or could not be paired, with why."""
    check_policy_names(comparison, policy)
    gated = gated_metrics(comparison, policy, judges)
    checks = [Check(f"judge {name}", "info", f"not gating: {why}") for name, why in judge_reasons(policy, judges).items()]
    checks += [Check(f"judge {name}", "info", f"not compared: {why}") for name, why in comparison.unpaired.items()]
    for d in comparison.diffs:
        if d.metric not in gated:
            continue
        rule = policy.slices.get(slice_name(d), SliceRule())
        limit = policy.max_drop if rule.max_drop is None else rule.max_drop
        drop = -d.diff
        reasons = [f"drop {drop:+.3f} (limit {limit:.3f})", f"CI of b-a [{d.low:+.3f}, {d.high:+.3f}]"]
        significant = d.high < 0 and (d.holm_p is None or d.holm_p < policy.alpha)
        if d.holm_p is not None:
            reasons.append(f"McNemar p (Holm) {d.holm_p:.3g}")
        failing = drop > limit + TOLERANCE and (not policy.require_ci_excludes_zero or significant)
        if policy.respect_noise_floor and d.noise_floor is not None:
            reasons.append(f"noise floor {d.noise_floor:.3f}")
            failing = failing and drop > d.noise_floor + TOLERANCE
        status = "info" if rule.informational else "fail" if failing else "pass"
        checks.append(Check(f"{d.metric} @ {slice_name(d)}", status, "; ".join(reasons), d))
    for g in comparison.guard_rails:
        rule = policy.guard_rails.get(g.name)
        if rule is None:
            continue
        problems = []
        if rule.max_ratio is not None and g.a > 0 and g.b / g.a > rule.max_ratio:
            problems.append(f"{g.b / g.a:.2f}x the baseline (limit {rule.max_ratio:.2f}x)")
        if rule.max_increase is not None and g.change > rule.max_increase:
            problems.append(f"up {g.change:+.3f} (limit {rule.max_increase:+.3f})")
        if rule.max is not None and g.b > rule.max:
            problems.append(f"{g.b:.3f} over the limit {rule.max:.3f}")
        detail = f"{g.a:.3f} -> {g.b:.3f}" + (f": {'; '.join(problems)}" if problems else "")
        checks.append(Check(f"guard rail {g.name}", "fail" if problems else "pass", detail))
    return checks
