"""Judges: strict parsing, both-order pairwise verdicts, ensembles, the call cache and the bias probes,
run over real loopback HTTP against a scripted judge whose biases are known."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evals.golden.dataset import Example, Expected
from evals.judges.judge import JUDGE_SAMPLING, Judge, _resolve, position_consistency
from evals.judges.parse import Verdict, parse_pairwise, parse_pointwise
from evals.judges.probes import length_bias, position_bias
from evals.judges.spec import load_judge_prompt
from evals.run.endpoint_backend import EndpointBackend
from evals.run.suite import EndpointConfig
from evals.store.store import Store
from tests.openai_stub import OpenAIStub, Reply

JUDGES = Path(__file__).resolve().parents[2] / "datasets" / "judges"
POINTWISE = load_judge_prompt(JUDGES / "correctness-v1.yaml")
PAIRWISE = load_judge_prompt(JUDGES / "pairwise-v1.yaml")
GOOD = '{"rationale": "fine", "scores": {"correct": 1, "on_topic": 1}, "overall": 1}'


@pytest.mark.parametrize(("reply", "outcome"), [
    (GOOD, "scored"), (f"```json\n{GOOD}\n```", "scored"), (f"Here you go: {GOOD} Hope it helps.", "scored"),
    ('{"rationale": "x", "scores": {"correct": 2, "on_topic": 1}, "overall": 1}', "parse_error"),
    ('{"rationale": "x", "scores": {"correct": 1}, "overall": 1}', "parse_error"),
    ('{"rationale": "x", "scores": {"correct": true, "on_topic": 1}, "overall": 1}', "parse_error"),
    ("The answer is correct.", "parse_error"), ("[1, 1]", "parse_error"), ("", "parse_error")])
def test_pointwise_parsing_is_strict_with_one_narrow_repair(reply: str, outcome: str) -> None:
    verdict = parse_pointwise(reply, POINTWISE.spec)
    assert verdict.outcome == outcome
    assert (verdict.scores == {"correct": 1, "on_topic": 1, "overall": 1}) == (outcome == "scored")
    assert bool(verdict.problem) == (outcome != "scored")


def verdict(winner: str) -> Verdict:
    return parse_pairwise(json.dumps({"winner": winner}))


@pytest.mark.parametrize(("first", "swapped", "winner", "consistent"), [
    ("A", "B", "a", True), ("B", "A", "b", True), ("tie", "tie", "tie", True),
    ("A", "A", "tie", False), ("B", "B", "tie", False), ("A", "tie", "tie", False)])
def test_a_verdict_that_follows_the_order_is_a_tie(first, swapped, winner, consistent) -> None:
    j = _resolve("x", verdict(first), verdict(swapped))
    assert (j.winner, j.consistent) == (winner, consistent)


def test_position_consistency_counts_only_parsed_pairs() -> None:
    judged = [_resolve("a", verdict("A"), verdict("B")), _resolve("b", verdict("A"), verdict("A")),
              _resolve("c", parse_pairwise("nope"), verdict("A"))]
    assert judged[2].winner is None and position_consistency(judged) == 0.5


def scripted_judge(body: dict, call: int) -> Reply:
    """Pays for length and always prefers the answer shown first: the probes must see both biases. Asked
    for the reply's schema it writes the whole object; otherwise it continues the reply started for it."""
    prompt = body["messages"][1]["content"]
    pairwise = "Answer A:" in prompt
    if structured := "response_format" in body:
        expected = (PAIRWISE if pairwise else POINTWISE).spec.reply_schema()
        assert body["response_format"]["json_schema"]["schema"] == expected and len(body["messages"]) == 2
    else:
        assert body["messages"][-1] == {"role": "assistant", "content": '{"rationale": "'}
        assert body["continue_final_message"] is True
    start = '{"rationale": "' if structured else ""
    if pairwise:
        return Reply([start + 'first is better", "winner": "A"}'])
    candidate = re.search(r"Candidate answer: (.*)\n\nGrade", prompt, re.DOTALL).group(1)
    ok = int("Paris" in candidate)
    overall = int(ok or len(candidate) > 60)
    return Reply([start + f'graded", "scores": {{"correct": {ok}, "on_topic": 1}}, "overall": {overall}}}'])


def examples(n: int) -> list[Example]:
    return [Example(id=f"e{i}", input=f"Capital of France, question {i}?", expected=Expected(answer="Paris"))
            for i in range(n)]


def test_probes_find_the_length_and_position_bias_of_a_biased_judge(tmp_path: Path) -> None:
    with OpenAIStub(scripted_judge) as server:
        backend = EndpointBackend(EndpointConfig(url=server.url, model="judge"), JUDGE_SAMPLING, 4, 10.0)
        judge = Judge(POINTWISE, backend, store=Store(tmp_path / "gg.duckdb"))
        cands = [(ex, "Paris" if i % 2 else "Lyon") for i, ex in enumerate(examples(20))]
        length = length_bias(judge, cands)
        assert length.n == 20 and length.mean_original == 0.5 and length.mean_padded == 1.0
        assert length.difference == 0.5 and length.low > 0
        position = position_bias(Judge(PAIRWISE, backend), [(ex, "Paris", "Lyon") for ex in examples(10)])
        assert position.first_wins == 1.0 and position.consistency == 0.0 and position.n == 20


def test_an_endpoint_without_structured_outputs_gets_the_reply_started_instead(tmp_path: Path) -> None:
    cands = [(ex, "Paris" if i % 2 else "Lyon") for i, ex in enumerate(examples(6))]
    verdicts = {}
    for structured in (True, False):
        with OpenAIStub(scripted_judge) as server:
            config = EndpointConfig(url=server.url, model="judge", structured_outputs=structured)
            judged = Judge(POINTWISE, EndpointBackend(config, JUDGE_SAMPLING, 2, 10.0)).pointwise(cands)
            assert [("response_format" in b) for b in server.bodies] == [structured] * len(cands)
        verdicts[structured] = [j.verdict for j in judged]
    assert verdicts[True] == verdicts[False] and {v.outcome for v in verdicts[True]} == {"scored"}


def test_judge_calls_are_cached_by_model_prompt_input_and_candidate(tmp_path: Path) -> None:
    with OpenAIStub(scripted_judge) as server:
        backend = EndpointBackend(EndpointConfig(url=server.url, model="judge"), JUDGE_SAMPLING, 2, 10.0)
        store = Store(tmp_path / "gg.duckdb")
        cands = [(ex, "Paris") for ex in examples(3)]
        first = Judge(POINTWISE, backend, store=store).pointwise(cands)
        again = Judge(POINTWISE, backend, store=store).pointwise(cands)
        assert len(server.bodies) == 3 and first == again
        Judge(POINTWISE, backend, store=store).pointwise([(ex, "Paris!") for ex, _ in cands])  # a new candidate
        Judge(POINTWISE, backend, store=store, with_reference=True).pointwise(cands)  # another prompt
        assert len(server.bodies) == 9
