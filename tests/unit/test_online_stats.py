"""The online A/B read-outs by simulation, and `goldgate ab` over planted variant-tagged traffic: the mSPRT's false alarms stay at or under alpha when read after
every 100 observations (where peeking at a z-test does not), it stops on a real effect, and the
Beta-Binomial probability and losses agree with Monte Carlo and are calibrated."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest
from scipy.stats import norm

from evals.cli import main
from evals.stats.online import beta_binomial_ab, msprt, prob_greater
from evals.store.spans import write_spans
from evals.store.store import Store, now
from telemetry.sinks import SpanRecord
from tests.cli_helpers import assert_one_line_error, run_cli

LOOKS = np.arange(100, 2001, 100)


def _arms(rng: np.random.Generator, p_a: float, p_b: float, n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    return rng.random(n) < p_a, rng.random(n) < p_b


def test_2000_aa_tests_read_every_100_observations_alarm_at_most_alpha() -> None:
    rng = np.random.default_rng(0)
    alarms = [msprt(*_arms(rng, 0.1, 0.1), looks=LOOKS, alpha=0.05, tau=0.05).stopped_at is not None
              for _ in range(2000)]
    assert np.mean(alarms) <= 0.05


def test_peeking_at_a_fixed_horizon_z_test_would_not_have_held() -> None:
    """The reason the mSPRT exists: the same looks at a two-proportion z-test alarm far more often."""
    rng = np.random.default_rng(1)
    alarms = 0
    for _ in range(500):
        a, b = _arms(rng, 0.1, 0.1)
        for n in LOOKS:
            pooled = (a[:n].mean() + b[:n].mean()) / 2
            z = (b[:n].mean() - a[:n].mean()) / np.sqrt(2 * pooled * (1 - pooled) / n)
            if abs(z) > norm.ppf(0.975):
                alarms += 1
                break
    assert alarms / 500 > 0.15


def test_a_real_effect_stops_the_test_and_the_sequence_covers_it() -> None:
    rng = np.random.default_rng(2)
    results = [msprt(*_arms(rng, 0.10, 0.15), looks=LOOKS, alpha=0.05, tau=0.05) for _ in range(200)]
    stopped = [r for r in results if r.stopped_at is not None]
    assert len(stopped) / len(results) >= 0.9
    assert np.median([r.stopped_at for r in stopped]) < 2000
    assert np.mean([r.low <= 0.05 <= r.high for r in results]) >= 0.95


def test_the_bayesian_read_out_agrees_with_monte_carlo() -> None:
    rng = np.random.default_rng(3)
    for (ka, na, kb, nb), prior in (((20, 200, 30, 200), (1, 1)), ((5, 40, 4, 60), (1, 1)), ((20, 200, 30, 200), (0.5, 0.5))):
        r = beta_binomial_ab(ka, na, kb, nb, prior=prior)
        a = rng.beta(prior[0] + ka, prior[1] + na - ka, 10**6)
        b = rng.beta(prior[0] + kb, prior[1] + nb - kb, 10**6)
        assert r.prob_b_better == pytest.approx(np.mean(b > a), abs=3e-3)
        assert r.loss_choosing_b == pytest.approx(np.mean(np.maximum(a - b, 0)), abs=3e-4)
        assert r.loss_choosing_a == pytest.approx(np.mean(np.maximum(b - a, 0)), abs=3e-4)
        assert r.interval_b == pytest.approx(tuple(np.quantile(b, [0.025, 0.975])), abs=2e-3)


def test_the_probability_that_b_is_better_is_calibrated() -> None:
    """Rates drawn from the prior the analysis uses: of the experiments read as 'B better with 85 to 95%
    probability', B is in truth better in 90 +- 2% of them."""
    rng = np.random.default_rng(4)
    prior, n, sims = (2, 8), 100, 20_000
    p_a, p_b = rng.beta(*prior, sims), rng.beta(*prior, sims)
    k_a, k_b = rng.binomial(n, p_a), rng.binomial(n, p_b)
    probs = np.array([prob_greater((prior[0] + kb, prior[1] + n - kb), (prior[0] + ka, prior[1] + n - ka))
                      for ka, kb in zip(k_a, k_b)])
    claimed = (probs >= 0.85) & (probs < 0.95)
    assert claimed.sum() > 1000
    assert abs(np.mean(p_b[claimed] > p_a[claimed]) - 0.90) <= 0.02


@pytest.mark.parametrize("call, problem", [
    (lambda: msprt([1, 0], [1]), "same length|one length"),
    (lambda: msprt([1, 0, 1], [1, 0, 0], looks=[2, 1]), "increase"),
    (lambda: msprt([1, 0], [1, 0], alpha=1.5), "alpha"),
    (lambda: beta_binomial_ab(5, 4, 1, 10), "arm a"),
    (lambda: beta_binomial_ab(1, 4, 1, 10, prior=(0, 1)), "prior"),
])
def test_bad_arguments_name_the_problem(call, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        call()


def _server_span(i: int, variant: str, status: int, end) -> SpanRecord:
    return SpanRecord(f"{i:032x}", f"{i:016x}", None, "POST /v1/chat/completions", "SERVER", end, end, "UNSET", "{}",
                      "[]", None, None, None, 0.2, None, None, None, None, None, None, None, None, status, None, None,
                      variant)


def test_goldgate_ab_reads_variant_tagged_production_traffic(capsys, tmp_path) -> None:
    """2,000 requests a variant, interleaved: B answers 5xx six times as often as A; C is like A."""
    rng, db, start = np.random.default_rng(5), tmp_path / "prod.duckdb", now() - timedelta(hours=3)
    spans = [_server_span(2 * i + k, v, 503 if rng.random() < rate else 200, start + timedelta(seconds=i))
             for i in range(2000) for k, (v, rate) in enumerate((("A", 0.01), ("B", 0.06)))]
    spans += [_server_span(10**6 + i, "C", 503 if rng.random() < 0.01 else 200, start + timedelta(seconds=i))
              for i in range(2000)]
    write_spans(Store(db), spans)

    assert main(["ab", "--a", "A", "--b", "B", "--db", str(db), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    a_bad = sum(s.http_status >= 500 for s in spans if s.variant == "A") / 2000
    assert (out["n_a"], out["n_b"]) == (2000, 2000) and out["bad_rate_a"] == pytest.approx(a_bad)
    assert out["sequential"]["stopped_at"] is not None and out["sequential"]["low"] > 0
    assert out["bayesian"]["prob_b_better"] < 0.01  # B's good rate is the lower
    assert main(["ab", "--a", "A", "--b", "C", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sequential"]["stopped_at"] is None  # one distribution
    code, _, err = run_cli(capsys, "ab", "--a", "A", "--b", "nope", "--db", str(db))
    assert_one_line_error(code, err, "'nope'", "at least 2")
