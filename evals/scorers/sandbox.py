"""Running a code answer against its tests without trusting it (08 §10.5): a separate interpreter in a
throwaway directory, with the operating system's limits on CPU time, memory, file size, open files and
processes, a wall-clock timeout after which its whole process group is killed, no environment but a
minimal one, and an audit hook (`sandbox_boot.py`) that refuses processes, sockets, native code and files
outside that directory. A fork bomb, an infinite loop, a memory or disk hog, a socket, a read of the
user's home or a write outside the directory fails the answer's test and harms nothing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

BOOT = Path(__file__).with_name("sandbox_boot.py")
OUTPUT_KEPT = 4000  # characters of the answer's stderr kept to explain a failure


@dataclass(frozen=True)
class Limits:
    cpu_s: int = 5
    memory_mb: int = 512
    file_mb: int = 4
    open_files: int = 64
    processes: int = 64  # the limit is per user (and root is exempt from it): the audit hook refuses forks
    wall_s: float = 10.0


@dataclass(frozen=True)
class SandboxResult:
    passed: bool
    exit_code: int | None  # negative: killed by that signal (SIGXCPU: the CPU limit; SIGKILL: the timeout)
    timed_out: bool
    stderr: str  # the end of it: the traceback of a failing test or a refused action


def run_tests(answer: str, tests: str, limits: Limits = Limits()) -> SandboxResult:
    """Run `answer` (Python source), then `tests` (statements that raise on a wrong answer) in its namespace."""
    folder = Path(tempfile.mkdtemp(prefix="goldgate-sandbox-"))
    try:
        (folder / "answer.py").write_text(answer, encoding="utf-8")
        (folder / "tests.py").write_text(tests, encoding="utf-8")
        with open(folder / ".stderr", "wb") as err:
            limits_env = (f"{limits.cpu_s},{limits.memory_mb << 20},{limits.file_mb << 20},{limits.open_files},"
                          f"{limits.processes}")
            proc = subprocess.Popen([sys.executable, "-I", "-B", "-c", BOOT.read_text(encoding="utf-8")],
                                    cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                    env={"HOME": str(folder), "TMPDIR": str(folder), "PATH": "/usr/bin:/bin",
                                         "LANG": "C.UTF-8", "GOLDGATE_SANDBOX_LIMITS": limits_env},
                                    start_new_session=True, close_fds=True)  # its own group: the timeout kills all
            timed_out = False
            try:
                proc.wait(timeout=limits.wall_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill_group(proc.pid)
                proc.wait()
        stderr = (folder / ".stderr").read_bytes()[-OUTPUT_KEPT:].decode("utf-8", "replace")
        return SandboxResult(proc.returncode == 0 and not timed_out, proc.returncode, timed_out, stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
