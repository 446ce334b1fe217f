"""Judges inside `goldgate run`: every stored answer judged (resumably), and whether the judge's
stored calibration lets its scores gate."""

from __future__ import annotations

import time
from typing import Any, Sequence

from evals.dataset import Example
from evals.judges.judge import Judge
from evals.run_tracing import RunTracing
from evals.store.store import Store, insert_spans, now

GROUP = 32  # answers judged and stored per transaction


def calibration_status(store: Store, judge: Judge, min_kappa: float) -> dict[str, Any]:
    """The latest stored calibration of this judge prompt on this judge model, and whether every
    calibrated dimension reached `min_kappa` (no calibration: it may not gate)."""
    if not store.path.exists():
        rows = []
    else:
        with store.read() as con:
            rows = con.execute(
                """
                SELECT calibration_id, dimension, kappa FROM calibrations
                WHERE judge_id = ? AND judge_prompt_sha256 = ? AND judge_model_id = ?
                  AND judge_model_digest IS NOT DISTINCT FROM ?
                  AND created_at = (SELECT max(created_at) FROM calibrations WHERE judge_id = ?
                                    AND judge_prompt_sha256 = ? AND judge_model_id = ?)
                """, [judge.judge_id, judge.prompt.sha256, judge.backend.model_id, judge.backend.model_digest,
                      judge.judge_id, judge.prompt.sha256, judge.backend.model_id]).fetchall()
    kappas = {dim: kappa for _, dim, kappa in rows}
    return {"calibration_id": rows[0][0] if rows else None, "kappa": kappas, "min_kappa": min_kappa,
            "may_gate": bool(kappas) and all(k is not None and k >= min_kappa for k in kappas.values())}


def judge_record(judge: Judge, min_kappa: float, store: Store) -> dict[str, Any]:
    spec = judge.prompt.spec
    return {"judge_id": judge.judge_id, "prompt_sha256": judge.prompt.sha256, "model_id": judge.backend.model_id,
            "model_digest": judge.backend.model_digest, "reference": judge.with_reference,
            "scales": {d: [spec.scale(d).min, spec.scale(d).max] for d in [*spec.dimensions, "overall"]},
            "calibration": calibration_status(store, judge, min_kappa)}


def judge_answers(store: Store, run_id: str, judges: Sequence[Judge], examples: dict[str, Example],
                  tracing: RunTracing | None = None) -> None:
    """Judge every successful answer of the run that this judge has not judged yet; with `tracing`, each
    judge call hangs under its answer's example span and each verdict is an evaluation event."""
    for judge in judges:
        with store.read() as con:
            pending = con.execute(
                """
                SELECT r.example_id, r.epoch, r.output, r.trace_id, r.span_id, r.generation_span_id FROM results r
                WHERE r.run_id = ? AND r.error IS NULL AND NOT EXISTS (
                    SELECT 1 FROM judgments j WHERE j.run_id = r.run_id AND j.example_id = r.example_id
                    AND j.epoch = r.epoch AND j.judge_id = ?)
                ORDER BY ALL
                """, [run_id, judge.judge_id]).fetchall()
        dims = [*judge.prompt.spec.dimensions, "overall"]
        for start in range(0, len(pending), GROUP):
            chunk = pending[start:start + GROUP]
            started = time.time_ns()
            traced = (lambda i, item: tracing.judge_item(item, chunk[i][3], chunk[i][4])) if tracing else None
            judged = judge.pointwise([(examples[row[0]], row[2]) for row in chunk], traced=traced)
            created = now()
            if tracing is not None:
                for (_, _, _, trace_id, span_id, generation_span_id), j in zip(chunk, judged):
                    if j.verdict.outcome == "parse_error":  # the reply failed its structure: a validation error
                        tracing.validation_error("judge_reply", judge.backend.model_id)
                    for dim, score in j.verdict.scores.items():
                        tracing.judged(trace_id, span_id, generation_span_id, f"{judge.judge_id}/{dim}", score,
                                       j.verdict.rationale or "", started)
            with store.write() as con:
                con.executemany("INSERT OR REPLACE INTO judgments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
                    (run_id, e, epoch, judge.judge_id, judge.prompt.sha256, dim, j.verdict.outcome,
                     j.verdict.scores.get(dim), j.verdict.rationale or j.verdict.problem, j.raw, created)
                    for (e, epoch, *_), j in zip(chunk, judged) for dim in dims])
                if tracing is not None:
                    insert_spans(con, tracing.drain())
