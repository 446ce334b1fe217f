"""Golden sets and suites written as real files for the harness tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

ALL_SCORERS = ["contains_any", "exact_match", "token_f1", "rouge_l", "numeric", "multiple_choice", "json_valid",
               "json_schema", "regex", "contains_all", "must_not_contain", "refusal"]


def examples(n: int = 6) -> list[dict[str, Any]]:
    """A small valid set touching every kind of expected answer."""
    kinds = [
        {"answer": "Paris"},
        {"answer": "56"},
        {"answer": "yes", "choices": ["yes", "no"]},
        {"json_schema": {"type": "object", "required": ["a"]}},
        {"must_contain": ["red"], "must_not_contain": ["blue"], "pattern": "^\\w+$"},
        {"should_refuse": True},
    ]
    return [{"id": f"ex-{i}", "input": f"Question {i}?", "expected": kinds[i % len(kinds)],
             "labels": {"intent": f"kind{i % len(kinds)}", "difficulty": "hard" if i % 3 == 0 else "easy"}}
            for i in range(n)]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_suite(path: Path, dataset: Path, model: Path | None, **fields: Any) -> Path:
    """A suite on `model` (None: leave it out); a field given as None is left out too."""
    suite = {"name": "t", "dataset": str(dataset), "model": str(model) if model else None, "engine": {"device": "cpu"},
             "sampling": {"temperature": 0, "max_tokens": 6}, "scorers": ALL_SCORERS, "concurrency": 4,
             "slices": ["intent", "difficulty"], **fields}
    suite = {k: v for k, v in suite.items() if v is not None}
    path.write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    return path
