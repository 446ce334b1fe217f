"""A store as a team's would look, made by the real CLI on a tiny model: a baseline and a candidate run of
the same golden set with a judge (a stub endpoint grading), both priced, a stored gate verdict, a judge
calibration, and SLOs over it all. The dashboard tests read it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from evals.cli import main
from evals.store.store import Store
from tests.eval_files import examples, write_jsonl, write_suite
from tests.openai_stub import OpenAIStub, Reply

ROOT = Path(__file__).resolve().parents[1]
JUDGE = ROOT / "datasets" / "judges" / "correctness-v1.yaml"
POLICY = ROOT / "datasets" / "general-v1" / "gate.yaml"


def grader(body: dict, call: int) -> Reply:
    """Grades by the answer's length, so the same answer always gets the same grade."""
    answer = re.search(r"Candidate answer: (.*)\n\nGrade", body["messages"][1]["content"], re.DOTALL).group(1)
    correct = len(answer) % 3 != 0
    scores = f'"scores": {{"correct": {int(correct)}, "on_topic": 1}}, "overall": {int(correct)}'
    return Reply([f'{{"rationale": "judged", {scores}}}'])


SLOS = {"slos": [{"name": "availability", "kind": "availability", "target": 0.995},
                 {"name": "ttft", "kind": "latency", "threshold_s": 0.02, "target": 0.9},
                 {"name": "correct", "kind": "quality", "scorer": "contains_any", "target": 0.5, "window": "7d"},
                 {"name": "spend", "kind": "cost", "daily_budget": 0.5}]}


def make_store(folder: Path, tiny_gguf: Path) -> tuple[Path, Path, dict[str, str]]:
    """(store, golden set, {tag: run id}); the SLOs are in `slo.yaml` beside the store."""
    golden = write_jsonl(folder / "golden.jsonl", examples(12))
    db = folder / "team.duckdb"
    prices = folder / "prices.yaml"
    prices.write_text(yaml.safe_dump({"version": "team-1", "models": {
        tiny_gguf.stem: {"per_hour": 36.0}, "grader": {"input": 0.15, "output": 0.6}}}))
    (folder / "slo.yaml").write_text(yaml.safe_dump(SLOS, sort_keys=False))
    with OpenAIStub(grader) as stub:
        judge = {"prompt": str(JUDGE), "endpoint": {"url": stub.url, "model": "grader"}}
        for tag, max_tokens in (("baseline", 6), ("candidate", 3)):  # the candidate answers shorter
            suite = write_suite(folder / f"{tag}.yaml", golden, tiny_gguf, judges=[judge],
                                sampling={"temperature": 0, "max_tokens": max_tokens})
            assert main(["run", str(suite), "--db", str(db), "--tag", tag, "--json", str(folder / f"{tag}.json"),
                         "--prices", str(prices)]) == 0
        runs = {r["tag"]: r["run_id"] for r in Store(db).list_runs()}
        policy = yaml.safe_load(POLICY.read_text())  # general-v1's, but for the slices these examples have
        policy |= {"metrics": None, "slices": {"all": policy["slices"]["all"]}}
        (folder / "gate.yaml").write_text(yaml.safe_dump(policy))
        assert main(["gate", "--candidate", runs["candidate"], "--baseline", runs["baseline"], "--policy",
                     str(folder / "gate.yaml"), "--db", str(db)]) in (0, 1)
        answers = write_jsonl(folder / "answers.jsonl", [{"example_id": f"ex-{i}", "answer": f"answer {i}"}
                                                        for i in range(6)])
        labels = write_jsonl(folder / "labels.jsonl", [
            {"example_id": f"ex-{i}", "rater": rater, "dimension": "correct",
             "label": int(i % 3 != 0 and not (rater == "bo" and i == 4))}  # the raters differ on one item
            for i in range(6) for rater in ("ann", "bo")])
        assert main(["calibrate", "--judge", str(JUDGE), "--dataset", str(golden), "--answers", str(answers),
                     "--labels", str(labels), "--endpoint", stub.url, "--model", "grader", "--db", str(db)]) == 0
    return db, golden, runs
