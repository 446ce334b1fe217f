"""Tail sampling in a real `goldgate serve` (a tiny model) storing its spans and capturing content: the
policy keeps rejected requests and those of one feature and drops the rest, and the content of what it
keeps goes (its content rate is 0%). Counted in the store against what the client sent."""

from __future__ import annotations

import json

import duckdb
import httpx
import yaml

from telemetry.messages import CONTENT_KEYS
from tests.serving import goldgate_serve

POLICY = {"decision_wait": "5s", "policies": [
    {"name": "rejected", "type": "numeric_attribute",
     "numeric_attribute": {"key": "http.response.status_code", "min_value": 400, "max_value": 499}},
    {"name": "watched", "type": "string_attribute", "string_attribute": {"key": "goldgate.feature", "values": ["search"]}},
    {"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
    {"name": "baseline", "type": "probabilistic", "probabilistic": {"sampling_percentage": 0}}],
    "goldgate": {"content_sampling_percentage": 0}}


def test_serve_keeps_what_the_policy_keeps_and_drops_the_rest(tmp_path, tiny_gguf) -> None:
    db, policy = tmp_path / "gg.duckdb", tmp_path / "sampling.yaml"
    policy.write_text(yaml.safe_dump(POLICY))
    with goldgate_serve("--model", str(tiny_gguf), "--device", "cpu", "--db", str(db), "--sampling", str(policy),
                        log=tmp_path / "serve.log", env={"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY"}) as url:
        model = httpx.get(f"{url}/v1/models").json()["data"][0]["id"]
        ask = lambda **body: httpx.post(f"{url}/v1/chat/completions", timeout=60, json={  # noqa: E731
            "model": model, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 3, **body}).status_code
        statuses = [ask() for _ in range(4)] + [ask(metadata={"feature": "search"}) for _ in range(2)] + \
            [ask(max_tokens=-1) for _ in range(3)] + [ask(temperature=9) for _ in range(2)]
    assert statuses == [200] * 6 + [400] * 5

    with duckdb.connect(str(db), read_only=True) as con:
        servers = con.execute("SELECT http_status, sample_weight, attributes FROM spans WHERE kind = 'SERVER'").fetchall()
        all_attrs = [json.loads(a) for (a,) in con.execute("SELECT attributes FROM spans").fetchall()]
    assert sorted(s for s, _, _ in servers) == [200] * 2 + [400] * 5  # four answers and the model listing dropped
    assert {w for _, w, _ in servers} == {1.0}
    assert sorted(json.loads(a)["goldgate.sampling.policy"][0] for _, _, a in servers) == ["rejected"] * 5 + ["watched"] * 2
    generations = [a for a in all_attrs if a.get("gen_ai.operation.name") == "chat"]
    assert len(generations) == 2 and all(a["goldgate.feature"] == "search" for a in generations)
    assert not any(k in attrs for attrs in all_attrs for k in CONTENT_KEYS)  # captured, then sampled away
