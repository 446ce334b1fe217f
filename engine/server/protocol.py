"""The request bodies the server accepts, as strict pydantic models: OpenAI's field names and meanings,
no unknown fields, no coercion of wrong types (a string where a number belongs is a 400)."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import (BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, field_validator,
                      model_validator)

from engine.sampling_params import MAX_TOP_LOGPROBS
from engine.tool_calls import forces

MAX_COMPLETION_LOGPROBS = 5  # the legacy completions API's limit
MAX_N = 16  # choices per request: each holds its own KV blocks while it decodes

Number = StrictInt | StrictFloat


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class StreamOptions(Strict):
    include_usage: StrictBool = False


class JsonSchemaFormat(Strict):
    name: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    description: StrictStr | None = None
    schema_: dict = Field(default_factory=dict, alias="schema")  # no schema: any JSON value
    strict: StrictBool | None = None  # the schema is always enforced, strict or not


class ResponseFormat(Strict):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_with_its_type(self) -> "ResponseFormat":
        if (self.type == "json_schema") != (self.json_schema is not None):
            raise ValueError("json_schema is given with type 'json_schema', and only then")
        return self

    def schema_text(self) -> str | None:
        """The schema the engine enforces, as JSON text: None for free text, any object for json_object."""
        if self.type == "text":
            return None
        return json.dumps({"type": "object"} if self.json_schema is None else self.json_schema.schema_)


class FunctionCall(Strict):
    name: StrictStr
    arguments: StrictStr  # JSON text, as OpenAI sends it

    @field_validator("arguments")
    @classmethod
    def _json_object(cls, arguments: str) -> str:
        try:
            parsed = json.loads(arguments)
        except ValueError:
            raise ValueError("must be a JSON object as text") from None
        if not isinstance(parsed, dict):
            raise ValueError("must be a JSON object as text")
        return arguments


class ToolCall(Strict):
    id: StrictStr
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(Strict):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: StrictStr | None = None
    name: StrictStr | None = None
    tool_calls: list[ToolCall] | None = None  # an assistant's earlier calls
    tool_call_id: StrictStr | None = None  # the call a tool message answers

    @model_validator(mode="after")
    def _content_or_calls(self) -> "ChatMessage":
        if self.content is None and not (self.role == "assistant" and self.tool_calls):
            raise ValueError("content is required (only an assistant message with tool_calls may omit it)")
        if self.tool_calls and self.role != "assistant":
            raise ValueError("only an assistant message has tool_calls")
        if (self.role == "tool") != (self.tool_call_id is not None):
            raise ValueError("a tool message, and only a tool message, names the tool_call_id it answers")
        return self


class FunctionSpec(Strict):
    name: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    description: StrictStr | None = None
    parameters: dict | None = None  # a JSON schema of the arguments object
    strict: StrictBool | None = None  # the schema is always enforced when the call is forced


class Tool(Strict):
    type: Literal["function"]
    function: FunctionSpec


class NamedFunction(Strict):
    name: StrictStr


class NamedToolChoice(Strict):
    type: Literal["function"]
    function: NamedFunction


class SamplingFields(Strict):
    """What chat and completions requests share."""

    model: StrictStr
    temperature: Annotated[Number, Field(ge=0, le=2)] = 1.0
    top_p: Annotated[Number, Field(gt=0, le=1)] = 1.0
    top_k: Annotated[StrictInt, Field(ge=0)] = 0  # not OpenAI's; vLLM and others take it too
    n: Annotated[StrictInt, Field(ge=1, le=MAX_N)] = 1  # choices, sampled after one prefill
    seed: StrictInt | None = None
    stop: StrictStr | Annotated[list[StrictStr], Field(max_length=4)] | None = None
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    user: StrictStr | None = None  # recorded only as a salted hash (telemetry.attribution)
    metadata: Annotated[dict[Annotated[str, Field(max_length=64)], Annotated[StrictStr, Field(max_length=512)]],
                        Field(max_length=16)] | None = None  # OpenAI's limits; feature, variant... go on spans
    response_format: ResponseFormat | None = None
    presence_penalty: Literal[0, 0.0] = 0
    frequency_penalty: Literal[0, 0.0] = 0

    @field_validator("stop")
    @classmethod
    def _no_empty_stop(cls, stop: str | list[str] | None) -> str | list[str] | None:
        if stop is not None and ("" in stop if isinstance(stop, list) else stop == ""):
            raise ValueError("a stop sequence must not be empty")
        return stop

    def requested_logprobs(self) -> int | None:
        """The engine's `logprobs`: None when not asked (chat asks with `logprobs` and `top_logprobs`)."""
        return None

    def requested_prompt_logprobs(self) -> int | None:
        return None

    def requested_json_schema(self) -> str | None:
        return None if self.response_format is None else self.response_format.schema_text()

    def stop_tuple(self) -> tuple[str, ...]:
        return () if self.stop is None else (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)


class ChatCompletionRequest(SamplingFields):
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    max_tokens: Annotated[StrictInt, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[StrictInt, Field(ge=1)] | None = None
    logprobs: StrictBool = False
    top_logprobs: Annotated[StrictInt, Field(ge=0, le=MAX_TOP_LOGPROBS)] | None = None
    tools: Annotated[list[Tool], Field(max_length=128)] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice = "auto"
    parallel_tool_calls: StrictBool = True
    # vLLM's extensions for a reply started for the model (an LLM judge's `{"rationale": "`)
    add_generation_prompt: StrictBool = True
    continue_final_message: StrictBool = False

    def requested_max_tokens(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens

    @model_validator(mode="after")
    def _top_needs_logprobs(self) -> "ChatCompletionRequest":
        if self.top_logprobs is not None and not self.logprobs:
            raise ValueError("top_logprobs requires logprobs to be true")
        return self

    @model_validator(mode="after")
    def _tool_choice_among_tools(self) -> "ChatCompletionRequest":
        names = {t.function.name for t in self.tools or ()}
        if isinstance(self.tool_choice, NamedToolChoice) and self.tool_choice.function.name not in names:
            raise ValueError(f"tool_choice names {self.tool_choice.function.name!r}, which is not among the tools")
        if self.tool_choice == "required" and not names:
            raise ValueError("tool_choice 'required' needs tools")
        if forces(self.tool_choice_name) and self.response_format is not None and self.response_format.type != "text":
            raise ValueError("a forced tool call is decoded under its own schema: give tool_choice or "
                             "response_format, not both")
        return self

    def requested_logprobs(self) -> int | None:
        """The engine's `logprobs`: None when not asked, else how many rivals per token."""
        return (self.top_logprobs or 0) if self.logprobs else None

    @property
    def tool_choice_name(self) -> str:
        """"none", "auto", "required" or the named function's name (engine.tool_calls' spelling)."""
        return self.tool_choice if isinstance(self.tool_choice, str) else self.tool_choice.function.name


class CompletionRequest(SamplingFields):
    prompt: StrictStr | Annotated[list[StrictStr], Field(min_length=1, max_length=1)]
    max_tokens: Annotated[StrictInt, Field(ge=0)] = 16  # OpenAI's default; 0 (with echo) scores the prompt only
    echo: StrictBool = False  # the prompt comes back before the answer, with its log probabilities if asked
    logprobs: Annotated[StrictInt, Field(ge=0, le=MAX_COMPLETION_LOGPROBS)] | None = None  # rivals per token

    @model_validator(mode="after")
    def _echo_alone(self) -> "CompletionRequest":
        if self.max_tokens == 0 and not self.echo:
            raise ValueError("max_tokens 0 generates nothing: it needs echo, to score the prompt")
        if self.echo and self.stream:
            raise ValueError("echo is answered whole: ask it without stream")
        return self

    def requested_logprobs(self) -> int | None:
        return self.logprobs

    def requested_prompt_logprobs(self) -> int | None:
        return self.logprobs if self.echo else None

    def prompt_text(self) -> str:
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]

    def requested_max_tokens(self) -> int:
        """What the engine generates: at least one token (an echo of max_tokens 0 drops it)."""
        return max(self.max_tokens, 1)
