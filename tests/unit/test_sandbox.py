"""The code sandbox: right answers pass, wrong ones fail, and hostile ones (a fork bomb, an infinite loop,
a memory hog, a disk hog, a write outside the sandbox, a socket, a read of the user's home, native code,
raising its own limits, signalling its parent) each fail within their limits, leave no process behind
and write nothing outside; the `code_tests` scorer over it; pass@k from 20 samples equals the closed form."""

from __future__ import annotations

import socket
import tempfile
import time
from math import comb
from pathlib import Path

import pytest

from evals.golden.dataset import Expected
from evals.scorers import build_scorer
from evals.scorers.code_tests import answer_code
from evals.scorers.sandbox import Limits, run_tests
from evals.stats.power import pass_at_k

TESTS = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"
LIMITS = Limits(cpu_s=2, memory_mb=256, file_mb=1, wall_s=8)


def test_right_answers_pass_and_wrong_ones_fail() -> None:
    assert run_tests("def add(a, b):\n    return a + b\n", TESTS).passed
    wrong = run_tests("def add(a, b):\n    return a - b\n", TESTS)
    assert not wrong.passed and "AssertionError" in wrong.stderr
    assert not run_tests("def add(a, b) return", TESTS).passed  # not even Python
    assert run_tests("import json, re, collections, itertools, math\ndef add(a, b):\n    return math.fsum([a, b])\n",
                     TESTS).passed  # the standard library is there


@pytest.fixture
def planted(tmp_path: Path) -> dict[str, Path]:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".secret").write_text("s3cret")
    return {"outside": tmp_path / "outside.txt", "home": home / ".secret"}


def _hostile(planted: dict[str, Path], port: int) -> dict[str, tuple[str, str]]:
    """name -> (the answer, what stops it)."""
    return {
        "fork bomb": ("import os\nwhile True:\n    os.fork()\n", "os.fork is not allowed"),
        "shell fork bomb": ("import subprocess\nsubprocess.run(['sh', '-c', ':(){ :|:& };:'])\n", "not allowed"),
        "infinite loop": ("while True:\n    pass\n", ""),
        "memory hog": ("hog = bytearray(4 << 30)\n", "MemoryError"),
        "disk hog": ("open('big', 'wb').write(b'x' * (64 << 20))\n", "File too large"),
        "write outside": (f"open({str(planted['outside'])!r}, 'w').write('pwned')\n", "is not allowed"),
        "socket": (f"import socket\nsocket.create_connection(('127.0.0.1', {port}))\n", "is not allowed"),
        "read the home": (f"print(open({str(planted['home'])!r}).read())\n", "is not allowed"),
        "native code": ("import ctypes\nctypes.CDLL(None).system(b'touch /tmp/pwned')\n", "import ctypes is not allowed"),
        "raise its limits": ("import resource\nresource.setrlimit(resource.RLIMIT_CPU, (10**6, 10**6))\n",
                             "import resource is not allowed"),
        "kill its parent": ("import os\nos.kill(os.getppid(), 9)\n", "os.kill is not allowed"),
    }


def test_hostile_answers_fail_within_their_limits_and_harm_nothing(planted: dict[str, Path]) -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # something to connect to, which must never be reached
    listener.settimeout(0)
    for name, (answer, stopped_by) in _hostile(planted, listener.getsockname()[1]).items():
        start = time.monotonic()
        r = run_tests(answer + "\ndef add(a, b):\n    return a + b\n", TESTS, LIMITS)
        took = time.monotonic() - start
        assert not r.passed, name
        assert stopped_by in r.stderr, (name, r.stderr)
        assert took < LIMITS.wall_s + 2, (name, took)
        if name == "infinite loop":
            assert r.exit_code is not None and r.exit_code < 0  # killed at its CPU limit
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected
    listener.close()
    assert not planted["outside"].exists() and not Path("/tmp/pwned").exists()
    assert planted["home"].read_text() == "s3cret"


def test_nothing_outlives_the_sandbox(tmp_path: Path) -> None:
    """A child that would sleep on past the timeout is killed with its whole process group."""
    r = run_tests("import os, sys, time\nprint('pid', os.getpid(), file=sys.stderr, flush=True)\ntime.sleep(60)\n", "",
                  Limits(wall_s=1))
    assert r.timed_out and not r.passed and r.exit_code == -9
    pid = int(r.stderr.split()[1])
    assert not Path(f"/proc/{pid}").exists()
    assert not list(Path(tempfile.gettempdir()).glob("goldgate-sandbox-*"))  # the folder went with it


def test_the_code_tests_scorer_reads_the_answers_code_block() -> None:
    scorer = build_scorer("code_tests", {"cpu_s": 2})
    expected = Expected(tests=TESTS)
    assert scorer.applies(expected) and not scorer.applies(Expected(answer="x"))
    assert scorer("Here:\n```python\ndef add(a, b):\n    return a + b\n```\nDone.", expected).value == 1.0
    failed = scorer("```python\ndef add(a, b):\n    return a * b\n```", expected)
    assert failed.value == 0.0 and "AssertionError" in failed.explanation
    assert answer_code("def f(): pass") == "def f(): pass"


def test_pass_at_k_from_20_samples_equals_the_closed_form() -> None:
    """20 sampled answers, 7 of them right: pass@k = 1 - C(13, k) / C(20, k)."""
    answers = ["def add(a, b):\n    return a + b\n"] * 7 + ["def add(a, b):\n    return a * b\n"] * 13
    correct = sum(run_tests(a, TESTS, LIMITS).passed for a in answers)
    assert correct == 7
    for k in (1, 5, 10):
        assert pass_at_k(20, correct, k) == pytest.approx(1 - comb(13, k) / comb(20, k))
