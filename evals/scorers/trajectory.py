"""Trajectory scorers for agents (08 §2.4, §10.4): the tool calls an answer made, read from its
`<tool_call>` blocks (engine.tool_calls; the backends write an endpoint's `tool_calls` that way too),
against `expected.tool_calls`. An expected call matches a made one of the same function whose arguments
equal the expected arguments, or any arguments where the example leaves them out.

- `tool_calls_exact`: exactly the expected calls, in order, nothing else;
- `tool_calls_in_order`: the expected calls in order, other calls between them allowed;
- `tool_calls_any_order`: every expected call made, in any order;
- `tool_call_arguments`: how many of the expected arguments the calls got right, each expected call
  paired with the next unpaired call of its function (partial credit for the right tool, wrong values).
"""

from __future__ import annotations

from typing import Sequence

from engine.tool_calls import Call, read_calls
from evals.golden.dataset import Expected, ExpectedCall
from evals.scorers.base import Score, Scorer, binary


def matches(made: Call, want: ExpectedCall) -> bool:
    return made.name == want.name and (want.arguments is None or made.arguments == want.arguments)


def _names(calls: Sequence[Call | ExpectedCall]) -> str:
    return ", ".join(c.name for c in calls) or "none"


class _Trajectory(Scorer):
    def applies(self, expected: Expected) -> bool:
        return expected.tool_calls is not None

    def __call__(self, output: str, expected: Expected) -> Score:
        made = read_calls(output)[1]
        return self.compare(made, expected.tool_calls)

    def compare(self, made: list[Call], want: tuple[ExpectedCall, ...]) -> Score:
        raise NotImplementedError


class ToolCallsExact(_Trajectory):
    name = "tool_calls_exact"

    def compare(self, made: list[Call], want: tuple[ExpectedCall, ...]) -> Score:
        same = len(made) == len(want) and all(matches(m, w) for m, w in zip(made, want))
        return binary(same, f"made exactly the expected calls ({_names(want)})",
                      f"made {_names(made)}; expected exactly {_names(want)}")


class ToolCallsInOrder(_Trajectory):
    name = "tool_calls_in_order"

    def compare(self, made: list[Call], want: tuple[ExpectedCall, ...]) -> Score:
        calls = iter(made)  # the earliest match for each expected call in turn: a subsequence, if there is one
        found = sum(any(matches(m, w) for m in calls) for w in want)
        return binary(found == len(want), f"made the expected calls in order among {len(made)}",
                      f"made {_names(made)}; {found} of {len(want)} expected calls came in order")


class ToolCallsAnyOrder(_Trajectory):
    name = "tool_calls_any_order"

    def compare(self, made: list[Call], want: tuple[ExpectedCall, ...]) -> Score:
        left = list(made)
        missing = []
        for w in sorted(want, key=lambda w: w.arguments is None):  # exact ones first: a wildcard takes any left
            hit = next((m for m in left if matches(m, w)), None)
            if hit is None:
                missing.append(w)
            else:
                left.remove(hit)
        return binary(not missing, f"made every expected call ({_names(want)})",
                      f"made {_names(made)}; missing {_names(missing)}")


class ToolCallArguments(_Trajectory):
    name = "tool_call_arguments"

    def applies(self, expected: Expected) -> bool:
        return expected.tool_calls is not None and any(w.arguments for w in expected.tool_calls)

    def compare(self, made: list[Call], want: tuple[ExpectedCall, ...]) -> Score:
        left, right, total = list(made), 0, 0
        for w in want:
            if not w.arguments:
                continue
            total += len(w.arguments)
            call = next((m for m in left if m.name == w.name), None)
            if call is not None:
                left.remove(call)
                right += sum(call.arguments.get(k, object()) == v for k, v in w.arguments.items())
        return Score(right / total, f"{right} of {total} expected arguments right")
