"""What a generation costs: a versioned price table per model, by the million tokens (input, output, cached
input) as providers bill, or by the hour of the machine an engine runs on. An hourly price is shared out
by engine time: each step's wall time split among its sequences by the tokens each computed in it, so
a generation pays for its share of the batch and idle machine time is in no generation's cost."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

PER_MILLION = 1e6
COST = "goldgate.usage.cost"  # the GenAI conventions have no cost attribute yet
CURRENCY = "goldgate.usage.currency"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Price(_Strict):
    input: float | None = Field(default=None, ge=0)  # per million input tokens
    output: float | None = Field(default=None, ge=0)  # per million output tokens
    cached_input: float | None = Field(default=None, ge=0)  # per million cached input tokens; default: input
    per_hour: float | None = Field(default=None, ge=0)  # the machine's price, shared by engine time

    @model_validator(mode="after")
    def _one_kind(self) -> "Price":
        by_tokens = (self.input, self.output, self.cached_input) != (None, None, None)
        if by_tokens == (self.per_hour is not None):
            raise ValueError("give token prices (input, output, cached_input) or per_hour, not both or neither")
        return self

    def cost(self, input_tokens: int, output_tokens: int, *, cached_tokens: int = 0,
             engine_s: float | None = None) -> float:
        if self.per_hour is not None:
            return self.per_hour * (engine_s or 0.0) / 3600
        cached = min(cached_tokens, input_tokens)
        cached_price = self.input if self.cached_input is None else self.cached_input
        return ((input_tokens - cached) * (self.input or 0.0) + cached * (cached_price or 0.0)
                + output_tokens * (self.output or 0.0)) / PER_MILLION


class UnpricedModelError(KeyError):
    def __init__(self, model: str, table: "PriceTable") -> None:
        super().__init__(model)
        self.model, self.known = model, tuple(table.models)

    def __str__(self) -> str:
        return f"no price for the model {self.model!r}; the table prices {', '.join(self.known) or 'no model'}"


class PriceTable(_Strict):
    version: str = Field(min_length=1)  # which edition of the prices: costs are only comparable within one
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    models: dict[str, Price]

    def price(self, model: str) -> Price:
        try:
            return self.models[model]
        except KeyError:
            raise UnpricedModelError(model, self) from None

    def require(self, *models: str) -> None:
        """Every model named has a price (checked before a run or a server starts, not halfway through)."""
        for model in models:
            self.price(model)
