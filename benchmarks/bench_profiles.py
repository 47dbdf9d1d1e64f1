"""Run profiles at real timing: wall time of each --bview-profile against hand-started reference cameras
(`bview-sim --time-scale 1`, the kit with --bview-host ... --bview-time-scale 1), the network-configuration
writes, the device-imposed floor and wall/floor, and the CPU seconds of the kit and of the camera(s).

Run: python benchmarks/bench_profiles.py [--profile acceptance] [--cameras 1] [--scale 1] [--cache-dir DIR] [-- extra pytest args]
With --cameras N > 1 the cameras go in an inventory and the kit runs them on pytest-xdist (-n N).
Figures are printed, never asserted.

Floor: every network-configuration write after the first waits one settle window (5 s, spec 9.1), every
WiFi parameter test 30 s (9.1.8), every PTZ calibration 180 s (9.12.1), all times the scale; counted as in
bench_suite_efficiency.py. A run with none of them has no device-imposed floor (ratio n/a).
CPU: the kit is this process's reaped children (the pytest process and its xdist workers,
resource.getrusage); a camera is its bview-sim process (/proc/<pid>/stat utime + stime), read before
it stops.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, sim_process  # noqa: E402
from bench_suite_efficiency import CALIBRATION_S, SETTLE_S, WIFI_TEST_S, Counter  # noqa: E402

WRITES = re.compile(r"bview: network-configuration writes: (\d+)")
SLEPT = re.compile(r"settle waits: ([\d.]+) s slept")
RESTORED = re.compile(r"device state restored: (\d+)/(\d+)")
SUMMARY = re.compile(r"^=* ?(.*(?:passed|failed|error).*?) in [\d.]+s", re.M)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child(args: list[str]) -> None:
    """One pytest run in this process, with the wait counter; prints its output then one RESULT line."""
    import pytest

    counter = Counter()
    code = pytest.main(args, plugins=[counter])
    waits = {"network_writes": counter.network_writes, "wifi": counter.wifi_tests, "cal": counter.calibrations}
    print("RESULT " + json.dumps({"exit": int(code), **waits}), flush=True)


def restored(verdicts: str) -> list[str]:
    """N/N per verdict line (a verdict that is not "restored: N/M" shows as "?")."""
    return [("/".join(f.groups()) if (f := RESTORED.search(ln)) else "?") for ln in verdicts.splitlines()]


def inventory(path: Path, cameras: list[dict]) -> None:
    rows = ["label,host,http,rtsp,discovery"]
    rows += [f"cam{n},127.0.0.1,{c['http']},{c['rtsp']},{c['discovery']}" for n, c in enumerate(cameras, 1)]
    path.write_text("\n".join(rows) + "\n")


def run(profile: str, n: int, scale: float, extra: list[str], latency_ms: float = 0.0, cache: str = "") -> dict:
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bview-profiles-") as tmp:
        sims = [
            stack.enter_context(
                sim_process(
                    "--serial",
                    f"BV2BENCH{i:04d}",
                    "--mac",
                    f"02:00:5e:00:19:{i:02x}",
                    "--latency-ms",
                    str(latency_ms),
                    time_scale=scale,
                )  # fmt: skip
            )
            for i in range(1, n + 1)
        ]
        # no cache: the cold order (schedule.py guesses by marks and counts); --cache-dir: the order a build
        # server's repeated runs get (the last run's durations and writers)
        args = [str(ROOT / "suites"), "-q", *(["-o", f"cache_dir={cache}"] if cache else ["-p", "no:cacheprovider"])]
        args += ["--bview-profile", profile]
        args += ["--bview-time-scale", str(scale), "--bview-report-dir", str(Path(tmp) / "reports")]
        args += ["--bview-callback-host", "127.0.0.1"]
        if n == 1:
            ports = sims[0][1]
            args += ["--bview-host", "127.0.0.1", "--bview-port", str(ports["http"])]
            args += ["--bview-rtsp-port", str(ports["rtsp"]), "--bview-discovery-port", str(ports["discovery"])]
            args += ["--bview-ssdp-port", str(ports["ssdp"])]
        else:
            inventory(Path(tmp) / "cameras.csv", [p for _, p in sims])
            args += ["--bview-inventory", str(Path(tmp) / "cameras.csv"), "-n", str(n)]
        cam_before = [cpu_seconds(proc.pid) for proc, _ in sims]
        kit_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        # bytecode cached as on a user's machine (this sandbox sets PYTHONDONTWRITEBYTECODE: every run would
        # compile and assertion-rewrite ~200 modules again, 3-7 s of CPU per process)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        done = subprocess.run(
            [sys.executable, __file__, "--child", "--", *args, *extra],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        wall = time.perf_counter() - start
        kit_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cam = [cpu_seconds(proc.pid) - b for (proc, _), b in zip(sims, cam_before, strict=True)]
        # each camera's restore verdict, as its report recorded it (a fleet's workers print theirs out of sight)
        books = sorted((Path(tmp) / "reports").rglob("results.json"))
        verdicts = [v for b in books if (v := json.loads(b.read_text("utf-8")).get("restore"))]  # not fleet-*/
    out = done.stdout
    line = next((ln for ln in out.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        print(out[-3000:], done.stderr[-3000:])
        raise SystemExit("run failed")
    r = json.loads(line[7:])
    found = WRITES.search(out)
    writes = int(found.group(1)) if found else r["network_writes"]  # fleet runs: counted in the workers only
    floor = scale * (SETTLE_S * max(writes - 1, 0) + WIFI_TEST_S * r["wifi"] + CALIBRATION_S * r["cal"])
    summary = SUMMARY.search(out)
    slept = SLEPT.search(out)
    return {
        "slept": float(slept.group(1)) if slept else None,
        **r,
        "wall": wall,
        "writes": writes if found or n == 1 else None,
        "floor": floor,
        "kit_cpu": (kit_after.ru_utime + kit_after.ru_stime) - (kit_before.ru_utime + kit_before.ru_stime),
        "camera_cpu": cam,
        "restored": restored("\n".join(verdicts)),
        "summary": summary.group(1) if summary else "?",
        "failed": [ln for ln in out.splitlines() if ln.startswith("FAILED ")],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", action="append", choices=("acceptance", "regression", "certification"))
    p.add_argument("--cameras", type=int, default=1, help="reference cameras run at once (an inventory, -n N)")
    p.add_argument("--scale", type=float, default=1.0, help="time scale of cameras and kit (1 = real timing)")
    p.add_argument(
        "--latency-ms", type=float, default=0.0, help="each camera answers HTTP this late (a real camera: tens of ms)"
    )
    p.add_argument(
        "--cache-dir", default="", help="keep pytest's cache here between runs (the warm order); default: none"
    )
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("extra", nargs="*", help="more pytest arguments (after --)")
    args = p.parse_args()
    if args.child:
        child(args.extra)
        return
    print(
        f"machine: {machine()}; time scale {args.scale:g}; {args.cameras} camera(s); HTTP latency {args.latency_ms:g} ms; "
        f"order {'warm (cache ' + args.cache_dir + ')' if args.cache_dir else 'cold (no cache)'}",
        flush=True,
    )
    for profile in args.profile or ["acceptance"]:
        r = run(profile, args.cameras, args.scale, args.extra, args.latency_ms, args.cache_dir)
        ratio = f"{r['wall'] / r['floor']:.2f}" if r["floor"] else "n/a (no device-imposed wait)"
        cams = ", ".join(f"{c:.1f}" for c in r["camera_cpu"])
        print(f"profile {profile}: exit {r['exit']} ({r['summary']}), restore {', '.join(r['restored']) or '?'}")
        print(f"  wall time                     {r['wall']:.1f} s")
        print(f"  network-configuration writes  {r['writes'] if r['writes'] is not None else 'n/a (fleet)'}")
        print(f"  device-imposed floor          {r['floor']:.1f} s (WiFi tests {r['wifi']}, calibrations {r['cal']})")
        print(f"  wall / floor                  {ratio}")
        if r["slept"] is not None:
            print(
                f"  settle time slept             {r['slept']:.1f} s (the rest of the windows filled by other checks)"
            )
        print(f"  CPU kit                       {r['kit_cpu']:.1f} s")
        print(f"  CPU camera(s)                 {sum(r['camera_cpu']):.1f} s ({cams})", flush=True)
        for failed in r["failed"]:
            print(f"  {failed}")


if __name__ == "__main__":
    main()
