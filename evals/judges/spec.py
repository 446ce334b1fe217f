"""Judge prompt files (`datasets/judges/*.yaml`): the rubric, its scales and the template, pinned by SHA-256."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evals.errors import EvalInputError

RATIONALE_MAX_CHARS = 200  # with the keys and scores, under the judge's 256 tokens even at a token a character
_JINJA = ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=False)


class Scale(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min: int
    max: int
    description: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> "Scale":
        if self.max <= self.min:
            raise ValueError(f"max ({self.max}) must be above min ({self.min})")
        return self

    @property
    def ordinal(self) -> bool:
        """More than two levels: agreement is weighted by distance."""
        return self.max - self.min > 1


class JudgeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    version: int = Field(ge=1)
    mode: Literal["pointwise", "pairwise"]
    dimensions: dict[str, Scale] = {}
    overall: Scale | None = None
    system: str
    template: str
    reply_prefix: str = ""  # the start of the reply, written for an endpoint without structured outputs

    @model_validator(mode="after")
    def _scales_match_mode(self) -> "JudgeSpec":
        if self.mode == "pointwise" and (not self.dimensions or self.overall is None):
            raise ValueError("a pointwise judge needs `dimensions` and an `overall` scale")
        if self.mode == "pairwise" and (self.dimensions or self.overall):
            raise ValueError("a pairwise judge has no `dimensions` or `overall`; it names a winner")
        _JINJA.from_string(self.template)
        return self

    def reply_schema(self) -> dict:
        """The JSON schema of a reply, asked of the backend as a structured output so that every reply
        parses: the rationale first (the judge reasons before it scores), bounded so that the whole object
        fits in the judge's max_tokens; then each score an integer on its scale, or the winner."""
        rationale = {"type": "string", "maxLength": RATIONALE_MAX_CHARS}
        if self.mode == "pairwise":
            verdict = {"winner": {"enum": ["A", "B", "tie"]}}
        else:
            verdict = {"scores": _object({name: _integer(s) for name, s in self.dimensions.items()}),
                       "overall": _integer(self.overall)}
        return _object({"rationale": rationale, **verdict})

    def scale(self, dimension: str) -> Scale:
        return self.overall if dimension == "overall" else self.dimensions[dimension]

    def render(self, **fields: str | None) -> tuple[dict[str, str], ...]:
        return ({"role": "system", "content": self.system},
                {"role": "user", "content": _JINJA.from_string(self.template).render(**fields)})


def _integer(scale: Scale) -> dict:
    return {"type": "integer", "minimum": scale.min, "maximum": scale.max}


def _object(properties: dict[str, dict]) -> dict:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


@dataclass(frozen=True)
class JudgePrompt:
    spec: JudgeSpec
    path: Path
    sha256: str

    @property
    def judge_id(self) -> str:
        return f"{self.spec.name}-v{self.spec.version}"


def load_judge_prompt(path: str | Path) -> JudgePrompt:
    path = Path(path)
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        raise EvalInputError("no such judge prompt file", file=path) from None
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
        spec = JudgeSpec.model_validate(raw)
    except UnicodeDecodeError as e:
        raise EvalInputError(f"invalid UTF-8 at byte {e.start}", file=path) from None
    except yaml.YAMLError as e:
        raise EvalInputError.from_yaml(e, file=path) from None
    except ValidationError as e:
        raise EvalInputError.from_validation(e, file=path) from None
    except Exception as e:  # a template that does not parse
        raise EvalInputError(f"template: {e}", file=path, field="template") from None
    return JudgePrompt(spec, path, hashlib.sha256(data).hexdigest())
