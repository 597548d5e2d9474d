"""Run the fault tests again and again, each time on a fresh seed, and tally the outcome.

    python tests/soak.py --runs 20            # the SIGKILL tests (`make soak RUNS=20`)
    python tests/soak.py --runs 5 -k broker   # another selection of tests/integration/test_faults.py

Each run is one pytest session (its own broker) with SALESPULSE_FAULT_SEED set to a new seed,
printed before the run, so a failing run can be repeated exactly as far as the data set and the
kill moments go. A failed run's worker logs are kept in .test-logs/ (see tests/integration/conftest.py).
The exit status is 0 only when every run passed.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIGKILL_TESTS = "sigkill_during_a_backlog or one_killed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="how many runs (default 20)")
    parser.add_argument("-k", dest="select", default=SIGKILL_TESTS,
                        help=f"which tests of test_faults.py, as pytest's -k (default: {SIGKILL_TESTS!r})")
    parser.add_argument("--seed", type=int, action="append", default=[],
                        help="run these seeds first (repeatable); fresh ones fill the rest")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    fresh = random.SystemRandom()
    seeds = (args.seed + [fresh.randrange(1, 1_000_000) for _ in range(args.runs)])[:max(args.runs, len(args.seed))]
    tally: list[tuple[int, bool, float, str]] = []
    for run, seed in enumerate(seeds, start=1):
        print(f"soak run {run}/{len(seeds)}: SALESPULSE_FAULT_SEED={seed}", flush=True)
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/integration/test_faults.py", "-k", args.select, "-q", "-p", "no:cacheprovider"],
            cwd=REPO, env={**os.environ, "SALESPULSE_FAULT_SEED": str(seed)}, capture_output=True, text=True,
        )
        took = time.monotonic() - started
        summary = _summary(done.stdout)
        passed = done.returncode == 0
        tally.append((seed, passed, took, summary))
        print(f"  {'passed' if passed else 'FAILED'} in {took:.0f} s: {summary}", flush=True)
        if not passed:
            print(done.stdout[-6000:], done.stderr[-2000:], sep="\n", flush=True)
    failed = [seed for seed, passed, _, _ in tally if not passed]
    durations = sorted(took for _, _, took, _ in tally)
    print(f"soak: {len(tally) - len(failed)} of {len(tally)} runs passed "
          f"(median {durations[len(durations) // 2]:.0f} s a run); seeds: {', '.join(str(s) for s, *_ in tally)}")
    if failed:
        print(f"soak: failed seeds: {', '.join(map(str, failed))}")
    return 1 if failed else 0


def _summary(stdout: str) -> str:
    """Return pytest's closing line, without its decoration."""
    lines = [line.strip("= ") for line in stdout.splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
    return lines[-1] if lines else "no summary (see the output above)"


if __name__ == "__main__":
    sys.exit(main())
