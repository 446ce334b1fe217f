"""Golden sets: JSONL examples validated line by line, pinned by the SHA-256 of the file's bytes.

Everything that can be wrong with a set is found here, before any generation: a run never
starts on a set that would fail halfway.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evals.errors import EvalInputError


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    role: Literal["system", "user", "assistant"]
    content: str


class Passage(BaseModel):
    """A retrieved passage a RAG example's answer should draw on, cited by its id."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1, pattern=r"^[\w.-]+$")
    text: str = Field(min_length=1)


class ExpectedCall(BaseModel):
    """A tool call a right answer makes: the function, and its arguments (left out: any arguments)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    arguments: dict[str, Any] | None = None


def valid_pattern(v: str | None) -> str | None:
    """A pydantic check: `v` compiles as a regular expression (else a message naming the problem)."""
    if v is not None:
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"not a valid regular expression: {e}") from None
    return v


class Expected(BaseModel):
    """What a right answer looks like; each scorer reads the fields it needs and skips examples without them."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    answer: str | None = None
    acceptable: tuple[str, ...] = ()  # other answers that are equally right
    must_contain: tuple[str, ...] = ()
    must_not_contain: tuple[str, ...] = ()
    pattern: str | None = None  # a regular expression the answer must match (re.search)
    json_schema: dict[str, Any] | None = None
    choices: tuple[str, ...] | None = None  # the options of a multiple-choice question; `answer` is one of them
    should_refuse: bool | None = None
    tests: str | None = None  # Python statements that raise unless the answer's code is right (run sandboxed)
    relevant: tuple[str, ...] = ()  # ids of the passages that answer the question (retrieved or not)
    tool_calls: tuple[ExpectedCall, ...] | None = None  # the calls an agent's right trajectory makes, in order

    _compiles = field_validator("pattern")(valid_pattern)

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None:
            try:
                jsonschema.validators.validator_for(v).check_schema(v)
            except jsonschema.SchemaError as e:
                raise ValueError(f"not a valid JSON schema: {e.message}") from None
        return v

    @field_validator("tests")
    @classmethod
    def _tests_compile(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                compile(v, "tests", "exec")
            except SyntaxError as e:
                raise ValueError(f"the tests are not valid Python: {e.msg} (line {e.lineno})") from None
        return v

    @model_validator(mode="after")
    def _answer_is_a_choice(self) -> "Expected":
        if self.choices is not None and self.answer not in self.choices:
            raise ValueError(f"answer {self.answer!r} is not one of the choices {list(self.choices)}")
        return self

    @property
    def references(self) -> tuple[str, ...]:
        return ((self.answer,) if self.answer is not None else ()) + self.acceptable


class Example(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1)
    input: str | tuple[Message, ...] = Field(min_length=1)
    context: tuple[Passage, ...] = ()  # for RAG: the passages retrieved for it, apart from the input
    expected: Expected
    labels: dict[str, str] = {}
    provenance: str | None = None  # where it came from: written by hand, synthetic, production
    trace_id: str | None = None  # for an example harvested from production, the trace it was
    annotator: str | None = None
    annotated_at: str | None = None

    @field_validator("context")
    @classmethod
    def _ids_unique(cls, v: tuple[Passage, ...]) -> tuple[Passage, ...]:
        ids = [p.id for p in v]
        if len(set(ids)) != len(ids):
            raise ValueError(f"passage ids must be unique; {sorted({i for i in ids if ids.count(i) > 1})} repeat")
        return v

    @property
    def input_sha256(self) -> str:
        """What the model was given: the input, and the retrieved passages where there are any."""
        data = self.model_dump(mode="json")
        given = {"input": data["input"], "context": data["context"]} if self.context else data["input"]
        return sha256_text(json.dumps(given, sort_keys=True, ensure_ascii=False))


@dataclass(frozen=True)
class GoldenSet:
    name: str
    path: Path
    sha256: str
    examples: tuple[Example, ...]

    def __len__(self) -> int:
        return len(self.examples)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def dataset_name(path: Path) -> str:
    return path.name.removesuffix(".jsonl")


def load_golden_set(path: str | Path) -> GoldenSet:
    """Read and validate the file a line at a time (it is never held whole), hashing its bytes as they
    pass; the first problem raises with its file, line and field."""
    path = Path(path)
    try:
        f = path.open("rb")
    except FileNotFoundError:
        raise EvalInputError("no such golden set file", file=path) from None
    except IsADirectoryError:
        raise EvalInputError("is a directory, not a JSONL golden set", file=path) from None
    digest, examples, first_line_of = hashlib.sha256(), [], {}
    with f:
        for number, raw in enumerate(f, start=1):
            digest.update(raw)
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise EvalInputError(f"invalid UTF-8 at byte {e.start} of the line", file=path, line=number) from None
            if not line.strip():
                continue
            example = _parse_line(path, number, line)
            if example.id in first_line_of:
                raise EvalInputError(f"duplicate id {example.id!r} (first on line {first_line_of[example.id]})",
                                     file=path, line=number, field="id")
            first_line_of[example.id] = number
            examples.append(example)
    if not examples:  # line 1: where the first example belongs
        raise EvalInputError("the golden set is empty: no examples", file=path, line=1)
    return GoldenSet(name=dataset_name(path), path=path, sha256=digest.hexdigest(), examples=tuple(examples))


def _parse_line(path: Path, number: int, line: str) -> Example:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as e:
        raise EvalInputError(f"not valid JSON: {e.msg} (column {e.colno})", file=path, line=number) from None
    if not isinstance(raw, dict):
        raise EvalInputError(f"an example must be a JSON object, got {type(raw).__name__}", file=path, line=number)
    try:
        return Example.model_validate(raw)
    except ValidationError as e:
        raise EvalInputError.from_validation(e, file=path, line=number) from None


def question_text(example: Example) -> str:
    """What the example asks: its input, or its last user message."""
    if isinstance(example.input, str):
        return example.input
    return next(m.content for m in reversed(example.input) if m.role == "user")


def is_holdout(example_id: str, fraction: float, salt: str = "") -> bool:
    """A deterministic split by the hash of the id: the same examples stay private until the salt rotates."""
    digest = hashlib.sha256(f"{salt}:{example_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction
