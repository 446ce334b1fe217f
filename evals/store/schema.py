"""The store's tables, as numbered migrations. A change to the stored run appends one and bumps the version."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: runs with their full record, per-example results and scores, the generation cache, and the
    #    tables the judges, human labels and trace export fill.
    """
    CREATE TABLE runs (
        run_id VARCHAR PRIMARY KEY,
        suite_name VARCHAR NOT NULL,
        tag VARCHAR,
        status VARCHAR NOT NULL,               -- running | completed
        dataset_name VARCHAR NOT NULL,
        dataset_path VARCHAR NOT NULL,
        dataset_sha256 VARCHAR NOT NULL,
        n_examples INTEGER NOT NULL,
        epochs INTEGER NOT NULL,
        model_id VARCHAR NOT NULL,
        model_digest VARCHAR,                  -- SHA-256 of the weights; NULL for an endpoint
        endpoint VARCHAR,
        prompt_sha256 VARCHAR NOT NULL,
        judges JSON NOT NULL,                  -- [{judge_id, prompt_sha256}]
        git_commit VARCHAR,
        git_dirty BOOLEAN,
        settings JSON NOT NULL,                -- the resolved suite, enough to resume the run
        goldgate_version VARCHAR NOT NULL,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP,
        summary JSON
    );
    CREATE TABLE results (
        run_id VARCHAR NOT NULL,
        example_id VARCHAR NOT NULL,
        epoch INTEGER NOT NULL,
        holdout BOOLEAN NOT NULL,
        labels JSON NOT NULL,
        input_sha256 VARCHAR NOT NULL,
        output VARCHAR,
        finish_reason VARCHAR,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        latency_s DOUBLE,
        ttft_s DOUBLE,
        cached BOOLEAN NOT NULL,
        error VARCHAR,                         -- set when generation failed; the row is retried on resume
        created_at TIMESTAMP NOT NULL,
        PRIMARY KEY (run_id, example_id, epoch)
    );
    CREATE TABLE scores (
        run_id VARCHAR NOT NULL,
        example_id VARCHAR NOT NULL,
        epoch INTEGER NOT NULL,
        scorer VARCHAR NOT NULL,
        value DOUBLE NOT NULL,
        explanation VARCHAR NOT NULL,
        PRIMARY KEY (run_id, example_id, epoch, scorer)
    );
    CREATE TABLE generations (
        cache_key VARCHAR PRIMARY KEY,         -- SHA-256 of (model digest, prompt SHA, input SHA, sampling, seed)
        output VARCHAR NOT NULL,
        finish_reason VARCHAR NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        latency_s DOUBLE NOT NULL,
        ttft_s DOUBLE NOT NULL,
        created_at TIMESTAMP NOT NULL
    );
    CREATE TABLE judgments (
        run_id VARCHAR NOT NULL,
        example_id VARCHAR NOT NULL,
        epoch INTEGER NOT NULL,
        judge_id VARCHAR NOT NULL,
        judge_prompt_sha256 VARCHAR NOT NULL,
        dimension VARCHAR NOT NULL,
        outcome VARCHAR NOT NULL,              -- scored | parse_error | error
        score DOUBLE,
        rationale VARCHAR,
        raw VARCHAR,
        created_at TIMESTAMP NOT NULL,
        PRIMARY KEY (run_id, example_id, epoch, judge_id, dimension)
    );
    CREATE TABLE human_labels (
        dataset_sha256 VARCHAR NOT NULL,
        example_id VARCHAR NOT NULL,
        rater VARCHAR NOT NULL,
        dimension VARCHAR NOT NULL,
        label VARCHAR NOT NULL,
        imported_at TIMESTAMP NOT NULL,
        PRIMARY KEY (dataset_sha256, example_id, rater, dimension)
    );
    CREATE TABLE spans (
        trace_id VARCHAR NOT NULL,
        span_id VARCHAR NOT NULL,
        parent_span_id VARCHAR,
        name VARCHAR NOT NULL,
        start_time TIMESTAMP NOT NULL,
        end_time TIMESTAMP NOT NULL,
        status_code VARCHAR NOT NULL,
        attributes JSON NOT NULL,
        run_id VARCHAR,
        example_id VARCHAR,
        PRIMARY KEY (trace_id, span_id)
    );
    """,
    # 2: judge calibrations, one row per rubric dimension, read by the dashboard and by suites that
    #    require a calibrated judge before its scores may gate.
    """
    CREATE TABLE calibrations (
        calibration_id VARCHAR NOT NULL,
        judge_id VARCHAR NOT NULL,
        judge_prompt_sha256 VARCHAR NOT NULL,
        judge_model_id VARCHAR NOT NULL,
        judge_model_digest VARCHAR,
        dataset_sha256 VARCHAR NOT NULL,
        labels_sha256 VARCHAR NOT NULL,
        dimension VARCHAR NOT NULL,
        n_items INTEGER NOT NULL,
        kappa DOUBLE,
        kappa_low DOUBLE,
        kappa_high DOUBLE,
        verdict VARCHAR NOT NULL,
        report JSON NOT NULL,
        created_at TIMESTAMP NOT NULL,
        PRIMARY KEY (calibration_id, dimension)
    );
    """,
    # 3: telemetry. Each result keeps its eval example's trace and span and the span of the generation it
    #    scores; spans keep their kind and events (where captured content and evaluation results live).
    """
    ALTER TABLE results ADD COLUMN trace_id VARCHAR;
    ALTER TABLE results ADD COLUMN span_id VARCHAR;
    ALTER TABLE results ADD COLUMN generation_span_id VARCHAR;
    ALTER TABLE spans ADD COLUMN kind VARCHAR;
    ALTER TABLE spans ADD COLUMN events JSON;
    CREATE INDEX spans_by_run ON spans (run_id);
    """,
    # 4: the dashboard. Typed copies of the span attributes its golden-signal charts aggregate (so a
    #    million spans need no JSON parsing), gate verdicts, and the answers people labelled there.
    """
    ALTER TABLE spans ADD COLUMN model VARCHAR;
    ALTER TABLE spans ADD COLUMN duration_s DOUBLE;
    ALTER TABLE spans ADD COLUMN ttft_s DOUBLE;
    ALTER TABLE spans ADD COLUMN tpot_s DOUBLE;
    ALTER TABLE spans ADD COLUMN input_tokens INTEGER;
    ALTER TABLE spans ADD COLUMN output_tokens INTEGER;
    ALTER TABLE spans ADD COLUMN error_type VARCHAR;
    ALTER TABLE spans ADD COLUMN finish_reason VARCHAR;
    ALTER TABLE spans ADD COLUMN requests_waiting INTEGER;
    ALTER TABLE spans ADD COLUMN kv_cache_usage DOUBLE;
    CREATE INDEX spans_by_start ON spans (start_time);
    CREATE TABLE gate_results (
        candidate_run_id VARCHAR NOT NULL,
        baseline_run_id VARCHAR NOT NULL,
        passed BOOLEAN NOT NULL,
        n_failed INTEGER NOT NULL,
        report JSON NOT NULL,                  -- the gate's JSON report
        created_at TIMESTAMP NOT NULL
    );
    CREATE TABLE labelled_answers (
        dataset_sha256 VARCHAR NOT NULL,
        example_id VARCHAR NOT NULL,
        answer VARCHAR NOT NULL,               -- what the raters saw
        run_id VARCHAR,
        labelled_at TIMESTAMP NOT NULL,
        PRIMARY KEY (dataset_sha256, example_id)
    );
    """,
    # 5: a judge is a scorer. Each scored rubric dimension is also a score, `JUDGE_ID/DIMENSION` on [0, 1]
    #    (normalised by the scale the run recorded for it), so reports, comparisons and gates read judges
    #    and programmatic scorers alike; judgments keep the extras (outcome, raw score, rationale, reply).
    """
    INSERT OR REPLACE INTO scores
    WITH judge AS (SELECT run_id, unnest(from_json(judges, '["JSON"]')) AS j FROM runs),
    scale AS (SELECT run_id, j->>'judge_id' AS judge_id, j->'scales' AS scales FROM judge)
    SELECT d.run_id, d.example_id, d.epoch, d.judge_id || '/' || d.dimension,
           (d.score - lo) / (hi - lo), coalesce(d.rationale, '')
    FROM (SELECT j.*, json_extract(s.scales, '$."' || j.dimension || '"[0]')::DOUBLE AS lo,
                 json_extract(s.scales, '$."' || j.dimension || '"[1]')::DOUBLE AS hi
          FROM judgments j JOIN scale s USING (run_id, judge_id) WHERE j.outcome = 'scored') d
    WHERE hi > lo;
    """,
    # 6: production signals. What each answer and judge call cost (by the run's price table; NULL without one;
    #    a judge call's on its 'overall' row only, so summing judgments counts each call once), and the span
    #    columns SLOs and cost charts aggregate: HTTP status, cost, and the allow-listed attribution labels.
    """
    ALTER TABLE results ADD COLUMN cost DOUBLE;
    ALTER TABLE judgments ADD COLUMN cost DOUBLE;
    ALTER TABLE spans ADD COLUMN http_status INTEGER;
    ALTER TABLE spans ADD COLUMN cost DOUBLE;
    ALTER TABLE spans ADD COLUMN feature VARCHAR;
    ALTER TABLE spans ADD COLUMN variant VARCHAR;
    """,
    # 7: the audit log: every read of captured content (a dashboard page, an export) and every deletion
    #    of it (prune, forget): when, by which command or page, of what, and how many spans (09 §9.3).
    """
    CREATE TABLE audit_log (
        logged_at TIMESTAMP NOT NULL,
        actor VARCHAR NOT NULL,                -- the command or dashboard page
        action VARCHAR NOT NULL,               -- read_content | prune | forget
        target VARCHAR NOT NULL,               -- a trace id, a run id, a user hash, an age
        spans INTEGER NOT NULL                 -- spans read or changed
    );
    """,
    # 8: tail sampling. A kept span's sampling weight: how many traces its trace stands for (NULL: unsampled,
    #    1), so SLO counts and spend over a sampled store are estimates of the whole traffic, not of the sample.
    """
    ALTER TABLE spans ADD COLUMN sample_weight DOUBLE;
    """,
)

SCHEMA_VERSION = 8  # a literal: tests fail when a migration is added without bumping it
RUN_TABLES = ("runs", "results", "scores", "judgments", "spans")  # what a run export carries
