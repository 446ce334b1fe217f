"""The gate fails on real regressions only: a planted slice regression, noise, a guard rail, bad input."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import numpy as np
import pytest
import yaml

from evals.analysis.compare import compare
from evals.store.store import Store
from tests.cli_helpers import assert_one_line_error, run_cli
from tests.synthetic_runs import golden_set, write_run

SHIPPED_POLICY = Path(__file__).resolve().parents[2] / "datasets" / "general-v1" / "gate.yaml"


@pytest.fixture
def shipped_policy(tmp_path: Path) -> Path:
    """general-v1's policy, naming only what the synthetic runs have (they score exact_match alone, on
    intent slices): a policy that names a metric or slice the runs lack is refused."""
    policy = yaml.safe_load(SHIPPED_POLICY.read_text())
    policy |= {"metrics": ["exact_match"], "slices": {"all": policy["slices"]["all"]}}
    path = tmp_path / "shipped-gate.yaml"
    path.write_text(yaml.safe_dump(policy))
    return path


def noisy_copy(base: dict[str, float], rng: np.random.Generator, flips_each_way: int) -> dict[str, float]:
    """The same outcomes with as many pass->fail as fail->pass flips: noise, no change in the rate."""
    out = dict(base)
    passes = [i for i, v in base.items() if v == 1]
    fails = [i for i, v in base.items() if v == 0]
    for i in rng.choice(passes, flips_each_way, replace=False):
        out[i] = 0.0
    for i in rng.choice(fails, flips_each_way, replace=False):
        out[i] = 1.0
    return out


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Path, str, str, str]:
    """1,000 examples at 0.75 over five slices; the candidate drops slice s2 to 0.65, the rest is noise."""
    rng = np.random.default_rng(7)
    golden = golden_set(tmp_path, 1000, 5)
    base = {ex.id: float(rng.random() < 0.75) for ex in golden.examples}
    cand: dict[str, float] = {}
    for s in range(5):
        ids = [i for i in base if int(i[1:]) % 5 == s]
        part = {i: base[i] for i in ids}
        if s == 2:
            target = round(0.65 * len(ids))
            passes = [i for i in ids if part[i] == 1]
            for i in rng.choice(passes, len(passes) - target, replace=False):
                part[i] = 0.0
        else:
            part = noisy_copy(part, rng, 4)
        cand |= part
    store = Store(tmp_path / "gg.duckdb")
    a = write_run(store, golden, "baseline", base, tag="main")
    b = write_run(store, golden, "candidate", cand)
    slow = write_run(store, golden, "slow", base, latency_s=1.5)
    return tmp_path / "gg.duckdb", a, b, slow


def policy_file(tmp_path: Path, **policy) -> Path:
    path = tmp_path / "gate.yaml"
    path.write_text(yaml.safe_dump(policy))
    return path


def test_planted_regression_fails_that_slice_and_only_that_slice(capsys, planted, shipped_policy, tmp_path: Path) -> None:
    db, a, b, _ = planted
    out = tmp_path / "out"
    code, report, err = run_cli(capsys, "gate", "--candidate", b, "--baseline", a, "--policy", str(shipped_policy),
                                "--db", str(db), "--junit", str(out / "gate.xml"), "--json", str(out / "gate.json"))
    assert code == 1, err
    result = json.loads((out / "gate.json").read_text())
    failing = [c["name"] for c in result["checks"] if c["status"] == "fail"]
    assert failing == ["exact_match @ intent=s2"]
    assert "FAILED" in report and "Worst flips for exact_match @ intent=s2" in report
    cases = ET.parse(out / "gate.xml").getroot().findall("testcase")
    assert [c.get("name") for c in cases if c.find("failure") is not None] == ["slice intent=s2"]
    assert {c.get("name") for c in cases} >= {"slice all", "slice intent=s0", "guard rail latency_p95_s"}


def test_compare_shows_the_drop_with_its_interval_and_flips(planted) -> None:
    db, a, b, _ = planted
    c = compare(Store(db), a, b)
    s2 = next(d for d in c.diffs if d.slice_value == "s2")
    assert s2.n == 200 and s2.diff == pytest.approx(s2.b - s2.a) and s2.high < 0
    assert s2.holm_p is not None and s2.holm_p >= s2.mcnemar_p and s2.mde is not None
    others = [d for d in c.diffs if d.slice_key == "intent" and d.slice_value != "s2"]
    assert all(d.diff == 0 and not d.excludes_zero for d in others)
    flips = c.flips["exact_match"]
    assert flips["stayed_pass"] + flips["stayed_fail"] + len(flips["pass_to_fail"]) + len(flips["fail_to_pass"]) == 1000


def test_noise_alone_passes(capsys, shipped_policy, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    golden = golden_set(tmp_path, 1000, 5)
    base = {ex.id: float(rng.random() < 0.75) for ex in golden.examples}
    store = Store(tmp_path / "gg.duckdb")
    write_run(store, golden, "a", base)
    write_run(store, golden, "b", noisy_copy(base, rng, 40))
    code, report, _ = run_cli(capsys, "gate", "--candidate", "b", "--baseline", "a", "--policy", str(shipped_policy),
                              "--db", str(tmp_path / "gg.duckdb"))
    assert code == 0 and "passed" in report


def test_a_guard_rail_alone_fails_and_is_named(capsys, planted, shipped_policy, tmp_path: Path) -> None:
    db, a, _, slow = planted
    code, report, _ = run_cli(capsys, "gate", "--candidate", slow, "--baseline-tag", "main", "--policy",
                              str(shipped_policy), "--db", str(db))
    assert code == 1
    failing = report.split("### Metrics")[0]
    assert "guard rail latency_p95_s" in failing and "exact_match @" not in failing


def test_bad_policy_missing_runs_and_other_datasets_exit_2(capsys, planted, shipped_policy, tmp_path: Path) -> None:
    db, a, b, _ = planted
    bad = policy_file(tmp_path, max_drop=0.05, slices={"intent=s2": {"max_dorp": 0.1}})
    assert_one_line_error(*run_cli(capsys, "gate", "--candidate", b, "--baseline", a, "--policy", str(bad),
                                   "--db", str(db))[::2], str(bad), "slices.intent=s2.max_dorp")
    assert_one_line_error(*run_cli(capsys, "gate", "--candidate", "nope", "--baseline", a, "--policy",
                                   str(shipped_policy), "--db", str(db))[::2], "no run 'nope'")
    (tmp_path / "other").mkdir()
    other = golden_set(tmp_path / "other", 10, 2)
    write_run(Store(db), other, "elsewhere", {ex.id: 1.0 for ex in other.examples})
    code, _, err = run_cli(capsys, "compare", a, "elsewhere", "--db", str(db))
    assert_one_line_error(code, err, a, "elsewhere", "different golden sets")
    code, out, _ = run_cli(capsys, "compare", a, "elsewhere", "--db", str(db), "--allow-different-datasets",
                           "--format", "json")
    assert code == 0 and json.loads(out)["shared_only"] is True


def test_replicate_baselines_give_a_noise_floor_shown_beside_each_difference(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    golden = golden_set(tmp_path, 400, 2)
    base = {ex.id: float(rng.random() < 0.7) for ex in golden.examples}
    store = Store(tmp_path / "gg.duckdb")
    passes = [i for i, v in base.items() if v == 1]
    replicas = [write_run(store, golden, f"base{k}", base | {i: 0.0 for i in passes[:6 * k]}, tag="nightly")
                for k in range(3)]  # three "re-runs" whose rates differ by 1.5 points each
    write_run(store, golden, "cand", noisy_copy(base, rng, 5))
    c = compare(store, replicas[0], "cand")
    overall = next(d for d in c.diffs if d.slice_key == "all")
    estimates = [Store(store.path).run_record(r)["summary"].model_dump()["metrics"][0]["estimate"] for r in replicas]
    assert len(set(estimates)) == 3
    assert overall.noise_floor == pytest.approx(2 * np.sqrt(2) * np.std(estimates, ddof=1))


def test_judge_metrics_gate_only_when_their_judges_are_calibrated() -> None:
    from evals.analysis.compare import Comparison, MetricDiff
    from evals.analysis.gate import Policy, gated_metrics
    from evals.judges.governance import JudgeGating

    def diff(metric: str) -> MetricDiff:
        return MetricDiff(metric, "all", "all", 10, 0.8, 0.5, -0.3, -0.5, -0.1, True, None, None, None, None)
    c = Comparison("a", "b", "public", False, 10, [diff("exact_match"), diff("j1@m/correct"), diff("j2@m/correct"),
                                                   diff("ensemble/overall"), diff("latency_s")])
    policy = Policy(min_judge_kappa=0.6)
    kappas = lambda **k: {f"{name}@m": JudgeGating(v) for name, v in k.items()}  # noqa: E731
    assert gated_metrics(c, policy, kappas(j1=0.7, j2=0.3)) == {"exact_match", "j1@m/correct"}
    assert gated_metrics(c, policy, kappas(j1=0.7, j2=0.65)) == {"exact_match", "j1@m/correct", "j2@m/correct",
                                                                  "ensemble/overall"}
    assert gated_metrics(c, policy, kappas(j1=None, j2=0.9)) == {"exact_match", "j2@m/correct"}
    expired = {"j1@m": JudgeGating(None, "calibration expired: the judge prompt changed"), "j2@m": JudgeGating(0.9)}
    assert gated_metrics(c, policy, expired) == {"exact_match", "j2@m/correct"}


@pytest.mark.parametrize(("policy", "field", "name"), [
    ({"metrics": ["exact_mach"]}, "metrics", "exact_mach"),  # a typo would turn gating off
    ({"slices": {"intent=s9": {"max_drop": 0.1}}}, "slices", "intent=s9"),
])
def test_a_policy_naming_what_the_runs_do_not_have_exits_2(capsys, planted, tmp_path: Path, policy, field,
                                                            name) -> None:
    db, a, b, _ = planted
    path = policy_file(tmp_path, **policy)
    code, _, err = run_cli(capsys, "gate", "--candidate", b, "--baseline", a, "--policy", str(path), "--db", str(db))
    assert_one_line_error(code, err, str(path), field, repr(name))


@pytest.mark.parametrize(("candidate", "status"), [(0.76, "pass"), (0.7599, "fail")])
def test_a_drop_exactly_at_its_limit_is_within_it(candidate: float, status: str) -> None:
    from evals.analysis.compare import Comparison, MetricDiff
    from evals.analysis.gate import Policy, evaluate

    d = MetricDiff("exact_match", "all", "all", 500, 0.81, candidate, candidate - 0.81, -0.09, -0.01, True,
                   None, None, None, None)  # 0.81 - 0.76 is 0.05000000000000004 in floating point
    (check,) = evaluate(Comparison("a", "b", "public", False, 500, [d]), Policy(max_drop=0.05), {})
    assert check.status == status


def test_the_candidate_and_the_baseline_can_both_be_named_by_tag(capsys, planted, shipped_policy) -> None:
    db, a, b, _ = planted
    store = Store(db)
    with duckdb.connect(str(db)) as con:  # tag the planted candidate as a CI pipeline would have
        con.execute("UPDATE runs SET tag = 'candidate' WHERE run_id = ?", [b])
    by_id = run_cli(capsys, "gate", "--candidate", b, "--baseline", a, "--policy", str(shipped_policy),
                    "--db", str(db))
    by_tag = run_cli(capsys, "gate", "--candidate-tag", "candidate", "--baseline-tag", "main", "--policy",
                     str(shipped_policy), "--db", str(db))
    assert by_tag == by_id and by_tag[0] == 1
    assert_one_line_error(*run_cli(capsys, "gate", "--candidate-tag", "nightly", "--baseline-tag", "main", "--policy",
                                   str(shipped_policy), "--db", str(db))[::2], "--candidate-tag", "'nightly'")
    assert [r["run_id"] for r in store.list_runs() if r["tag"] == "candidate"] == [b]
