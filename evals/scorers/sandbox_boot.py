"""The first code a sandboxed answer's interpreter runs (as `python -I -B -c`, never imported): it reads
the answer and its tests from the throwaway directory it starts in, sets the operating system's limits
the parent chose (CPU time, memory, file size, open files, processes; hard as well as soft), then
installs an audit hook (PEP 578),
which no later code can remove, that refuses what an answer must not do: start a process, open a socket,
load native code, or touch a file outside that directory (reading Python's own standard library aside).
The limits stop what no hook sees (a loop, a memory hog); the hook is the layer that sees intent."""

import os
import sys
import sysconfig
import traceback

ROOT = os.path.realpath(os.getcwd())
READABLE = tuple({os.path.realpath(p) for p in (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])})
REFUSED_EVENTS = ("os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec", "os.system", "os.kill",
                  "os.killpg", "subprocess.Popen", "pty.spawn", "socket.__new__", "socket.connect", "socket.bind",
                  "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "ctypes.call_function", "mmap.__new__")
REFUSED_MODULES = ("ctypes", "_ctypes", "_posixsubprocess", "_socket", "socket", "multiprocessing", "_multiprocessing",
                   "resource", "signal", "faulthandler")
CHANGING = ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.symlink", "os.link",
            "os.truncate", "os.utime", "shutil.rmtree", "shutil.copyfile", "shutil.move", "os.chdir")
LISTING = ("os.listdir", "os.scandir")  # the import system lists the standard library's folders
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _inside(path, roots):
    real = os.path.realpath(os.fsdecode(path))
    return any(real == r or real.startswith(r + os.sep) for r in roots)


def _hook(event, args):
    if event in REFUSED_EVENTS:
        raise PermissionError(f"sandbox: {event} is not allowed")
    if event == "import" and args[0].split(".")[0] in REFUSED_MODULES:
        raise PermissionError(f"sandbox: import {args[0]} is not allowed")
    if event == "open":
        path, mode, flags = args
        if isinstance(path, int):
            return
        writing = bool(mode and any(c in mode for c in "wax+")) or bool(flags & WRITE_FLAGS)
        if not _inside(path, (ROOT,) if writing else (ROOT, *READABLE)):
            raise PermissionError(f"sandbox: {'writing' if writing else 'reading'} {os.fsdecode(path)} is not allowed")
    elif event in CHANGING or event in LISTING:
        roots = (ROOT,) if event in CHANGING else (ROOT, *READABLE)
        for path in args:
            if isinstance(path, (str, bytes, os.PathLike)) and not _inside(path, roots):
                raise PermissionError(f"sandbox: {event} on {os.fsdecode(path)} is not allowed")


LIMITS = "GOLDGATE_SANDBOX_LIMITS"  # "cpu_s,memory_bytes,file_bytes,open_files,processes"


def _limit():
    import resource

    cpu, memory, size, files, processes = (int(v) for v in os.environ.pop(LIMITS).split(","))
    for which, value in ((resource.RLIMIT_CPU, cpu), (resource.RLIMIT_AS, memory), (resource.RLIMIT_FSIZE, size),
                         (resource.RLIMIT_NOFILE, files), (resource.RLIMIT_NPROC, processes), (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(which, (value, value))
    del sys.modules["resource"]  # so that importing it again is an import the hook sees, and refuses


def main():
    _limit()
    with open("answer.py", encoding="utf-8") as f:
        answer = f.read()
    with open("tests.py", encoding="utf-8") as f:
        tests = f.read()
    sys.addaudithook(_hook)
    namespace = {"__name__": "__sandbox__"}
    try:
        exec(compile(answer, "answer.py", "exec"), namespace)
        exec(compile(tests, "tests.py", "exec"), namespace)
    except BaseException:  # noqa: BLE001 - anything the answer raises, SystemExit included, fails it
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    os._exit(0)


if __name__ == "__main__":
    main()
