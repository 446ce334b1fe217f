"""The request bodies the server accepts, as strict pydantic models: OpenAI's field names and meanings,
no unknown fields, no coercion of wrong types (a string where a number belongs is a 400)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, field_validator,
                      model_validator)

from engine.sampling_params import MAX_TOP_LOGPROBS

MAX_COMPLETION_LOGPROBS = 5  # the legacy completions API's limit

Number = StrictInt | StrictFloat


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class StreamOptions(Strict):
    include_usage: StrictBool = False


class ChatMessage(Strict):
    role: Literal["system", "developer", "user", "assistant"]
    content: StrictStr
    name: StrictStr | None = None


class SamplingFields(Strict):
    """What chat and completions requests share."""

    model: StrictStr
    temperature: Annotated[Number, Field(ge=0, le=2)] = 1.0
    top_p: Annotated[Number, Field(gt=0, le=1)] = 1.0
    top_k: Annotated[StrictInt, Field(ge=0)] = 0  # not OpenAI's; vLLM and others take it too
    n: Literal[1] = 1
    seed: StrictInt | None = None
    stop: StrictStr | Annotated[list[StrictStr], Field(max_length=4)] | None = None
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    user: StrictStr | None = None  # recorded only as a salted hash (telemetry.attribution)
    metadata: Annotated[dict[Annotated[str, Field(max_length=64)], Annotated[StrictStr, Field(max_length=512)]],
                        Field(max_length=16)] | None = None  # OpenAI's limits; feature, variant... go on spans
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

    def stop_tuple(self) -> tuple[str, ...]:
        return () if self.stop is None else (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)


class ChatCompletionRequest(SamplingFields):
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    max_tokens: Annotated[StrictInt, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[StrictInt, Field(ge=1)] | None = None
    logprobs: StrictBool = False
    top_logprobs: Annotated[StrictInt, Field(ge=0, le=MAX_TOP_LOGPROBS)] | None = None
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

    def requested_logprobs(self) -> int | None:
        """The engine's `logprobs`: None when not asked, else how many rivals per token."""
        return (self.top_logprobs or 0) if self.logprobs else None


class CompletionRequest(SamplingFields):
    prompt: StrictStr | Annotated[list[StrictStr], Field(min_length=1, max_length=1)]
    max_tokens: Annotated[StrictInt, Field(ge=1)] = 16  # OpenAI's default for completions
    echo: Literal[False] = False
    logprobs: Annotated[StrictInt, Field(ge=0, le=MAX_COMPLETION_LOGPROBS)] | None = None  # rivals per token

    def requested_logprobs(self) -> int | None:
        return self.logprobs

    def prompt_text(self) -> str:
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]

    def requested_max_tokens(self) -> int:
        return self.max_tokens
