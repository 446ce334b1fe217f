"""Human labels and the answers they label, read from JSONL or CSV with errors naming file, line and field."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evals.errors import EvalInputError
from evals.store import judging
from evals.store.store import Store


class HumanLabel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    example_id: str = Field(min_length=1)
    rater: str = Field(min_length=1)
    dimension: str = Field(min_length=1)
    label: str = Field(min_length=1)

    @field_validator("label", mode="before")
    @classmethod
    def _int_labels_as_text(cls, v: object) -> object:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


class LabelledAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    example_id: str = Field(min_length=1)
    answer: str


@dataclass(frozen=True)
class LabelFile:
    path: Path
    sha256: str
    labels: tuple[HumanLabel, ...]
    lines: tuple[int, ...]  # the file line of each label, for messages


def _records(path: Path) -> tuple[bytes, list[tuple[int, object]]]:
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except (FileNotFoundError, IsADirectoryError):
        raise EvalInputError("no such file", file=path) from None
    except UnicodeDecodeError as e:
        raise EvalInputError(f"invalid UTF-8 at byte {e.start}", file=path,
                             line=data[: e.start].count(b"\n") + 1) from None
    if path.suffix == ".csv":
        return data, [(i, row) for i, row in enumerate(csv.DictReader(io.StringIO(text)), start=2)]
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                rows.append((number, json.loads(line)))
            except json.JSONDecodeError as e:
                raise EvalInputError(f"not valid JSON: {e.msg}", file=path, line=number) from None
    return data, rows


def _validated(path: Path, model: type[BaseModel], rows: list[tuple[int, object]]) -> list:
    out = []
    for number, raw in rows:
        try:
            out.append(model.model_validate(raw))
        except ValidationError as e:
            raise EvalInputError.from_validation(e, file=path, line=number) from None
    if not out:
        raise EvalInputError("no rows", file=path, line=1)
    return out


def load_labels(path: str | Path) -> LabelFile:
    path = Path(path)
    data, rows = _records(path)
    labels = _validated(path, HumanLabel, rows)
    seen: dict[tuple[str, str, str], int] = {}
    for (number, _), label in zip(rows, labels):
        key = (label.example_id, label.rater, label.dimension)
        if key in seen:
            raise EvalInputError(f"a second label by {label.rater!r} for {label.example_id!r} / {label.dimension!r} "
                                 f"(first on line {seen[key]})", file=path, line=number)
        seen[key] = number
    return LabelFile(path, hashlib.sha256(data).hexdigest(), tuple(labels), tuple(n for n, _ in rows))


def load_answers(path: str | Path) -> dict[str, str]:
    path = Path(path)
    _, rows = _records(path)
    return {a.example_id: a.answer for a in _validated(path, LabelledAnswer, rows)}


def stored_labels(store: Store, dataset_sha256: str) -> tuple[dict[str, str], LabelFile]:
    """The answers people labelled on the dashboard for this golden set, and their labels."""
    answers, rows, digest = judging.stored_labels(store, dataset_sha256)
    labels = tuple(HumanLabel(example_id=e, rater=r, dimension=d, label=lab) for e, r, d, lab in rows)
    return answers, LabelFile(store.path, digest, labels, tuple(range(1, len(labels) + 1)))
