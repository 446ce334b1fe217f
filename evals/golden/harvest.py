"""Production traffic back into evals (08 §3.3, §13.3): captured requests become a candidate golden set:
redacted again under today's rules (capture may have run under older ones), deduplicated by input SHA,
labelled from their spans' attribution, marked `provenance: production` with their trace, sampled
(stratified on a label, if asked) and left without an expected answer, for people to fill in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from evals.golden.dataset import Example, Expected, GoldenSet, Message
from evals.golden.subset import Subset
from evals.store.production import LABELS
from telemetry.redact import Redactor

PROVENANCE = "production"


@dataclass(frozen=True)
class Harvest:
    examples: tuple[Example, ...]
    requests: int  # captured requests read
    duplicates: int  # dropped: an earlier request had the same input
    unusable: int  # dropped: content that is not a golden set's input (another role, no text)


def harvest(requests: pd.DataFrame, source: Path, *, sample: int | None, stratify: str | None, seed: int,
            redact: Redactor | None = None) -> Harvest:
    """Candidate examples from `captured_requests` rows (oldest first: a repeated input keeps its first trace)."""
    redact = redact or Redactor()
    by_input: dict[str, Example] = {}
    unusable = 0
    for row in requests.itertuples(index=False):
        example = production_example(row, redact)
        if example is None:
            unusable += 1
        else:
            by_input.setdefault(example.input_sha256, example)
    candidates = tuple(by_input.values())
    chosen = candidates
    if sample is not None and candidates:
        pool = GoldenSet(name="harvest", path=source, sha256="", examples=candidates)
        chosen = Subset(sample=min(sample, len(candidates)), stratify=stratify, seed=seed).select(pool)
    return Harvest(chosen, len(requests), len(requests) - unusable - len(candidates), unusable)


def example_line(example: Example) -> str:
    """The example as a golden set's JSONL line: only the fields it has, and an empty `expected`."""
    data = example.model_dump(mode="json", exclude_none=True, exclude={"expected"})
    return json.dumps({**data, "expected": {}}, ensure_ascii=False)


def production_example(row, redact: Redactor) -> Example | None:
    """A captured request (a row of `captured_requests`) as an example, or None if it cannot be one."""
    try:
        instructions = row.system_instructions if isinstance(row.system_instructions, str) else "[]"  # or NULL
        system = [p["content"] for p in json.loads(instructions)]
        turns = [(m["role"], "".join(p["content"] for p in m["parts"] if p.get("type") == "text"))
                 for m in json.loads(row.input_messages)]
        messages = [Message(role="system", content=redact("\n".join(system)))] if system else []
        messages += [Message(role=role, content=redact(text)) for role, text in turns]
        labels = {k: str(v) for k in LABELS if isinstance(v := getattr(row, k), str) and v}
        single_user = len(messages) == 1 and messages[0].role == "user"
        draft = Example(id="pending", input=messages[0].content if single_user else tuple(messages),
                        expected=Expected(), labels=labels, provenance=PROVENANCE, trace_id=row.trace_id)
    except (ValueError, KeyError, TypeError, ValidationError):  # malformed JSON, another role, an empty input
        return None
    return draft.model_copy(update={"id": f"prod-{draft.input_sha256[:16]}"})
