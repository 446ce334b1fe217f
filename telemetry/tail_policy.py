"""A tail-sampling policy in the OpenTelemetry Collector's `tail_sampling` shape, so one file drives
goldgate's own sampler and a team's Collector alike: a trace is kept when any policy keeps it. goldgate
applies the Collector's common policy types; what the Collector has no equivalent for (a slow tail judged
against the recent traces' percentile, content kept at its own rate) sits under `goldgate:`, which
`collector_block` leaves out."""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal, Sequence

from opentelemetry.sdk.trace import ReadableSpan
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

POLICY_TYPES = ("always_sample", "latency", "status_code", "string_attribute", "numeric_attribute",
                "boolean_attribute", "probabilistic", "ottl_condition")
_GO_DURATION = re.compile(r"(?:([0-9]+(?:\.[0-9]+)?)(ms|s|m|h))+")
_GO_UNITS = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_CONDITION = re.compile(r'attributes\["([^"]+)"\]\s*(==|!=|>=|<=|>|<)\s*(.+)')


def go_duration_s(value: str) -> float:
    """Seconds of a Go duration as the Collector writes them ('30s', '1m30s', '500ms')."""
    if not _GO_DURATION.fullmatch(value.strip()):
        raise ValueError(f"a duration such as 30s, 1m30s or 500ms; got {value!r}")
    return sum(float(n) * _GO_UNITS[u] for n, u in re.findall(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)", value))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Latency(_Strict):
    threshold_ms: int = Field(ge=0)
    upper_threshold_ms: int | None = Field(default=None, ge=0)


class StatusCode(_Strict):
    status_codes: list[Literal["OK", "ERROR", "UNSET"]] = Field(min_length=1)


class StringAttribute(_Strict):
    key: str = Field(min_length=1)
    values: list[str] = Field(min_length=1)
    enabled_regex_matching: bool = False

    @model_validator(mode="after")
    def _patterns_compile(self) -> "StringAttribute":
        if self.enabled_regex_matching:
            for value in self.values:
                try:
                    re.compile(value)
                except re.error as e:
                    raise ValueError(f"values: {value!r} is not a regular expression: {e}") from None
        return self


class NumericAttribute(_Strict):
    """The Collector compares integer attributes only; a float one (a cost) takes an `ottl_condition`."""

    key: str = Field(min_length=1)
    min_value: int | None = None
    max_value: int | None = None


class BooleanAttribute(_Strict):
    key: str = Field(min_length=1)
    value: bool


class Probabilistic(_Strict):
    sampling_percentage: float = Field(ge=0, le=100)
    hash_salt: str = ""


class OttlCondition(_Strict):
    """OTTL span conditions, of which goldgate evaluates the comparisons `attributes["KEY"] OP VALUE`."""

    error_mode: Literal["ignore", "silent", "propagate"] = "propagate"
    span: list[str] = Field(min_length=1)

    @field_validator("span")
    @classmethod
    def _comparisons_only(cls, conditions: list[str]) -> list[str]:
        for condition in conditions:
            parse_condition(condition)
        return conditions


class Policy(_Strict):
    name: str = Field(min_length=1)
    type: Literal[POLICY_TYPES]  # type: ignore[valid-type]
    latency: Latency | None = None
    status_code: StatusCode | None = None
    string_attribute: StringAttribute | None = None
    numeric_attribute: NumericAttribute | None = None
    boolean_attribute: BooleanAttribute | None = None
    probabilistic: Probabilistic | None = None
    ottl_condition: OttlCondition | None = None

    @model_validator(mode="after")
    def _settings_of_its_type(self) -> "Policy":
        given = [t for t in POLICY_TYPES if t != "always_sample" and getattr(self, t) is not None]
        wanted = [] if self.type == "always_sample" else [self.type]
        if given != wanted:
            raise ValueError(f"a {self.type} policy takes {'no settings' if not wanted else f'a {self.type}: mapping'}"
                             f"{f', not {given}' if set(given) - set(wanted) else ''}")
        return self

    def keeps(self, spans: Sequence[ReadableSpan], trace_id: int) -> bool:
        """Whether this policy alone samples the trace of `spans`."""
        if self.type == "always_sample":
            return True
        if self.type == "probabilistic":
            return probabilistic_draw(trace_id, self.probabilistic.hash_salt) < self.probabilistic.sampling_percentage / 100
        if self.type == "latency":
            ms = trace_duration_s(spans) * 1000
            upper = self.latency.upper_threshold_ms
            return ms >= self.latency.threshold_ms and (upper is None or ms <= upper)
        return any(self._span_matches(s) for s in spans)

    def _span_matches(self, span: ReadableSpan) -> bool:
        attrs = span.attributes or {}
        if self.type == "status_code":
            return span.status.status_code.name in self.status_code.status_codes
        if self.type == "string_attribute":
            value, wanted = attrs.get(self.string_attribute.key), self.string_attribute
            if not isinstance(value, str):
                return False
            return any(re.search(v, value) for v in wanted.values) if wanted.enabled_regex_matching \
                else value in wanted.values
        if self.type == "numeric_attribute":
            value, bounds = attrs.get(self.numeric_attribute.key), self.numeric_attribute
            return isinstance(value, int) and not isinstance(value, bool) and \
                (bounds.min_value is None or value >= bounds.min_value) and \
                (bounds.max_value is None or value <= bounds.max_value)
        if self.type == "boolean_attribute":
            return attrs.get(self.boolean_attribute.key) is self.boolean_attribute.value
        return any(_holds(parse_condition(c), attrs) for c in self.ottl_condition.span)


class SlowTail(_Strict):
    """Keep a trace slower than `percentile` of the last `window` traces' durations (once `min_traces`
    have been seen): the slow tail, wherever latency happens to sit today."""

    percentile: float = Field(default=95, gt=0, lt=100)
    window: int = Field(default=1000, ge=10)
    min_traces: int = Field(default=100, ge=1)


class GoldgateExtras(_Strict):
    slow_tail: SlowTail | None = None
    content_sampling_percentage: float = Field(default=100, ge=0, le=100)  # of kept traces; the rest lose content
    content_hash_salt: str = "content"


class SamplingPolicy(_Strict):
    decision_wait: str = "30s"  # how long a trace whose root never ends here is held before it is decided
    num_traces: int = Field(default=50000, ge=1)  # traces held at once; beyond, the oldest is decided early
    expected_new_traces_per_sec: int = Field(default=0, ge=0)  # the Collector's sizing hint; unused here
    policies: list[Policy] = Field(min_length=1)
    goldgate: GoldgateExtras = GoldgateExtras()

    @field_validator("decision_wait")
    @classmethod
    def _is_duration(cls, value: str) -> str:
        go_duration_s(value)
        return value

    @model_validator(mode="after")
    def _names_unique(self) -> "SamplingPolicy":
        names = [p.name for p in self.policies]
        if len(set(names)) != len(names):
            raise ValueError(f"policy names must be unique; {sorted({n for n in names if names.count(n) > 1})} repeat")
        if sum(p.type == "probabilistic" for p in self.policies) > 1:
            raise ValueError("one probabilistic policy at most: it is the baseline rate a kept trace is weighted by")
        return self

    @property
    def decision_wait_s(self) -> float:
        return go_duration_s(self.decision_wait)

    def collector_block(self) -> dict[str, Any]:
        """The Collector's `processors.tail_sampling` for this policy: everything but `goldgate:`."""
        return self.model_dump(exclude={"goldgate"}, exclude_none=True, exclude_defaults=False)


def probabilistic_draw(trace_id: int, salt: str) -> float:
    """A uniform number in [0, 1) fixed by the trace id: every process with the same salt decides a trace
    alike, so a trace cut across services is kept or dropped whole."""
    digest = hashlib.blake2b(trace_id.to_bytes(16, "big"), key=salt.encode()[:64], digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def trace_duration_s(spans: Sequence[ReadableSpan]) -> float:
    """From the earliest start to the latest end, as the Collector measures a trace."""
    return (max(s.end_time or 0 for s in spans) - min(s.start_time or 0 for s in spans)) / 1e9


def parse_condition(condition: str) -> tuple[str, str, Any]:
    m = _CONDITION.fullmatch(condition.strip())
    value = _literal(m[3].strip()) if m else None
    if value is None:
        raise ValueError(f'goldgate evaluates conditions of the form attributes["KEY"] OP VALUE (OP one of '
                         f'==, !=, >, >=, <, <=; VALUE a number, a quoted string, true or false); got {condition!r}')
    return m[1], m[2], value[0]


def _literal(text: str) -> tuple[Any] | None:
    if text in ("true", "false"):
        return (text == "true",)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return (text[1:-1],)
    try:
        return (int(text),) if re.fullmatch(r"-?[0-9]+", text) else (float(text),)
    except ValueError:
        return None


def _holds(condition: tuple[str, str, Any], attrs: Any) -> bool:
    key, op, wanted = condition
    value = attrs.get(key)
    if value is None:
        return op == "!="
    try:
        return {"==": value == wanted, "!=": value != wanted}[op] if op in ("==", "!=") else \
            {">": value > wanted, ">=": value >= wanted, "<": value < wanted, "<=": value <= wanted}[op]
    except TypeError:  # a string compared with a number: OTTL's comparison is false, not an error
        return False
