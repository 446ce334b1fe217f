"""The answer's code passes the example's tests, run in the sandbox (08 §10.5). The code is the answer's
first ```python block, or the whole answer when it has none. With n answers per example (epochs), the
report's pass@k is the unbiased estimator over them."""

from __future__ import annotations

import re

from pydantic import Field

from evals.golden.dataset import Expected
from evals.scorers.base import Score, Scorer, binary
from evals.scorers.sandbox import Limits, run_tests

_FENCE = re.compile(r"```(?:python|py)?[^\n]*\n(.*?)```", re.DOTALL)


def answer_code(output: str) -> str:
    fenced = _FENCE.search(output)
    return fenced.group(1) if fenced else output


class CodeTests(Scorer):
    name = "code_tests"
    cpu_s: int = Field(default=5, ge=1)
    memory_mb: int = Field(default=512, ge=64)
    wall_s: float = Field(default=10.0, gt=0)

    def applies(self, expected: Expected) -> bool:
        return expected.tests is not None

    def __call__(self, output: str, expected: Expected) -> Score:
        r = run_tests(answer_code(output), expected.tests or "",
                      Limits(cpu_s=self.cpu_s, memory_mb=self.memory_mb, wall_s=self.wall_s))
        why = "timed out" if r.timed_out else (r.stderr.strip().splitlines() or [f"exit {r.exit_code}"])[-1]
        return binary(r.passed, "passed its tests", f"failed its tests: {why}")
