"""Whether a judge's calibration still holds (08 §4.4, §6.5). A calibration is evidence about one judge
prompt (its SHA) on one judge model (its weights' digest) against one set of human labels, at one time.
It expires at once when the prompt or the weights change, and with age: a judge that agreed with people
a year ago may not today. An expired judge's scores are still shown, but they stop gating, and the gate
says why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from evals.store.judging import calibration_created, latest_calibration_of_judge
from evals.store.store import Store


@dataclass(frozen=True)
class JudgeGating:
    kappa: float | None  # the lowest calibrated dimension's kappa; None: no usable calibration
    reason: str | None = None  # why it may not gate, when it may not


def expiry_at_run(store: Store, judge_id: str, prompt_sha256: str, model_digest: str | None) -> str | None:
    """Why the judge has no calibration of its own prompt and weights, when an older one exists."""
    stale = latest_calibration_of_judge(store, judge_id)
    if stale is None:
        return None
    calibration_id, sha, digest, _ = stale
    if sha != prompt_sha256:
        return f"the judge prompt changed since calibration {calibration_id} (sha256 {sha[:12]} -> {prompt_sha256[:12]})"
    if digest != model_digest:
        return f"the judge model's weights changed since calibration {calibration_id}"
    return None


def gating(store: Store, judges: list[dict], max_age: timedelta | None, at: datetime) -> dict[str, JudgeGating]:
    """Each judge of a run's record: the kappa it gates with, or why it does not."""
    out = {}
    for j in judges:
        cal = j["calibration"]
        kappas = list(cal["kappa"].values())
        kappa = None if not kappas or None in kappas else min(kappas)  # an undefined kappa on any dimension
        reason = None
        if cal.get("calibration_id") is None:
            reason = f"calibration expired: {cal['expired']}" if cal.get("expired") else "never calibrated"
        elif max_age is not None:
            found = calibration_created(store, cal["calibration_id"])
            if found is not None and at - found > max_age:
                reason = (f"calibration expired: {cal['calibration_id']} is {(at - found).days} days old, "
                          f"over the policy's {max_age.days}")
        out[j["judge_id"]] = JudgeGating(None if reason else kappa, reason)
    return out
