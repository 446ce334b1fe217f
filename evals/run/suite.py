"""The suite file (YAML): what to run, on which model, scored how. Unknown keys are errors, named by line."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Literal

import jsonschema

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from engine.placement import DEVICES, DTYPES
from evals.errors import EvalInputError
from evals.golden.dataset import Example, GoldenSet, sha256_text
from evals.scorers import Scorer, build_scorer
from evals.yaml_input import line_of, load_yaml_model

_JINJA = ImmutableSandboxedEnvironment(keep_trailing_newline=True, undefined=StrictUndefined)  # a typo is an error


@functools.lru_cache(maxsize=64)
def _template(source: str) -> Template:
    """A prompt template compiled once, not once per example (compiling cost more than a request)."""
    return _JINJA.from_string(source)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EndpointConfig(_Strict):
    """Any OpenAI-compatible server, or several replicas of one model (a list of base URLs, or one string
    with commas); the key is read from the named environment variable, never stored."""

    url: tuple[str, ...] = Field(min_length=1)
    model: str
    api_key_env: str | None = None
    max_retries: int = Field(default=4, ge=0)  # attempts after the first, on another replica where there is one
    fail_after_s: float = Field(default=30.0, gt=0)  # every replica out of rotation this long stops the run
    # whether it takes `response_format: json_schema`; a judge on one that does not starts its reply instead
    structured_outputs: bool = True

    @field_validator("url", mode="before")
    @classmethod
    def _replicas(cls, v: Any) -> Any:
        urls = [u.strip() for u in v.split(",")] if isinstance(v, str) else v
        if isinstance(urls, list | tuple):
            if not all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls):
                raise ValueError(f"each replica must be an http:// or https:// base URL; got {v!r}")
            if len(set(urls)) < len(urls):
                raise ValueError(f"a replica is named twice in {v!r}")
        return urls


class EngineConfig(_Strict):
    device: str = "auto"
    dtype: str = "auto"

    @field_validator("device", "dtype")
    @classmethod
    def _known(cls, value: str, info: ValidationInfo) -> str:
        known = {"device": DEVICES, "dtype": DTYPES}[info.field_name]
        if value not in known:
            raise ValueError(f"one of {', '.join(known)}; got {value!r}")
        return value


class SamplingConfig(_Strict):
    temperature: float = Field(default=0.0, ge=0)
    top_p: float = Field(default=1.0, gt=0, le=1)
    top_k: int = Field(default=0, ge=0)
    max_tokens: int = Field(default=128, ge=1)
    seed: int | None = Field(default=0, ge=0, lt=2**63)  # what a torch generator takes
    stop: tuple[str, ...] = ()

    @property
    def deterministic(self) -> bool:
        """Greedy, or seeded: the same request always gives the same answer, so it may be cached."""
        return self.temperature == 0 or self.seed is not None


class FunctionSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] = {"type": "object"}  # the JSON schema of its arguments

    @field_validator("parameters")
    @classmethod
    def _a_schema(cls, v: dict[str, Any]) -> dict[str, Any]:
        try:
            jsonschema.validators.validator_for(v).check_schema(v)
        except jsonschema.SchemaError as e:
            raise ValueError(f"not a valid JSON schema: {e.message}") from None
        return v


class ToolSpec(_Strict):
    """A function the model may call, in OpenAI's shape."""

    type: Literal["function"] = "function"
    function: FunctionSpec


class PromptConfig(_Strict):
    """How an example's input becomes chat messages, with the tools it may call; its SHA goes into the run
    record."""

    system: str | None = None
    user: str = "{{ input }}"
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: str = "auto"  # "auto", "required" (a call, of any of the tools) or one tool's name

    @model_validator(mode="after")
    def _choice_among_tools(self) -> "PromptConfig":
        names = {t.function.name for t in self.tools}
        if self.tool_choice not in ("auto", "required") and self.tool_choice not in names:
            raise ValueError(f"tool_choice: 'auto', 'required' or one of the tools' names; got {self.tool_choice!r}")
        if self.tool_choice == "required" and not names:
            raise ValueError("tool_choice 'required' needs tools")
        return self

    def tool_dicts(self) -> tuple[dict[str, Any], ...]:
        return tuple(t.model_dump(mode="json", exclude_none=True) for t in self.tools)

    @field_validator("user")
    @classmethod
    def _parses(cls, v: str) -> str:
        try:
            _template(v)
        except TemplateError as e:
            raise ValueError(f"not a valid template: {e}") from None
        return v

    @property
    def sha256(self) -> str:
        """Of what it says; a prompt without tools hashes as it did before prompts had them."""
        fields = self.model_dump(mode="json", exclude=None if self.tools else {"tools", "tool_choice"})
        return sha256_text(json.dumps(fields, sort_keys=True))

    def messages(self, example: Example) -> tuple[dict[str, str], ...]:
        if isinstance(example.input, str):
            passages = [p.model_dump() for p in example.context]  # {{ context }}: [{id, text}, ...]
            turns = ({"role": "user", "content": _template(self.user).render(input=example.input, context=passages)},)
        else:
            turns = tuple(m.model_dump() for m in example.input)
        if self.system is not None and turns[0]["role"] != "system":
            turns = ({"role": "system", "content": self.system}, *turns)
        return turns


class ScorerSpec(_Strict):
    name: str
    params: dict[str, Any] = {}

    def build(self) -> Scorer:
        return build_scorer(self.name, self.params)


class JudgeConfig(_Strict):
    """An LLM judge for every answer. Its scores may gate only once a stored calibration of this judge
    (same prompt SHA, same judge model) reached the gating kappa on every calibrated dimension."""

    prompt: Path  # a pointwise judge prompt file, relative to the suite
    model: str | None = None  # default: the suite's own model (on an endpoint suite: give one)
    endpoint: EndpointConfig | None = None
    reference: bool = False  # show the judge the golden answer


class Suite(_Strict):
    name: str = Field(min_length=1)
    dataset: Path
    model: str | None = None  # a known model name, GGUF file or safetensors folder; default: the default model
    endpoint: EndpointConfig | None = None
    engine: EngineConfig = EngineConfig()
    sampling: SamplingConfig = SamplingConfig()
    prompt: PromptConfig = PromptConfig()
    scorers: tuple[ScorerSpec, ...] = Field(min_length=1)
    judges: tuple[JudgeConfig, ...] = ()
    epochs: int = Field(default=1, ge=1)
    pass_at_k: tuple[int, ...] = ()  # report pass@k of every pass/fail scorer over the epochs (k <= epochs)
    concurrency: int = Field(default=32, ge=1)  # engine batch rows, or requests in flight to an endpoint
    timeout_s: float = Field(default=120.0, gt=0)  # per example, on an endpoint
    max_error_rate: float = Field(default=1.0, ge=0, le=1)  # more failed generations: refused, exit 2 (all: always)
    slices: tuple[str, ...] = ()
    holdout: float = Field(default=0.2, ge=0, lt=1)
    holdout_salt: str = ""

    @field_validator("scorers", mode="before")
    @classmethod
    def _short_forms(cls, v: Any) -> Any:
        """`- exact_match` or `- numeric: {abs_tol: 0.01}` as well as `- {name: ..., params: ...}`."""
        if not isinstance(v, list):
            return v
        out = []
        for item in v:
            if isinstance(item, str):
                item = {"name": item}
            elif isinstance(item, dict) and len(item) == 1 and "name" not in item:
                (name, params), = item.items()
                item = {"name": name, "params": params or {}}
            out.append(item)
        return out

    @model_validator(mode="after")
    def _one_target(self) -> "Suite":
        if self.model is not None and self.endpoint is not None:
            raise ValueError("give `model` or `endpoint`, not both")
        for k in self.pass_at_k:
            if not 1 <= k <= self.epochs:
                raise ValueError(f"pass_at_k: each k must be from 1 to epochs ({self.epochs}); got {k}")
        return self

    def build_scorers(self) -> tuple[Scorer, ...]:
        return tuple(s.build() for s in self.scorers)

    def check_prompt(self, golden: GoldenSet) -> None:
        """The prompt template rendered once, on the first example, before any row is written."""
        first = next((ex for ex in golden.examples if isinstance(ex.input, str)), None)
        if first is None:
            return
        try:
            self.prompt.messages(first)
        except TemplateError as e:
            raise EvalInputError(f"cannot render on example {first.id!r}: {e}", field="prompt.user") from None

    def check_slices(self, golden: GoldenSet) -> None:
        """Every slice key must be a label some example carries: a typo would report one empty slice."""
        labels = {key for ex in golden.examples for key in ex.labels}
        for key in self.slices:
            if key not in labels:
                raise EvalInputError(f"no example in {golden.path} has the label {key!r} "
                                     f"(they have: {', '.join(sorted(labels)) or 'none'})", field="slices")


def load_suite(path: str | Path) -> Suite:
    """Parse, validate and resolve the dataset path against the suite's folder; errors carry the YAML line."""
    path = Path(path)
    suite, root = load_yaml_model(path, Suite, what="suite")
    for i, spec in enumerate(suite.scorers):
        try:
            spec.build()
        except EvalInputError as e:
            raise EvalInputError(str(e), file=path, line=line_of(root, ("scorers", i)), field=f"scorers.{i}") from None
    dataset = (path.parent / suite.dataset).resolve()
    if not dataset.is_file():
        raise EvalInputError(f"no golden set at {dataset}", file=path, line=line_of(root, ("dataset",)), field="dataset")
    judges = []
    for i, judge in enumerate(suite.judges):
        prompt = (path.parent / judge.prompt).resolve()
        if not prompt.is_file():
            raise EvalInputError(f"no judge prompt at {prompt}", file=path, line=line_of(root, ("judges", i, "prompt")),
                                 field=f"judges.{i}.prompt")
        judges.append(judge.model_copy(update={"prompt": prompt}))
    return suite.model_copy(update={"dataset": dataset, "judges": tuple(judges)})

