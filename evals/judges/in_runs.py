"""Judges inside `goldgate run`: every stored answer judged (resumably), each verdict stored like any
scorer's scores with its extras beside them, and whether the judge's stored calibration lets its scores
gate."""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

from evals.golden.dataset import Example
from evals.judges.governance import expiry_at_run
from evals.judges.judge import Judge, Judgment
from evals.run.costs import completion_cost
from evals.run.work import WorkItem
from evals.stats.agreement import GATING_KAPPA
from evals.store.judging import latest_calibration, write_judgments
from evals.store.results import pending_answers
from evals.store.store import Store
from evals.tracing.run import RunTracing
from telemetry.prices import PriceTable

GROUP = 32  # answers judged and stored per transaction


def calibration_status(store: Store, judge: Judge) -> dict[str, Any]:
    """The latest stored calibration of this judge prompt on this judge model, and whether every
    calibrated dimension reached the gating kappa (no calibration: it may not gate; one of an older prompt
    or other weights: `expired` says which)."""
    calibration_id, kappas = latest_calibration(store, judge.judge_id, judge.prompt.sha256, judge.backend.model_id,
                                                judge.backend.model_digest)
    expired = None if calibration_id else expiry_at_run(store, judge.judge_id, judge.prompt.sha256,
                                                        judge.backend.model_digest)
    return {"calibration_id": calibration_id, "kappa": kappas, "min_kappa": GATING_KAPPA, "expired": expired,
            "may_gate": bool(kappas) and all(k is not None and k >= GATING_KAPPA for k in kappas.values())}


def judge_record(judge: Judge, store: Store) -> dict[str, Any]:
    spec = judge.prompt.spec
    return {"judge_id": judge.judge_id, "prompt_sha256": judge.prompt.sha256, "model_id": judge.backend.model_id,
            "model_digest": judge.backend.model_digest, "reference": judge.with_reference,
            "scales": {d: [spec.scale(d).min, spec.scale(d).max] for d in [*spec.dimensions, "overall"]},
            "calibration": calibration_status(store, judge)}


def judge_answers(store: Store, run_id: str, judges: Sequence[Judge], examples: dict[str, Example],
                  tracing: RunTracing | None = None, prices: PriceTable | None = None) -> None:
    """Judge every successful answer of the run that this judge has not judged yet; with `tracing`, each
    judge call hangs under its answer's example span and each verdict is an evaluation event; with `prices`,
    each call is costed."""
    for judge in judges:
        pending = pending_answers(store, run_id, judge.judge_id)
        for start in range(0, len(pending), GROUP):
            chunk = pending[start:start + GROUP]
            started = time.time_ns()
            judged = judge.pointwise([(examples[a["example_id"]], a["output"]) for a in chunk],
                                     traced=_placer(tracing, chunk, judge.prompt.sha256) if tracing else None)
            judgments, scores = [], []
            for answer, j in zip(chunk, judged):
                judgments += _extras(run_id, answer, judge, j, prices)
                for (name, score), raw in zip(judge.scores(j.verdict).items(), j.verdict.scores.values()):
                    scores.append({"run_id": run_id, "example_id": answer["example_id"], "epoch": answer["epoch"],
                                   "scorer": name, "value": score.value, "explanation": score.explanation})
                    if tracing is not None:  # the event carries the rubric's own number
                        tracing.judged(answer["trace_id"], answer["span_id"], answer["generation_span_id"], name,
                                       raw, score.explanation, started)
                if tracing is not None and j.verdict.outcome == "parse_error":  # failed its structure
                    tracing.validation_error("judge_reply", judge.backend.model_id)
            write_judgments(store, judgments, scores, tracing.drain() if tracing is not None else ())


def _placer(tracing: RunTracing, chunk: list[dict[str, Any]],
            prompt_sha256: str) -> Callable[[int, WorkItem], WorkItem]:
    """Where the i-th judge request goes in the run's trace: under its answer's example span."""
    def place(i: int, item: WorkItem) -> WorkItem:
        context = tracing.judge_context(chunk[i]["example_id"], chunk[i]["trace_id"], chunk[i]["span_id"],
                                        prompt_sha256)
        return item if context is None else item.placed(*context)
    return place


def _extras(run_id: str, answer: dict[str, Any], judge: Judge, j: Judgment,
            prices: PriceTable | None) -> list[dict[str, Any]]:
    """One judgments row per rubric dimension: outcome, raw score, rationale (or the problem) and the reply;
    the call's cost on the 'overall' row alone (one call judged every dimension)."""
    cost = completion_cost(prices, judge.backend.model_id, j.call) if j.call is not None else None
    return [{"cost": cost if dim == "overall" else None, "run_id": run_id, "example_id": answer["example_id"], "epoch": answer["epoch"],
             "judge_id": judge.judge_id, "judge_prompt_sha256": judge.prompt.sha256, "dimension": dim,
             "outcome": j.verdict.outcome, "score": j.verdict.scores.get(dim),
             "rationale": j.verdict.rationale or j.verdict.problem, "raw": j.raw}
            for dim in [*judge.prompt.spec.dimensions, "overall"]]
