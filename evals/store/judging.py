"""What judges keep in the store: a verdict's extras per rubric dimension (outcome, raw score, rationale,
the judge's reply) beside the normalised score every metric has, human labels and the answers they
label, and calibrations with the latest one per judge."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Sequence

from evals.errors import EvalInputError
from evals.store.batch import insert_rows
from evals.store.results import SCORE_COLUMNS, Row
from evals.store.spans import insert_spans
from evals.store.store import Store, json_safe, now
from telemetry.sinks import SpanRecord

JUDGMENT_COLUMNS = ("run_id", "example_id", "epoch", "judge_id", "judge_prompt_sha256", "dimension", "outcome",
                    "score", "rationale", "raw", "cost")
CALIBRATION_COLUMNS = ("calibration_id", "judge_id", "judge_prompt_sha256", "judge_model_id", "judge_model_digest",
                       "dataset_sha256", "labels_sha256", "dimension", "n_items", "kappa", "kappa_low", "kappa_high",
                       "verdict", "report")
LABEL_COLUMNS = ("dataset_sha256", "example_id", "rater", "dimension", "label")


def write_judgments(store: Store, judgments: Sequence[Row], scores: Sequence[Row],
                    spans: Sequence[SpanRecord] = ()) -> None:
    """A group of verdicts in one transaction: their extras (JUDGMENT_COLUMNS), the scores they give
    (SCORE_COLUMNS, on [0, 1]) and the spans of the judge calls."""
    created = now()
    with store.write() as con:
        insert_rows(con, "judgments", (*JUDGMENT_COLUMNS, "created_at"),
                    [{**j, "created_at": created} for j in judgments])
        insert_rows(con, "scores", SCORE_COLUMNS, scores)
        insert_spans(con, spans)


def latest_calibration(store: Store, judge_id: str, prompt_sha256: str, model_id: str,
                       model_digest: str | None) -> tuple[str | None, dict[str, float | None]]:
    """The latest stored calibration of this judge prompt on this judge model: its id and kappa per dimension."""
    if not store.path.exists():
        return None, {}
    with store.read() as con:
        rows = con.execute(
            """
            SELECT calibration_id, dimension, kappa FROM calibrations
            WHERE judge_id = $judge AND judge_prompt_sha256 = $sha AND judge_model_id = $model
              AND judge_model_digest IS NOT DISTINCT FROM $digest
              AND created_at = (SELECT max(created_at) FROM calibrations WHERE judge_id = $judge
                                AND judge_prompt_sha256 = $sha AND judge_model_id = $model)
            """, {"judge": judge_id, "sha": prompt_sha256, "model": model_id, "digest": model_digest}).fetchall()
    return (rows[0][0] if rows else None), {dim: kappa for _, dim, kappa in rows}


def latest_calibration_of_judge(store: Store, judge_id: str) -> tuple[str, str, str | None, datetime] | None:
    """The newest calibration under this judge's name, whatever its prompt or weights: (calibration id,
    prompt SHA-256, model digest, created at)."""
    if not store.path.exists():
        return None
    with store.read() as con:
        return con.execute("SELECT calibration_id, judge_prompt_sha256, judge_model_digest, created_at FROM calibrations "
                           "WHERE judge_id = $judge ORDER BY created_at DESC LIMIT 1", {"judge": judge_id}).fetchone()


def calibration_created(store: Store, calibration_id: str) -> datetime | None:
    with store.read() as con:
        row = con.execute("SELECT min(created_at) FROM calibrations WHERE calibration_id = $c",
                          {"c": calibration_id}).fetchone()
    return row[0] if row else None


def store_calibration(store: Store, labels: Sequence[Row], judgments: Sequence[Row],
                      calibrations: Sequence[Row]) -> None:
    """A calibration in one transaction: the human labels it used (LABEL_COLUMNS), the judge's verdicts
    (JUDGMENT_COLUMNS, under the calibration id as run id) and one row per dimension (CALIBRATION_COLUMNS)."""
    created = now()
    with store.write() as con:
        con.executemany(
            f"INSERT INTO human_labels ({', '.join(LABEL_COLUMNS)}, imported_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO UPDATE SET label = excluded.label, imported_at = excluded.imported_at",
            [(*(r[c] for c in LABEL_COLUMNS), created) for r in labels])
        insert_rows(con, "judgments", (*JUDGMENT_COLUMNS, "created_at"),
                    [{**j, "created_at": created} for j in judgments], verb="INSERT")
        insert_rows(con, "calibrations", (*CALIBRATION_COLUMNS, "created_at"),
                [{**json_safe(c), "report": json.dumps(json_safe(c["report"])), "created_at": created}
                 for c in calibrations], verb="INSERT")


def stored_labels(store: Store, dataset_sha256: str) -> tuple[dict[str, str], list[tuple[str, str, str, str]], str]:
    """The answers people labelled on the dashboard for this golden set, their labels (example, rater,
    dimension, label) and a digest of those labels."""
    if not store.path.exists():
        raise EvalInputError("no such store", file=store.path)
    with store.read() as con:
        answers = dict(con.execute("SELECT example_id, answer FROM labelled_answers WHERE dataset_sha256 = ?",
                                   [dataset_sha256]).fetchall())
        rows = con.execute("SELECT example_id, rater, dimension, label FROM human_labels WHERE dataset_sha256 = ? "
                           "AND example_id IN (SELECT example_id FROM labelled_answers WHERE dataset_sha256 = ?) "
                           "ORDER BY ALL", [dataset_sha256, dataset_sha256]).fetchall()
    if not rows:
        raise EvalInputError("no labels stored for this golden set; label answers on the dashboard's Label page",
                             file=store.path, field="--from-store")
    return answers, rows, hashlib.sha256(json.dumps([list(r) for r in rows]).encode()).hexdigest()

