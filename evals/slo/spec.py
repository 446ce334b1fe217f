"""SLOs as YAML: availability (the share of requests not answered 5xx), latency (the share of first tokens
under a threshold), quality (the share of evaluation scores passing) and spend against a daily budget,
each with a target and a window, and the multi-window burn-rate alerts of the Google SRE workbook
(ch. 5, table 5-8): an alert fires while the burn over both its long and its short window is above its
rate, so it fires fast on a real burn and stops soon after the burn does."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from evals.durations import format_duration, parse_duration
from evals.yaml_input import load_yaml_model

Duration = Annotated[int, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BurnAlert(_Strict):
    long: Duration
    short: Duration
    burn_rate: float = Field(gt=0)  # times the rate that would spend the budget exactly over the SLO's window
    severity: Literal["page", "ticket"]

    @model_validator(mode="after")
    def _short_is_shorter(self) -> "BurnAlert":
        if self.short >= self.long:
            raise ValueError("short must be a shorter window than long")
        return self

    @property
    def name(self) -> str:
        return f"{format_duration(self.long)}/{format_duration(self.short)}"


# The workbook's table 5-8: 2% of a 30-day budget in an hour pages, 5% in six hours pages, 10% in three days
# is a ticket.
WORKBOOK_ALERTS = (BurnAlert(long="1h", short="5m", burn_rate=14.4, severity="page"),
                   BurnAlert(long="6h", short="30m", burn_rate=6, severity="page"),
                   BurnAlert(long="3d", short="6h", burn_rate=1, severity="ticket"))


class _Objective(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")  # it names alerts and Prometheus rules
    window: Duration = parse_duration("30d")
    model: str | None = None  # only this model's traffic (default: all)


class _RatioObjective(_Objective):
    target: float = Field(gt=0, lt=1)  # the share of good events, e.g. 0.995

    @property
    def allowed(self) -> float:
        """The share of bad events the budget allows."""
        return 1 - self.target


class Availability(_RatioObjective):
    kind: Literal["availability"]


class Latency(_RatioObjective):
    kind: Literal["latency"]
    threshold_s: float = Field(gt=0)  # a first token later than this is a bad event


class Quality(_RatioObjective):
    kind: Literal["quality"]
    scorer: str  # a scorer's (or JUDGE/DIMENSION's) name
    min_score: float = Field(default=1.0, ge=0, le=1)  # a score at least this passes


class Cost(_Objective):
    kind: Literal["cost"]
    daily_budget: float = Field(gt=0)  # in the price table's currency


Objective = Annotated[Union[Availability, Latency, Quality, Cost], Field(discriminator="kind")]


class SloFile(_Strict):
    slos: Annotated[tuple[Objective, ...], Field(min_length=1)]
    alerts: tuple[BurnAlert, ...] = WORKBOOK_ALERTS

    @model_validator(mode="after")
    def _unique_names(self) -> "SloFile":
        names = [s.name for s in self.slos]
        if dup := next((n for n in names if names.count(n) > 1), None):
            raise ValueError(f"two SLOs are named {dup!r}")
        return self


def load_slos(path: str | Path) -> SloFile:
    return load_yaml_model(path, SloFile, what="SLO")[0]
