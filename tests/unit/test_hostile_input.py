"""Generated malformed input, as a hostile user would send it: suites, golden sets and gate policies to
the CLI, request bodies to the server. Every case exits 2 with one line (or is answered 2xx or 4xx in
OpenAI's error shape): never a traceback, never a 5xx, and the store's rows are unchanged after each."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.async_engine import AsyncEngine
from engine.engine import Engine
from evals.store.store import Store
from tests.cli_helpers import assert_one_line_error, run_cli
from tests.eval_files import examples, write_jsonl, write_suite
from tests.serving import app_in_thread
from tests.synthetic_runs import golden_set, write_run
from tests.telemetry_helpers import MemoryTelemetry

TABLES = ("runs", "results", "scores", "judgments", "gate_results", "spans")
# derandomized: the same cases on every CI run (raise max_examples, or drop derandomize, to hunt for more)
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

# Anything JSON can hold, a little of it nested
JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**80, 2**80) | st.floats(allow_nan=False)
                    | st.text(max_size=20), lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
NOT_A_STRING = st.none() | st.booleans() | st.integers() | st.lists(st.integers(), max_size=3)


def counts(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A store with two finished runs (for the gate) whose rows must survive every bad input."""
    folder = tmp_path_factory.mktemp("hostile")
    golden = golden_set(folder, 40, 2)
    store = Store(folder / "gg.duckdb")
    write_run(store, golden, "base", {ex.id: 1.0 for ex in golden.examples}, tag="main")
    write_run(store, golden, "cand", {ex.id: float(i % 2) for i, ex in enumerate(golden.examples)})
    return store.path, "base", "cand"


def fresh_copy(db: Path, folder: Path) -> Path:
    target = folder / "copy.duckdb"
    shutil.copy(db, target)
    return target


# A bad value for each field of a suite, each of which its model refuses
BAD_SUITE_FIELDS = st.one_of(
    st.tuples(st.just("name"), st.just("") | NOT_A_STRING.filter(lambda v: v is not None)),
    st.tuples(st.just("epochs"), st.integers(max_value=0) | st.text(min_size=1, max_size=5)),
    st.tuples(st.just("concurrency"), st.integers(max_value=0)),
    st.tuples(st.just("holdout"), st.floats(min_value=1.0, allow_nan=False) | st.floats(max_value=-1e-9)),
    st.tuples(st.just("sampling"), st.fixed_dictionaries({"temperature": st.floats(max_value=-1e-6)})),
    st.tuples(st.just("sampling"), st.fixed_dictionaries({"seed": st.integers(2**63, 2**90)})),
    st.tuples(st.just("sampling"), st.fixed_dictionaries({"top_p": st.floats(min_value=1.0001, max_value=1e9)})),
    st.tuples(st.just("scorers"), st.just([]) | st.lists(st.text(min_size=1, max_size=8).filter(
        lambda s: s not in {"exact_match", "regex", "numeric", "refusal"}), min_size=1, max_size=2)),
    st.tuples(st.just("scorers"), st.just([{"regex": {"pattern": "(["}}])),
    st.tuples(st.just("prompt"), st.sampled_from([{"user": "{{ input"}, {"user": "{% if %}"},
                                                  {"user": "{{ nothing_here }}"}])),
    st.tuples(st.just("engine"), st.fixed_dictionaries({"device": st.text(max_size=6).filter(
        lambda s: s not in {"auto", "cpu", "cuda"})})),
    st.tuples(st.just("slices"), st.lists(st.text(min_size=1, max_size=6).filter(
        lambda s: s not in {"intent", "difficulty"}), min_size=1, max_size=2)),
    st.tuples(st.text(min_size=1, max_size=10).filter(lambda k: k not in {
        "name", "dataset", "model", "endpoint", "engine", "sampling", "prompt", "scorers", "judges", "epochs",
        "concurrency", "timeout_s", "max_error_rate", "slices", "holdout", "holdout_salt"}), JSON),  # unknown key
)


@SETTINGS
@given(field=BAD_SUITE_FIELDS)
def test_a_malformed_suite_exits_2_and_stores_nothing(capsys, stored, tiny_gguf, tmp_path, field) -> None:
    key, value = field
    db = fresh_copy(stored[0], tmp_path)
    before = counts(db)
    suite = write_suite(tmp_path / "suite.yaml", write_jsonl(tmp_path / "golden.jsonl", examples()), tiny_gguf)
    spec = yaml.safe_load(suite.read_text()) | {key: value}
    suite.write_text(yaml.safe_dump(spec))
    code, _, err = run_cli(capsys, "run", str(suite), "--db", str(db))
    assert_one_line_error(code, err)
    assert counts(db) == before


BAD_LINES = st.one_of(
    st.text(min_size=1, max_size=30).filter(lambda t: t.strip() and not t.strip().startswith("{")),  # not JSON
    JSON.filter(lambda v: not isinstance(v, dict)).map(json.dumps),  # JSON, not an object
    st.dictionaries(st.sampled_from(["id", "input", "expected", "labels", "extra"]), JSON, max_size=4).filter(
        lambda d: not {"id", "input", "expected"} <= d.keys() or not isinstance(d.get("id"), str)).map(json.dumps),
)


@SETTINGS
@given(line=BAD_LINES, where=st.integers(0, 5))
def test_a_malformed_golden_set_exits_2_naming_its_line_and_stores_nothing(capsys, stored, tiny_gguf, tmp_path,
                                                                          line, where) -> None:
    db = fresh_copy(stored[0], tmp_path)
    before = counts(db)
    rows = [json.dumps(r) for r in examples()]
    rows[where] = line.replace("\n", " ").replace("\r", " ")
    dataset = tmp_path / "golden.jsonl"
    dataset.write_text("\n".join(rows) + "\n", encoding="utf-8")
    suite = write_suite(tmp_path / "suite.yaml", dataset, tiny_gguf)
    code, _, err = run_cli(capsys, "run", str(suite), "--db", str(db))
    assert_one_line_error(code, err, str(dataset))
    assert counts(db) == before


BAD_POLICIES = st.one_of(
    st.just("max_drop: [unclosed"),  # not YAML
    st.dictionaries(st.text(min_size=1, max_size=10).filter(lambda k: k not in {
        "metrics", "max_drop", "require_ci_excludes_zero", "alpha", "respect_noise_floor", "slices", "guard_rails",
        "min_judge_kappa"}), JSON, min_size=1, max_size=2).map(yaml.safe_dump),  # unknown keys
    st.fixed_dictionaries({"max_drop": st.floats(min_value=1.0001, allow_nan=False) | st.text(max_size=4)}).map(
        yaml.safe_dump),
    st.fixed_dictionaries({"metrics": st.lists(st.text(min_size=1, max_size=8).filter(lambda m: m != "exact_match"),
                                               min_size=1, max_size=2)}).map(yaml.safe_dump),
    st.fixed_dictionaries({"slices": st.dictionaries(st.text(min_size=1, max_size=8), st.fixed_dictionaries(
        {"max_drop": st.floats(0, 1)}), min_size=1, max_size=2)}).map(yaml.safe_dump),  # no such slice
)


@SETTINGS
@given(policy=BAD_POLICIES)
def test_a_malformed_policy_exits_2_not_1_and_records_no_verdict(capsys, stored, tmp_path, policy) -> None:
    db = fresh_copy(stored[0], tmp_path)
    before = counts(db)
    path = tmp_path / "gate.yaml"
    path.write_text(policy, encoding="utf-8")
    code, _, err = run_cli(capsys, "gate", "--candidate", stored[2], "--baseline", stored[1], "--policy", str(path),
                           "--db", str(db))
    assert_one_line_error(code, err, str(path))
    assert counts(db) == before


@pytest.fixture(scope="module")
def server(tiny_gguf):
    memory = MemoryTelemetry()
    engine = Engine.load(tiny_gguf, device="cpu", max_batch_size=4, kv_cache_tokens=4096, telemetry=memory.tel)
    with app_in_thread(AsyncEngine(engine, max_waiting=64), memory.tel, max_body_bytes=64_000) as url:
        yield url, engine.model_id


CHAT_FIELDS = st.fixed_dictionaries({}, optional={
    "messages": JSON | st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", "x"]),
                                                       "content": JSON | st.text(max_size=30)}), max_size=3),
    "max_tokens": JSON | st.integers(-5, 10**6), "temperature": JSON, "top_p": JSON, "top_k": JSON, "seed": JSON,
    "stop": JSON, "stream": JSON, "n": JSON, "continue_final_message": JSON, "add_generation_prompt": JSON,
    "stream_options": JSON, "logprobs": JSON, "unknown_field": JSON})


@settings(max_examples=80, deadline=None, derandomize=True)
@given(fields=CHAT_FIELDS, route=st.sampled_from(["/v1/chat/completions", "/v1/completions", "/v1/nowhere"]),
       raw=st.none() | st.binary(max_size=60))
def test_no_request_body_gets_a_5xx_and_every_error_is_in_openais_shape(server, fields, route, raw) -> None:
    url, model = server
    body = {"model": model, **fields}
    if route == "/v1/completions":
        body["prompt"] = body.pop("messages", "hi")
    content = raw if raw is not None else json.dumps(body).encode()
    response = httpx.post(f"{url}{route}", content=content, headers={"content-type": "application/json"}, timeout=60)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["message"]
