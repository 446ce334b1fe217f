"""RAG examples: passages (`context`) apart from the input, labelled relevant passages, and the scorers
and judge that read them, against counts made by hand; then a `goldgate run` whose prompt template
shows the passages to a scripted endpoint and whose groundedness judge grades against them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evals.golden.dataset import Example
from evals.scorers import build_scorer
from evals.store.store import Store
from tests.cli_helpers import assert_one_line_error, run_cli
from tests.eval_files import write_jsonl, write_suite
from tests.openai_stub import OpenAIStub, Reply

GROUNDEDNESS = Path(__file__).resolve().parents[2] / "datasets" / "judges" / "groundedness-v1.yaml"
PASSAGES = [{"id": "p1", "text": "Paris is the capital of France and its largest city."},
            {"id": "p2", "text": "The Loire is the longest river in France."},
            {"id": "p3", "text": "Bordeaux is known for its wine."}]


def _example(relevant: list[str], context: list[dict] = PASSAGES) -> Example:
    return Example.model_validate({"id": "r1", "input": "What is the capital of France?", "context": context,
                                   "expected": {"answer": "Paris", "relevant": relevant}})


def test_context_precision_and_recall_count_the_relevant_passages() -> None:
    ex = _example(["p1", "p9"])  # p9 is relevant but was not retrieved
    precision, recall = build_scorer("context_precision"), build_scorer("context_recall")
    assert precision.applies_to(ex) and recall.applies_to(ex)
    assert precision.score_example("", ex).value == pytest.approx(1 / 3)
    assert recall.score_example("", ex).value == pytest.approx(1 / 2)
    plain = Example.model_validate({"id": "x", "input": "hi", "expected": {"answer": "hello"}})
    assert not precision.applies_to(plain) and not recall.applies_to(plain)


@pytest.mark.parametrize("answer, value", [
    ("Paris is the capital of France [p1].", 1.0),
    ("Paris is the capital of France [p7].", 0.0),  # no such passage
    ("Paris is the capital of France [p3].", 0.0),  # p3 is about wine
    ("Paris is the capital of France [p1]. The Loire is the longest river [p3].", 0.5),
    ("Paris is the capital of France.", 0.0),  # no citation at all
])
def test_citations_must_exist_and_support_their_sentence(answer: str, value: float) -> None:
    score = build_scorer("citations").score_example(answer, _example(["p1"]))
    assert score.value == pytest.approx(value), score.explanation


def test_bad_passages_are_refused_naming_the_field(capsys, tmp_path: Path) -> None:
    golden = write_jsonl(tmp_path / "g.jsonl", [{"id": "r1", "input": "q", "context": [PASSAGES[0], PASSAGES[0]],
                                                 "expected": {"relevant": ["p1"]}}])
    code, _, err = run_cli(capsys, "datasets", "validate", str(golden))
    assert_one_line_error(code, err, f"{golden}:1", "context", "unique")


def model(body: dict, call: int) -> Reply:
    """Answers from the passages the prompt shows, citing the one that names a capital."""
    prompt = body["messages"][-1]["content"]
    cited = re.search(r"\[(\w+)\] [^\n]*capital", prompt)
    return Reply([f"Paris is the capital of France [{cited.group(1)}]." if cited else "I do not know."])


def judge(body: dict, call: int) -> Reply:
    """Grounded when the answer's claim is in the passages the judge was shown."""
    prompt = body["messages"][1]["content"]
    passages = prompt.split("Passages:")[1].split("Answer:")[0]
    grounded = int("capital of France" in passages and "capital of France" in prompt.split("Answer:")[1])
    scores = f'"scores": {{"grounded": {grounded}, "answers_question": 1}}, "overall": {grounded}'
    return Reply([f'{{"rationale": "ok", {scores}}}'])


def test_a_rag_run_shows_the_passages_and_scores_against_them(capsys, tmp_path: Path) -> None:
    rows = [{"id": f"r{i}", "input": "What is the capital of France?", "labels": {"intent": "rag", "difficulty": "easy"},
             "context": PASSAGES if i % 2 == 0 else PASSAGES[1:],  # odd examples: the retriever missed p1
             "expected": {"answer": "Paris", "relevant": ["p1"]}} for i in range(6)]
    golden, db = write_jsonl(tmp_path / "rag.jsonl", rows), tmp_path / "gg.duckdb"
    template = "{% for p in context %}[{{ p.id }}] {{ p.text }}\n{% endfor %}Question: {{ input }}"
    with OpenAIStub(model) as server, OpenAIStub(judge) as grader:
        suite = write_suite(tmp_path / "suite.yaml", golden, None, endpoint={"url": server.url, "model": "stub"},
                            prompt={"user": template}, holdout=0,
                            scorers=["context_precision", "context_recall", "citations"],
                            judges=[{"prompt": str(GROUNDEDNESS), "endpoint": {"url": grader.url, "model": "g"}}])
        code, _, err = run_cli(capsys, "run", str(suite), "--db", str(db), "--json", str(tmp_path / "s.json"))
    assert code == 0, err
    shown = [b["messages"][-1]["content"] for b in server.bodies]  # in any order: four requests are in flight
    assert all("[p2] The Loire is the longest river in France." in p for p in shown)
    assert {"[p1] Paris is the capital" in p for p in shown} == {True, False}  # both retrievals were shown
    metrics = {m["metric"]: m["estimate"] for m in json.loads((tmp_path / "s.json").read_text())["metrics"]
               if m["slice_key"] == "all" and m["split"] == "public"}
    assert metrics["context_recall"] == pytest.approx(0.5)  # p1 retrieved for half the examples
    assert metrics["context_precision"] == pytest.approx((3 * (1 / 3) + 3 * 0) / 6)
    assert metrics["citations"] == pytest.approx(0.5)  # a supported citation when p1 was there, none otherwise
    assert metrics["groundedness-v1@g/grounded"] == pytest.approx(0.5)
    assert Store(db).list_runs()[0]["status"] == "completed"
