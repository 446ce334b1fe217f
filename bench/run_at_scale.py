"""A large run: 100,000 planted questions through `goldgate run` against the planted endpoint (its own
process), two checks each, with every result, score and span stored. Prints the wall time, questions per
second and the run's peak resident memory, and last that peak as a share of the 2 GiB budget (target:
under 1). The pass counts must be the planted ones.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness_overhead import goldgate  # noqa: E402
from planted_endpoint import expected_passes  # noqa: E402

BUDGET_MIB = 2048


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=int, default=100_000)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    endpoint = subprocess.Popen([sys.executable, Path(__file__).parent / "planted_endpoint.py"],
                                stdout=subprocess.PIPE, text=True)
    try:
        url = endpoint.stdout.readline().strip()
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
            start = time.perf_counter()
            passes = goldgate(Path(tmp), url, args.questions, args.concurrency)
            seconds = time.perf_counter() - start
            stored_mib = (Path(tmp) / "goldgate.duckdb").stat().st_size / 2**20
    finally:
        endpoint.terminate()
        endpoint.wait()
    if passes != expected_passes(args.questions):
        raise SystemExit(f"wrong pass counts {passes}; planted: {expected_passes(args.questions)}")
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child: goldgate
    print(f"{args.questions} questions in {seconds:.1f} s ({args.questions / seconds:.0f}/s), store {stored_mib:.0f} MiB, "
          f"pass counts as planted")
    print(f"peak RSS {peak_mib:.0f} MiB of the {BUDGET_MIB} MiB budget: {peak_mib / BUDGET_MIB:.2f}")


if __name__ == "__main__":
    main()
