"""Suite efficiency: wall time of a full reversible run against the built-in camera divided by the sum
of the waits the device imposes (network settle, WiFi test, calibration); and the number of
network-configuration writes the run needs (goal: ratio <= 1.15; fewer writes is better).

Run: python benchmarks/bench_suite_efficiency.py [--scale 1] [--runs 1] [-- extra pytest args]
At --scale 1 (real timing) one run takes minutes. Each run is its own process; the figures are printed,
never asserted.

Imposed waits are counted from the requests the run makes: every network-configuration write after the
first costs one settle window (5 s, spec 9.1), every WiFi parameter test 30 s (9.1.8), every PTZ
calibration (preset 85) 180 s (9.12.1), all times the scale.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, median  # noqa: E402

from pytest_bview.spec.facts import CALIBRATION_MIN_S, NETWORK_SETTLE_S, WIFI_TEST_S  # noqa: E402

SETTLE_S, CALIBRATION_S = NETWORK_SETTLE_S, CALIBRATION_MIN_S  # spec/facts.py


class Counter:
    """A pytest plugin object counting the requests that make the device impose a wait."""

    def __init__(self) -> None:
        self.network_writes = 0
        self.wifi_tests = 0
        self.calibrations = 0
        self.failed: list[str] = []

    def pytest_runtest_logreport(self, report: object) -> None:
        if getattr(report, "failed", False):
            self.failed.append(getattr(report, "nodeid", "?"))

    def pytest_configure(self, config: object) -> None:
        from pytest_bview.checks import status_code
        from pytest_bview.client import Client
        from pytest_bview.spec.resources import match

        original = Client.request
        me = self

        def request(client, method, path, body=None, **kw):  # type: ignore[no-untyped-def]
            ex = original(client, method, path, body, **kw)
            found = match(path.split("?", 1)[0])
            if method == "PUT" and found is not None:
                if found[0].has("network") and kw.get("pace", True):
                    me.network_writes += 1
                # a device wait only when the device started it: not an unauthenticated or refused PUT (seen:
                # test_auth_required's 401 on WifiParamTest counted as a third 30 s WiFi test)
                started = ex.status == 200 and status_code(ex) == 0
                if found[0].template == "/Network/WifiParamTest" and started:
                    me.wifi_tests += 1
                text = body.decode() if isinstance(body, bytes) else str(body or "")
                if found[0].template.endswith("/Presets/Goto") and "Param1=85" in text and started:
                    me.calibrations += 1
            return ex

        Client.request = request  # type: ignore[method-assign]


def child(scale: float, extra: list[str]) -> None:
    import pytest

    counter = Counter()
    with tempfile.TemporaryDirectory() as reports:
        args = [str(ROOT / "suites"), "-q", "-p", "no:cacheprovider", "--bview-level", "reversible"]
        args += ["--bview-time-scale", str(scale), "--bview-report-dir", reports, *extra]
        start = time.perf_counter()
        code = pytest.main(args, plugins=[counter])
        wall = time.perf_counter() - start
    waits = scale * (
        SETTLE_S * max(counter.network_writes - 1, 0)
        + WIFI_TEST_S * counter.wifi_tests
        + CALIBRATION_S * counter.calibrations
    )
    print(
        "RESULT "
        + json.dumps(
            {
                "exit": int(code),
                "wall": wall,
                "waits": waits,
                "network_writes": counter.network_writes,
                "wifi_tests": counter.wifi_tests,
                "calibrations": counter.calibrations,
                "failed": counter.failed,
            }
        )
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0, help="--bview-time-scale of the run (1 = real timing)")
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("extra", nargs="*", help="more pytest arguments (after --)")
    args = p.parse_args()
    if args.child:
        child(args.scale, args.extra)
        return
    results = []
    for n in range(args.runs):
        cmd = [sys.executable, __file__, "--child", "--scale", str(args.scale), "--", *args.extra]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
        line = next((ln for ln in out.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            print(out[-3000:])
            raise SystemExit("run failed")
        r = json.loads(line[7:])
        results.append(r)
        ratio = r["wall"] / r["waits"] if r["waits"] else float("inf")
        print(
            f"run {n + 1}: exit {r['exit']}, wall {r['wall']:.1f} s, imposed waits {r['waits']:.1f} s "
            f"(network writes {r['network_writes']}, WiFi tests {r['wifi_tests']}, calibrations "
            f"{r['calibrations']}), wall/waits {ratio:.2f}",
            flush=True,
        )
        for nodeid in r["failed"]:
            print(f"  failed: {nodeid}")
    wall = median([r["wall"] for r in results])
    waits = median([r["waits"] for r in results])
    print(f"machine: {machine()}")
    print(f"time scale {args.scale:g}, {len(results)} run(s), medians:")
    print(f"  wall time                     {wall:.1f} s")
    print(f"  device-imposed waits          {waits:.1f} s")
    print(f"  wall / waits                  {wall / waits if waits else float('inf'):.2f}   (goal <= 1.15)")
    print(f"  work beyond the waits         {wall - waits:.1f} s")
    print(f"  network-configuration writes  {median([r['network_writes'] for r in results]):g}")


if __name__ == "__main__":
    main()
