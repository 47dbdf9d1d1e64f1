"""Fleet scaling: 1, 4 and 16 built-in cameras with -n 1/4/16 (pytest-xdist, one group per camera):
wall time relative to one camera (goal: at most 1.5 at 16).

Run: python benchmarks/bench_fleet_scaling.py [--counts 1,4,16] [--runs 3] [--suites PATH ...]
Default suites: the REST suites (no RTSP/H.264 encoding, no discovery), so that a run on a small
machine ends in minutes; `--suites suites` takes them all. Every camera and every worker shares the
machine's cores: on 2 cores, 16 cameras cannot run in the time of one; the ratio then shows how the
work grows, not an xdist limit.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, median  # noqa: E402

REST = [
    "suites/test_config.py",
    "suites/test_protocol.py",
    "suites/test_users.py",
    "suites/test_schema.py",
    "suites/test_logging.py",
    "suites/test_network.py",
    "suites/test_ptz.py",
]


def run(count: int, suites: list[str]) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as reports:
        cmd = [sys.executable, "-m", "pytest", *suites, "-q", "-p", "no:cacheprovider", "-n", str(count)]
        cmd += ["--bview-sim-count", str(count), "--bview-report-dir", reports, "-W", "ignore"]
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
    last = [ln for ln in done.stdout.splitlines() if re.search(r"\d+ (passed|failed)", ln)]
    return wall, (last[-1].strip("= ") if last else f"exit {done.returncode}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--counts", default="1,4,16")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--suites", nargs="+", default=REST)
    args = p.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    walls: dict[int, list[float]] = {c: [] for c in counts}
    for n in range(args.runs):
        for c in counts:
            wall, outcome = run(c, args.suites)
            walls[c].append(wall)
            print(f"run {n + 1}: {c:>2} cameras, -n {c:<2}: {wall:6.1f} s  ({outcome})", flush=True)
    print(f"machine: {machine()}; suites: {' '.join(args.suites)}")
    base = median(walls[counts[0]])
    print(f"medians of {args.runs} runs:")
    for c in counts:
        m = median(walls[c])
        print(f"  {c:>2} cameras: {m:6.1f} s, {m / base:5.2f} x one camera, {m / base / c:5.2f} x per camera")
    print("goal: <= 1.5 x one camera at 16")


if __name__ == "__main__":
    main()
