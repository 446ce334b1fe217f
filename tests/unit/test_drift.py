"""Drift: the statistics against independent computations (statsmodels, the formulas by hand), the checks
over simulated windows (quiet on pairs from one distribution, alarmed by a planted doubling of input
length or a refusal surge), and `goldgate drift` over planted spans and runs in a real store."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from evals.analysis.drift import DriftPolicy, drift_report
from evals.cli import main
from evals.stats.drift import category_drift, psi, rate_drift, word_drift
from evals.store.retention import audit_log
from evals.store.spans import write_spans
from evals.store.store import Store
from tests.cli_helpers import assert_one_line_error, run_cli
from tests.drift_traffic import WORDS, generation, plant, window
from tests.synthetic_runs import golden_set, write_run

AT = datetime(2026, 12, 4, 12, 0, 0)
def test_psi_is_the_formula_over_the_baselines_deciles() -> None:
    rng = np.random.default_rng(0)
    b, c = rng.normal(0, 1, 2000), rng.normal(0.5, 1, 1500)
    edges = np.quantile(b, np.arange(1, 10) / 10)
    share = lambda x: np.array([np.mean(np.digitize(x, edges) == k) for k in range(10)])  # noqa: E731
    assert psi(b, c) == pytest.approx(np.sum((share(c) - share(b)) * np.log(share(c) / share(b))))
    assert psi(b, b) == 0.0


def test_rate_drift_matches_statsmodels_newcombe_and_fisher() -> None:
    for k0, n0, k1, n1 in ((6, 300, 60, 300), (0, 50, 3, 40), (20, 200, 19, 210)):
        d = rate_drift(k0, n0, k1, n1)
        low, high = confint_proportions_2indep(k1, n1, k0, n0, method="newcomb", compare="diff")
        assert (d.low, d.high) == pytest.approx((low, high), abs=1e-9)
        assert d.effect == pytest.approx(k1 / n1 - k0 / n0)
        assert d.pvalue == pytest.approx(stats.fisher_exact([[k1, n1 - k1], [k0, n0 - k0]]).pvalue)


def test_category_drift_is_the_js_divergence_in_bits_and_the_chi_square_test() -> None:
    b = ["stop"] * 90 + ["length"] * 10
    c = ["stop"] * 60 + ["length"] * 30 + ["content_filter"] * 10
    p, q = np.array([0, 10, 90]) / 100, np.array([10, 30, 60]) / 100
    m = (p + q) / 2
    kl = lambda x, y: np.sum(x[x > 0] * np.log2(x[x > 0] / y[x > 0]))  # noqa: E731
    d = category_drift(b, c)
    assert d.effect == pytest.approx((kl(p, m) + kl(q, m)) / 2)
    assert d.pvalue == pytest.approx(stats.chi2_contingency([[0, 10, 90], [10, 30, 60]]).pvalue)


def test_word_drift_p_values_are_valid_under_no_drift() -> None:
    """Under no drift the permutation p-value is (super-)uniform: at most about 10% of them under 0.1."""
    rng = np.random.default_rng(2)
    docs = lambda n: [list(rng.choice(WORDS[:50], size=10)) for _ in range(n)]  # noqa: E731
    pvalues = [word_drift(docs(40), docs(40), seed=i).pvalue for i in range(60)]
    assert np.mean(np.array(pvalues) < 0.1) <= 0.2
    shifted = [list(rng.choice(WORDS[25:75], size=10)) for _ in range(40)]
    assert word_drift(docs(40), shifted, max_permutations=499).pvalue == pytest.approx(1 / 500)  # none as large


def test_quiet_on_95_of_100_pairs_from_one_distribution() -> None:
    rng = np.random.default_rng(1)
    alarms = [drift_report(window(rng), window(rng)).alarms for _ in range(100)]
    assert sum(bool(a) for a in alarms) <= 5, [c.name for a in alarms for c in a]


@pytest.mark.parametrize("change, alarmed", [
    ({"length_scale": 2.0}, {"input_tokens"}),
    ({"refusal": 0.2}, {"refusal_rate"}),
    ({"topic_shift": True}, {"topic"}),
])
def test_a_planted_change_alarms_its_check_alone(change: dict, alarmed: set[str]) -> None:
    rng = np.random.default_rng(4)
    report = drift_report(window(rng), window(rng, **change))
    assert {c.name for c in report.alarms} == alarmed


def test_small_windows_and_turned_off_checks_are_skipped() -> None:
    rng = np.random.default_rng(5)
    policy = DriftPolicy.model_validate({"min_samples": 50, "checks": {"topic": None}})
    report = drift_report(window(rng, 40), window(rng, 400, length_scale=3), policy)
    assert "topic" not in {c.name for c in report.checks}
    assert all(c.skipped and not c.alarm for c in report.checks)


def _drift(capsys, db: Path, *flags: str) -> tuple[int, dict]:
    code = main(["drift", "--db", str(db), "--at", AT.isoformat(), "--json", *flags])
    return code, json.loads(capsys.readouterr().out)


def test_drift_over_stored_production_windows(capsys, tmp_path: Path) -> None:
    """A week of healthy traffic, a quiet week like it, then a day of doubled inputs and refusals."""
    rng, db = np.random.default_rng(6), tmp_path / "gg.duckdb"
    store = Store(db)
    plant(store, AT, window(rng), 0, 10)
    plant(store, AT, window(rng), 10_000, 5)
    plant(store, AT, window(rng, length_scale=2, refusal=0.2), 20_000, 0.5)

    code, quiet = _drift(capsys, db, "--baseline", "14d..7d", "--current", "7d..1d")
    assert code == 0 and quiet["alarms"] == []
    assert {c["check"]: c["n_current"] for c in quiet["checks"]}["input_tokens"] == 400
    code, drifted = _drift(capsys, db, "--baseline", "14d..7d", "--current", "1d..")
    assert code == 1 and set(drifted["alarms"]) == {"input_tokens", "refusal_rate"}
    refusal = next(c for c in drifted["checks"] if c["check"] == "refusal_rate")
    assert refusal["low"] > 0 and refusal["p_adjusted"] < 0.01
    code, iso = _drift(capsys, db, "--baseline", f"{(AT - timedelta(days=14)).isoformat()}..7d", "--current", "1d..")
    assert code == 1 and iso["alarms"] == drifted["alarms"]
    reads = audit_log(store)  # each window's captured content read, recorded
    assert [(a, act, target, n) for _, a, act, target, n in reads][:2] == [
        ("goldgate drift", "read_content", "14d..7d", 400), ("goldgate drift", "read_content", "7d..1d", 400)]


def test_a_tail_sampled_store_is_compared_over_its_baseline_draws_only(capsys, tmp_path: Path) -> None:
    """The rules kept every refusal-laden trace (weight 1, not drawn) on top of the draw: counted, the
    refusal rate would look like a surge; over the drawn spans it is the traffic's."""
    rng, db = np.random.default_rng(7), tmp_path / "gg.duckdb"
    store = Store(db)
    plant(store, AT, window(rng), 0, 10)
    current = window(rng)
    write_spans(store, [generation(10_000 + i, AT - timedelta(hours=1, seconds=i), row, weight=20.0, drawn=True)
                        for i, row in enumerate(current.itertuples())])
    kept_by_rules = window(rng, refusal=1.0).head(150)
    write_spans(store, [generation(20_000 + i, AT - timedelta(hours=2, seconds=i), row, weight=1.0, drawn=False)
                        for i, row in enumerate(kept_by_rules.itertuples())])
    code, report = _drift(capsys, db, "--baseline", "14d..7d", "--current", "1d..")
    assert code == 0, report["alarms"]
    assert {c["check"]: c["n_current"] for c in report["checks"]}["input_tokens"] == len(current)


def test_drift_between_two_runs(capsys, tmp_path: Path) -> None:
    """Two runs' answers: the second's answers refuse far more often."""
    db = tmp_path / "gg.duckdb"
    store, golden = Store(db), golden_set(tmp_path, 200, 4)
    rng = np.random.default_rng(8)
    for run_id, refusal in (("before", 0.02), ("after", 0.3)):
        write_run(store, golden, run_id, {ex.id: 1.0 for ex in golden.examples})
        answers = window(rng, len(golden), refusal=refusal)
        with store.write() as con:
            con.executemany("UPDATE results SET output = ?, prompt_tokens = ?, completion_tokens = ? "
                            "WHERE run_id = ? AND example_id = ?",
                            [(row.output_text, int(row.input_tokens), int(row.output_tokens), run_id, ex.id)
                             for ex, row in zip(golden.examples, answers.itertuples())])
    code, report = _drift(capsys, db, "--baseline", "run:before", "--current", "run:after")
    assert code == 1 and report["alarms"] == ["refusal_rate"]
    assert {c["check"]: c.get("skipped") for c in report["checks"]}["topic"]  # no content was captured
    assert audit_log(store) == []  # a run's stored answers are its record, not captured content


@pytest.mark.parametrize("flags, needle", [
    (["--baseline", "7d", "--current", "1d.."], "--baseline"),
    (["--baseline", "7d..14d", "--current", "1d.."], "start before it ends"),
    (["--baseline", "yesterday..", "--current", "1d.."], "'yesterday'"),
    (["--baseline", "run:nope", "--current", "1d.."], "no run 'nope'"),
])
def test_bad_windows_are_exit_2_naming_them(capsys, tmp_path: Path, flags: list[str], needle: str) -> None:
    db = tmp_path / "gg.duckdb"
    Store(db).write().__enter__().close()  # an empty, migrated store
    code, _, err = run_cli(capsys, "drift", "--db", str(db), *flags)
    assert_one_line_error(code, err, needle)


def test_a_missing_store_and_a_bad_policy_are_exit_2(capsys, tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "drift", "--db", str(tmp_path / "none.duckdb"), "--baseline", "7d..", "--current", "1d..")
    assert_one_line_error(code, err, "none.duckdb")
    policy = tmp_path / "drift.yaml"
    policy.write_text("alpha: 0.01\nchecks:\n  topic: {threshold: -1}\n")
    code, _, err = run_cli(capsys, "drift", "--db", str(tmp_path / "none.duckdb"), "--policy", str(policy),
                           "--baseline", "7d..", "--current", "1d..")
    assert_one_line_error(code, err, f"{policy}:3", "checks.topic.threshold")


def test_an_unsampled_store_counts_every_span_and_reads_its_captured_content(tmp_path: Path) -> None:
    from evals.store.drift_samples import traffic_between

    store = Store(tmp_path / "gg.duckdb")
    frame = window(np.random.default_rng(9), 50)
    plant(store, AT, frame, 0, 1)
    rows = traffic_between(store, AT - timedelta(days=2), AT)
    assert sorted(rows["output_text"]) == sorted(frame["output_text"])
    assert sorted(rows["input_text"]) == sorted(frame["input_text"])
