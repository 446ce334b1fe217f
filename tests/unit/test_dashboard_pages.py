"""Every dashboard page driven by Streamlit's AppTest over a store the real CLI made: the right tables,
numbers and charts, the empty state, and labels from the Label page that `goldgate calibrate` reads."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from evals.analysis.report import DIMENSIONS
from evals.errors import EvalInputError
from evals.golden.subset import Subset
from evals.run.record import run_record
from evals.run.suite import Suite
from evals.settings import DB_VARIABLE, SLO_VARIABLE
from evals.store.results import create_run
from evals.store.retention import audit_log
from evals.store.store import Store, now
from tests.cli_helpers import run_cli
from tests.dashboard_store import JUDGE, make_store
from tests.drift_traffic import plant, window
from tests.openai_stub import OpenAIStub, Reply
from tests.synthetic_runs import golden_set

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def team_store(tmp_path_factory, tiny_gguf):
    return make_store(tmp_path_factory.mktemp("dashboard"), tiny_gguf)


@pytest.fixture
def app(team_store, monkeypatch):
    monkeypatch.setenv(DB_VARIABLE, str(team_store[0]))
    monkeypatch.setenv(SLO_VARIABLE, str(team_store[0].parent / "slo.yaml"))

    def open_page(page: str, **query: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        at.query_params.update(query)
        at.run()
        if page != "overview":
            at.switch_page(f"views/{page}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at
    return open_page


def charts(at: AppTest) -> list[dict]:
    """The Vega-Lite specs of the page's Altair charts."""
    return [json.loads(e.proto.spec) for e in at.get("vega_lite_chart")]


def chart_rows(at: AppTest, index: int) -> pd.DataFrame:
    """The data a chart draws (Streamlit sends it beside the spec, as Arrow)."""
    (dataset,) = at.get("vega_lite_chart")[index].proto.datasets
    return pa.ipc.open_stream(dataset.data.data).read_pandas()


def sql(db, query: str, *params):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(query, list(params)).fetchall()


def test_overview_shows_each_dataset_its_gate_verdict_trends_and_tokens(app, team_store) -> None:
    db, _, runs = team_store
    at = app("overview")
    tile = next(m for m in at.metric if m.label == "golden")
    (n_failed,) = sql(db, "SELECT n_failed FROM gate_results WHERE candidate_run_id = ?", runs["candidate"])[0]
    assert tile.value == ("gate passed" if n_failed == 0 else f"gate failed ({n_failed} checks)")
    table = at.dataframe[0].value
    assert set(table["run_id"]) == set(runs.values())
    tokens = dict(sql(db, "SELECT run_id, sum(prompt_tokens + completion_tokens) FROM results GROUP BY 1"))
    assert {r: int(t) for r, t in zip(table["run_id"], table["tokens"])} == {r: int(t) for r, t in tokens.items()}
    assert table["comparable"].all()


def test_overview_answers_are_we_okay_with_slo_lights_budgets_burn_and_cost(app, team_store) -> None:
    """Each SLO's tile against counts made here from the same store; cost per day by model and by feature;
    scores on one [0, 1] axis and each recorded dimension on its own."""
    db, _, _ = team_store
    at = app("overview")
    tiles = {m.label.split("] ", 1)[1]: m for m in at.metric if m.label.startswith((":red[", ":orange[", ":green["))}
    assert list(tiles) == ["availability", "ttft", "correct", "spend"]
    slow, first_tokens = sql(db, "SELECT count(*) FILTER (WHERE ttft_s > 0.02), count(*) FROM spans "
                                 "WHERE ttft_s IS NOT NULL AND (name LIKE 'chat %' OR name LIKE 'text_completion %')")[0]
    assert tiles["ttft"].value == f"{1 - slow / first_tokens / 0.1:.0%}"
    failed, scored = sql(db, "SELECT count(*) FILTER (WHERE value < 1), count(*) FROM scores "
                             "WHERE scorer = 'contains_any'")[0]
    assert tiles["correct"].value == f"{1 - failed / scored / 0.5:.0%}"
    (spent,) = sql(db, "SELECT sum(cost) FROM spans WHERE model IS NOT NULL AND cost IS NOT NULL")[0]
    assert spent > 0 and tiles["spend"].value == f"{1 - spent / (0.5 * 30):.0%}"
    assert tiles["availability"].value == "100%"  # no server spans: nothing spent
    lights = {name: tile.label.split("[")[0] for name, tile in tiles.items()}
    assert lights["availability"] == ":green" and lights["correct"] == ":red"  # the last: its budget is overspent
    assert sum("budget left" in c.value for c in at.caption) == 4
    specs = charts(at)
    burn = [c for c in specs if any("burn rate" in str(layer.get("encoding", {})) for layer in c.get("layer", []))]
    assert len(burn) == 4  # one per SLO, each with its alert thresholds
    cost_charts = [i for i, c in enumerate(specs) if "cost, by" in json.dumps(c)]
    assert len(cost_charts) == 2
    for i in cost_charts:
        assert chart_rows(at, i)["cost"].sum() == pytest.approx(spent)
    (scores_chart,) = [c for c in specs if '"score"' in json.dumps(c)]
    assert scores_chart["layer"][0]["encoding"]["y"]["scale"]["domain"] == [0, 1]
    titles = [json.dumps(c) for c in specs]
    for dimension in ("completion_tokens (tokens)", "latency_s (seconds)", "cost (currency)"):
        assert sum(dimension in t for t in titles) == 1  # its own chart, in its own unit


def test_overview_without_slos_says_how_to_give_them(team_store, monkeypatch) -> None:
    monkeypatch.setenv(DB_VARIABLE, str(team_store[0]))
    monkeypatch.delenv(SLO_VARIABLE, raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception and any("--slo FILE" in c.value for c in at.caption)


def test_the_run_page_lists_slices_with_cis_and_filters_examples_by_outcome(app, team_store) -> None:
    db, _, runs = team_store
    at = app("run", run=runs["baseline"])
    metrics = at.dataframe[0].value
    summary = Store(db).run_record(runs["baseline"])["summary"].model_dump()["metrics"]
    expected = {(m["metric"], m["slice_key"], m["slice_value"]): (m["estimate"], m["n"]) for m in summary
                if m["split"] == "public"}
    assert {(r.metric, r.slice_key, r.slice_value): (r.estimate, r.n) for r in metrics.itertuples()} == expected
    examples = at.dataframe[1].value
    assert len(examples) == 12 and set(examples["outcome"]) <= {"pass", "fail"}
    assert examples["trace"].str.startswith("traces?trace=").all()
    assert examples["rationale"].str.contains("judged").all()
    at.selectbox[1].select(("intent", "kind1")).run()  # the slice filter
    assert sorted(at.dataframe[1].value["example_id"]) == ["ex-1", "ex-7"]
    at.selectbox[1].select(None).run()
    at.selectbox[2].select("pass").run()  # the outcome filter: every score 1
    passing = sql(db, "SELECT example_id FROM scores WHERE run_id = ? GROUP BY 1 HAVING min(value) = 1",
                  runs["baseline"])
    assert sorted(at.dataframe[1].value["example_id"]) == sorted(e for (e,) in passing)


def test_compare_opens_on_the_gate_verdict_and_its_failing_checks(app, team_store) -> None:
    db, _, runs = team_store
    at = app("compare", a=runs["baseline"], b=runs["candidate"])
    report = json.loads(sql(db, "SELECT report FROM gate_results")[0][0])
    failing = [k for k in report["checks"] if k["status"] == "fail"]
    if failing:
        assert at.error[0].value.startswith(f"Gate failed: {len(failing)} of {len(report['checks'])} checks")
        assert list(at.dataframe[0].value["name"]) == [k["name"] for k in failing]
    else:
        assert at.success[0].value.startswith("Gate passed")
    gated = [k["name"].split(" @ ")[0] for k in failing + report["checks"] if " @ " in k["name"]]
    assert at.selectbox[-1].value == gated[0] and gated[0] not in DIMENSIONS


def test_compare_draws_the_forest_plot_flips_guard_rails_and_noise_floor(app, team_store) -> None:
    _, _, runs = team_store
    at = app("compare", a=runs["baseline"], b=runs["candidate"])
    (forest,) = charts(at)
    assert [layer["mark"]["type"] for layer in forest["layer"]] == ["rule", "point", "rule"]
    diffs = next(d.value for d in at.dataframe if "slice" in d.value)
    assert "all" in set(diffs["slice"]) and (diffs["low"] <= diffs["diff"]).all() and (diffs["diff"] <= diffs["high"]).all()
    assert any("Guard rails" in h.value for h in at.subheader)
    assert at.metric[-1].label.startswith("Noise floor")


def test_judges_show_kappa_the_confusion_heat_map_and_disagreements(app, team_store) -> None:
    db, _, _ = team_store
    at = app("judges")
    table = at.dataframe[0].value
    stored = sql(db, "SELECT dimension, coalesce(kappa, -9) FROM calibrations")
    assert sorted(zip(table["dimension"], table["kappa"].fillna(-9))) == sorted(stored)
    (heat,) = charts(at)
    assert [layer["mark"]["type"] for layer in heat["layer"]] == ["rect", "text"]
    assert at.metric[0].label == "Cohen's kappa"


def test_the_engine_page_shows_the_golden_signals_of_a_run(app, team_store) -> None:
    db, _, runs = team_store
    at = app("engine")
    at.selectbox[1].select(runs["baseline"]).run()
    latency = at.dataframe[0].value
    assert list(latency["signal"]) == ["time_to_first_token", "time_per_output_token", "total_latency"]
    n = sql(db, "SELECT count(*) FROM spans WHERE kind = 'INTERNAL' AND input_tokens IS NOT NULL AND run_id = ?",
            runs["baseline"])[0][0]
    assert n == 12 and (latency["requests"] == n).all()
    assert (latency["p50"] <= latency["p95"]).all() and (latency["p95"] <= latency["p99"]).all()
    assert [m.label for m in at.metric] == ["api errors", "validation errors", "guardrail errors"]
    specs = charts(at)
    assert len(specs) == 7  # latency histograms, decode rate, requests/s, tokens/s, queue depth, KV cache, prefix hits
    hits = chart_rows(at, 6)["prefix_cache_hit_rate"]  # its numbers: tests/unit/test_prefix_cache.py
    assert len(hits) and hits.between(0, 1).all()
    rates = chart_rows(at, 1)
    (tpots,) = sql(db, "SELECT list(tpot_s) FROM spans WHERE kind = 'INTERNAL' AND input_tokens IS NOT NULL "
                       "AND run_id = ? AND tpot_s > 0", runs["baseline"])[0]
    assert rates["requests"].sum() == len(tpots)
    assert rates["low"].min() <= 1 / max(tpots) and 1 / min(tpots) <= rates["high"].max()


def test_traces_find_an_example_and_draw_its_span_tree(app, team_store) -> None:
    db, _, runs = team_store
    (trace_id,) = sql(db, "SELECT trace_id FROM results WHERE run_id = ? AND example_id = 'ex-3'", runs["baseline"])[0]
    at = app("traces", trace=trace_id, example="ex-3")
    assert at.dataframe[0].value["trace_id"].tolist()[:1] and trace_id in at.dataframe[0].value["trace_id"].tolist()
    names = chart_rows(at, 0)["name"].tolist()
    assert "eval_example ex-3" in names and any(n.startswith("chat ") for n in names)
    assert any(n.startswith("evaluate ") for n in names)
    at.selectbox[1].select_index(next(i for i, n in enumerate(names) if n.startswith("chat tiny"))).run()
    assert "gen_ai.usage.output_tokens" in at.json[0].value


@pytest.mark.parametrize("column, widget", [("latency_s", "slower"), ("cost", "costlier")])
def test_traces_list_a_runs_examples_filtered_and_draw_one_examples_own_trace(app, team_store, column: str,
                                                                              widget: str) -> None:
    db, _, runs = team_store
    values = sorted(v for (v,) in sql(db, f"SELECT {column} FROM results WHERE run_id = ?", runs["baseline"]))
    floor = values[len(values) // 2]
    at = app("traces", run=runs["baseline"])
    at.number_input(key=widget).set_value(floor).run()
    listed = at.dataframe[0].value
    expected = sql(db, f"SELECT example_id, trace_id FROM results WHERE run_id = ? AND {column} >= ? ORDER BY 1",
                   runs["baseline"], floor)
    assert 0 < len(listed) < len(values) and list(zip(listed["example_id"], listed["trace_id"])) == expected
    assert (listed[column] >= floor).all()
    at.selectbox(key="trace").select(expected[-1][1]).run()
    spans = chart_rows(at, 0)
    names = spans["name"].tolist()
    assert f"eval_example {expected[-1][0]}" in names and not any(n.startswith("eval t") for n in names)
    assert sum(n.startswith("eval_example ") for n in names) == 1  # one example's trace: a handful of spans


def test_the_drift_page_flags_planted_drift_as_goldgate_drift_does(monkeypatch, tmp_path, capsys) -> None:
    """Yesterday's traffic, then a day of doubled inputs: the page's alarms are the CLI's."""
    db = tmp_path / "prod.duckdb"
    store, rng, at_ = Store(db), np.random.default_rng(0), now()
    plant(store, at_, window(rng), 0, 1.5)
    plant(store, at_, window(rng, length_scale=2), 10_000, 0.5)
    monkeypatch.setenv(DB_VARIABLE, str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("views/drift.py").run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert table.loc[table["status"] == "ALARM", "check"].tolist() == ["input_tokens"]
    assert "input_tokens" in at.error[0].value
    lengths = chart_rows(at, 0)
    assert sorted(lengths["window"].value_counts().tolist()) == [400, 400]
    code, _, _ = run_cli(capsys, "drift", "--db", str(db), "--baseline", "2d..1d", "--current", "1d..")
    assert code == 1
    reads = [(actor, target.split()[0], n) for _, actor, _, target, n in audit_log(store)]
    assert reads[:2] == [("dashboard:drift", "2d..1d", 400), ("dashboard:drift", "1d..", 400)]


def test_the_drift_page_between_two_small_runs_says_there_is_too_little(app, team_store) -> None:
    at = app("drift")
    at.radio(key="drift-mode").set_value("two runs").run()
    assert not at.exception and "Too little traffic" in at.info[0].value


def test_a_missing_store_shows_the_command_to_create_a_run(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(DB_VARIABLE, str(tmp_path / "none.duckdb"))
    for page in ("overview", "run", "engine", "traces", "judges", "label", "compare"):
        at = AppTest.from_file(APP, default_timeout=30)
        at.run()
        if page != "overview":
            at.switch_page(f"views/{page}.py").run()
        assert not at.exception and "No store at" in at.info[0].value
        assert at.code[0].value.startswith("goldgate run ")
    assert not (tmp_path / "none.duckdb").exists()  # the dashboard never creates a store


def test_labels_saved_on_the_label_page_are_what_goldgate_calibrate_reads(app, team_store, capsys) -> None:
    db, golden, runs = team_store
    at = app("label", run=runs["candidate"])
    at.text_input(key="rater").input("dana").run()
    labelled = {}
    for example in ("ex-0", "ex-1", "ex-2", "ex-4"):
        at.selectbox[2].select(example).run()
        correct = int(example != "ex-0")  # as the file's raters labelled these: people who disagree stop a calibration
        at.radio(key="dim-correct").set_value(correct)
        at.radio(key="dim-overall").set_value(correct)
        at.button[0].click().run()
        assert at.success and "dana" in at.success[0].value
        labelled[example] = correct
    stored = sql(db, "SELECT example_id, label FROM human_labels WHERE rater = 'dana' AND dimension = 'correct'")
    assert {e: int(v) for e, v in stored} == labelled
    reply = '{"rationale": "ok", "scores": {"correct": 1, "on_topic": 1}, "overall": 1}'
    with OpenAIStub(lambda body, call: Reply([reply])) as stub:
        code, out, err = run_cli(capsys, "calibrate", "--judge", str(JUDGE), "--dataset", str(golden), "--from-store",
                                 "--endpoint", stub.url, "--model", "grader", "--db", str(db))
    assert code == 0, err
    shown = sql(db, "SELECT n_items FROM calibrations WHERE dimension = 'correct' ORDER BY created_at DESC LIMIT 1")
    assert shown == [(4,)]  # the four answers labelled on the page


def test_the_label_page_queues_answers_a_judge_and_a_person_disagree_on_first(app, team_store) -> None:
    db, _, runs = team_store
    verdicts = sql(db, "SELECT example_id, judge_id, dimension, score FROM judgments WHERE run_id = ? AND epoch = 0 "
                       "AND outcome = 'scored'", runs["baseline"])
    people = sql(db, "SELECT example_id, rater, dimension, label FROM human_labels")
    disputed = sorted({e for e, _, dim, score in verdicts for e2, _, dim2, label in people
                       if (e, dim) == (e2, dim2) and score != float(label)})
    assert disputed  # the plant holds: the grader and the raters part somewhere
    at = app("label", run=runs["baseline"])
    queue = at.dataframe[0].value
    assert queue["example_id"].tolist() == disputed and queue["queued"].str.contains(" says ").all()
    at.selectbox(key="answer").select(disputed[0]).run()
    assert "says" in at.warning[0].value  # a queued answer, with why
    at.selectbox(key="answer").select(next(e for e in at.selectbox(key="answer").options if e not in disputed)).run()
    assert not at.warning


def test_labels_are_refused_while_a_run_is_writing(tmp_path) -> None:
    store, golden = Store(tmp_path / "busy.duckdb"), golden_set(tmp_path, 4, 2)
    suite = Suite(name="busy", dataset=golden.path, scorers=[{"name": "exact_match"}])
    create_run(store, run_record("busy-1", suite, golden, 4, Subset(), tag=None, model_id="m", model_digest=None,
                                 endpoint=None))  # started, not finished: status running
    with pytest.raises(EvalInputError, match="busy-1 is still writing"):
        store.save_labels(golden.sha256, "busy-1", "x0000", "yes", "dana", {"correct": "1"})
    assert sql(tmp_path / "busy.duckdb", "SELECT count(*) FROM human_labels") == [(0,)]


def test_a_priced_run_costs_its_answers_and_its_judge_calls_apart(team_store) -> None:
    """The team's runs were priced: the tiny model by the hour, the grader by tokens. The summary's totals
    are the stored spans' costs, the judge's calls (CLIENT spans) apart from the answers (INTERNAL)."""
    db, _, runs = team_store
    for tag, run_id in runs.items():
        cost = json.loads((db.parent / f"{tag}.json").read_text())["cost"]
        by_kind = dict(sql(db, "SELECT kind, sum(cost) FROM spans WHERE run_id = ? AND cost IS NOT NULL GROUP BY 1",
                           run_id))
        (judge_tokens,) = sql(db, "SELECT sum(input_tokens) * 0.15 / 1e6 + sum(output_tokens) * 0.6 / 1e6 FROM spans "
                                  "WHERE run_id = ? AND kind = 'CLIENT'", run_id)[0]
        assert cost["judges"] == pytest.approx(by_kind["CLIENT"]) == pytest.approx(judge_tokens)
        assert cost["answers"] == pytest.approx(by_kind["INTERNAL"]) and cost["answers"] > 0
        assert cost["per_example"] == pytest.approx(cost["answers"] / 12)
