"""Start-up of `goldgate gate --help`, a command that runs no model and so imports no torch, beside the
floor (`python -c pass`), `goldgate generate --help`, and `goldgate generate` up to its first error
(torch loaded: what every command paid before the CLI's imports were made lazy). Medians of fresh
processes, interleaved so a noisy neighbour slows all alike; the ratio gate / python is printed last."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOLDGATE = str(Path(sys.executable).with_name("goldgate"))
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "goldgate gate --help": [GOLDGATE, "gate", "--help"],
    "goldgate generate --help": [GOLDGATE, "generate", "--help"],
    "goldgate generate (to its first error, torch loaded)": [GOLDGATE, "generate", "hi", "--model", "missing.gguf"],
}


def wall_s(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for name, command in COMMANDS.items():  # warm the file cache once
        wall_s(command)
    for _ in range(args.rounds):
        for name, command in COMMANDS.items():
            times[name].append(wall_s(command))
    median = {name: statistics.median(t) for name, t in times.items()}
    for name, t in median.items():
        print(f"{name:55s} {t * 1000:8.0f} ms  (median of {args.rounds})")
    print(f"goldgate gate --help / python -c pass: {median['goldgate gate --help'] / median['python -c pass']:.2f}")


if __name__ == "__main__":
    main()
