"""A long fuzz campaign against the reference camera: HTTP, RTSP and discovery inputs
(pytest_bview/testing/fuzzing.py; tests/test_fuzz_camera.py runs a bounded one).

Run: python benchmarks/fuzz_camera.py [--examples 3000] [--seed N]
Prints examples/s per surface and every finding (an input and what was wrong with the answer);
the campaign goes on after a finding. Never asserts on times (machines differ); exits 1 on findings.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from pytest_bview.simulator.camera import CameraThread
from pytest_bview.testing.fuzzing import Oracle, discovery_datagrams, http_requests, rtsp_requests


def campaign(oracle: Oracle, name: str, strategy: st.SearchStrategy[bytes], examples: int, rng: int) -> float:
    """Run `examples` inputs of one surface; return examples/s. Findings collect in `oracle.findings`."""
    judge = getattr(oracle, name)

    @seed(rng)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(raw: bytes) -> None:
        judge(raw)  # records a finding instead of failing: the campaign goes on

    start = time.monotonic()
    run()
    return oracle.counts.get(name, 0) / (time.monotonic() - start)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--examples", type=int, default=3000, help="examples per surface (default 3000)")
    p.add_argument("--seed", type=int, default=int(time.time()), help="Hypothesis seed (default: the clock)")
    args = p.parse_args(argv)
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # it logs every 400 it sends, with a traceback
    with CameraThread(time_scale=0.01, ssdp_port=0, discovery_port=0) as cam:
        oracle = Oracle(cam)
        before = oracle.survey()
        print(f"fuzz_camera: seed {args.seed}, {args.examples} examples per surface")
        for name, strategy in (
            ("http", http_requests()),
            ("rtsp", rtsp_requests()),
            ("discovery", discovery_datagrams()),
        ):
            if name == "rtsp" and not cam.ports.get("rtsp"):
                print("  rtsp: no RTSP server built; skipped")
                continue
            rate = campaign(oracle, name, strategy, args.examples, args.seed)
            print(f"  {name:<9} {oracle.counts.get(name, 0):>6} examples  {rate:8.1f} examples/s")
        after = oracle.survey()
    changed = {url: (before[url], now) for url, now in after.items() if before.get(url) != now}
    for url, (was, now) in changed.items():
        print(f"  state: GET {url} answered {was!r} before the campaign, {now!r} after")
    unique = {(f.surface, f.problem.split(" (")[0]): f for f in oracle.findings}
    print(f"findings: {len(oracle.findings)} ({len(unique)} distinct), state changes: {len(changed)}")
    for finding in unique.values():
        print(f"- {finding}")
    return 1 if oracle.findings or changed else 0


if __name__ == "__main__":
    sys.exit(main())
