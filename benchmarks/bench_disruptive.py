"""Disruptive operations: how long the reference camera takes to come back from a reboot, a factory default
and a firmware upgrade, and to format its disk, measured by the disruptive suite itself.

Run: python benchmarks/bench_disruptive.py [--scale 1] [--runs 1] [-- extra pytest args]
At --scale 1 (real timing) one run takes several minutes (20 s boot, 60 s flash, 30 s format, each a
restart). Each run starts its own `bview-sim` process (fresh state) at --time-scale SCALE, builds a
firmware package with `bview-sim make-firmware` and runs

    pytest suites/test_disruptive.py -k "test_reboot or test_firmware_upgrade or test_factory_default
    or test_format" --bview-level disruptive --bview-host 127.0.0.1 --bview-port HTTP --bview-rtsp-port RTSP
    --bview-firmware PKG --bview-time-scale SCALE --junitxml ...

against it. The figures are what the suite records (`record_property`: seconds from the request until
DeviceInfo answers again, until the disk reports formatted) and prints (RTSP DESCRIBE answering again),
read back from the junit xml. Device-imposed = the simulator's own durations (simulator/maintenance.py:
BOOT_S, FLASH_S + BOOT_S, FORMAT_S) times the scale; overhead = measured - imposed (the camera's
answer-first delay, the suite's polling interval: 0.5 s at scale 1, and the work itself).
Medians are printed, never asserted. pytest exits 1 even when the four tests pass: against a camera it did not
start the suite cannot downgrade the firmware it installed, and its end-of-session restore check says so
(NOT RESTORED SoftWareVersion); each run's camera is thrown away afterwards.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
from _common import ROOT, machine, median, sim_process  # noqa: E402

from pytest_bview.simulator.device import Identity  # noqa: E402
from pytest_bview.simulator.maintenance import BOOT_S, FLASH_S, FORMAT_S  # noqa: E402

# test name -> (property the suite records, label, device-imposed seconds at scale 1)
OPERATIONS = {
    "test_reboot": ("reboot_seconds", "reboot", BOOT_S),
    "test_factory_default": ("factory_default_seconds", "factory default", BOOT_S),
    "test_firmware_upgrade": ("upgrade_seconds", "firmware upgrade", FLASH_S + BOOT_S),
    "test_format": ("format_seconds", "format", FORMAT_S),
    # the camera on loopback moves to a spare 127.0.0.x and back; DHCP on finds no server there (ERRATA L30)
    "test_ip_address_change": ("address_change_seconds", "static address change", BOOT_S),
    "test_dhcp_change": ("dhcp_change_seconds", "DHCP on (no server: keeps its address)", BOOT_S),
}
SELECT = " or ".join(OPERATIONS)
SPARE_ADDRESS = "127.0.0.77"  # where the address change moves the camera (loopback: every 127.x is this host)
RTSP = re.compile(r"RTSP after ([0-9.]+) s")


def bumped(version: str) -> str:
    parts = version.split(".")
    return ".".join([*parts[:-1], str(int(parts[-1]) + 1)])


def number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "None") else None
    except ValueError:
        return None


def parse_junit(path: Path) -> dict[str, dict]:
    """test name -> {outcome, message, http, rtsp} from the junit xml pytest wrote."""
    out: dict[str, dict] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        name = case.get("name", "")
        if name not in OPERATIONS:
            continue
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            el = case.find(tag)
            if el is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = (el.get("message") or "").strip()
                break
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        text = "".join(el.text or "" for el in case.iter("system-out"))
        found = RTSP.search(text)
        out[name] = {
            "outcome": outcome,
            "message": message,
            "http": number(props.get(OPERATIONS[name][0])),
            "rtsp": float(found.group(1)) if found else None,
        }
    return out


def one_run(scale: float, extra: list[str], keep: Path | None) -> tuple[dict[str, dict], float, int, str, list[str]]:
    """One fresh camera, one pytest run: (per-test figures, wall seconds, pytest exit code, pytest command,
    the session's NOT RESTORED lines)."""
    with tempfile.TemporaryDirectory(prefix="bview-disruptive-") as tmp:
        work = keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        package = work / "firmware.pkg"
        subprocess.run(
            [sys.executable, "-m", "pytest_bview.simulator.cli", "make-firmware", "--version"]
            + [bumped(Identity.firmware), "-o", str(package)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        with sim_process(time_scale=scale) as (_, ports):
            junit = work / "junit.xml"
            cmd = [sys.executable, "-m", "pytest", "suites/test_disruptive.py", "-k", SELECT]
            cmd += ["--bview-level", "disruptive", "--bview-host", "127.0.0.1", "--bview-port", str(ports["http"])]
            cmd += ["--bview-rtsp-port", str(ports["rtsp"]), "--bview-firmware", str(package)]
            cmd += ["--bview-spare-address", SPARE_ADDRESS]
            cmd += ["--bview-time-scale", str(scale), "--bview-report-dir", str(work / "reports")]
            cmd += ["--junitxml", str(junit), "-o", "junit_logging=system-out", "-o", "junit_family=xunit1"]
            cmd += ["-p", "no:cacheprovider", "-q", *extra]
            start = time.perf_counter()
            with open(work / "pytest.log", "w") as log:
                proc = subprocess.run(
                    cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, timeout=120 + 3000 * scale, check=False
                )
            wall = time.perf_counter() - start
            if not junit.exists():
                print((work / "pytest.log").read_text()[-3000:])
                raise SystemExit("pytest wrote no junit xml")
            shown = " ".join(f'"{c}"' if " " in c else c for c in cmd[1:])
            log_text = (work / "pytest.log").read_text()
            # the upgrade: the suite cannot downgrade a camera it did not start, and its restore check says so
            left = [ln.strip() for ln in log_text.splitlines() if "NOT RESTORED" in ln]
            return parse_junit(junit), wall, proc.returncode, shown, left


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0, help="--time-scale of the camera and the suite (1 = real)")
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--keep", type=Path, help="keep each run's junit xml, pytest log and report under DIR/run-N/")
    p.add_argument("extra", nargs="*", help="more pytest arguments (after --)")
    args = p.parse_args()
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    print(f"machine: {machine()}; load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    runs, walls = [], []
    for n in range(args.runs):
        keep = args.keep / f"run-{n + 1}" if args.keep else None
        figures, wall, code, cmd, left = one_run(args.scale, args.extra, keep)
        runs.append(figures)
        walls.append(wall)
        if n == 0:
            print(f"pytest command (per run): python {cmd}")
        summary = ", ".join(
            f"{OPERATIONS[t][1]} {fmt(f['http'])}/{fmt(f['rtsp'])} s {f['outcome']}" for t, f in figures.items()
        )
        print(f"run {n + 1}: pytest exit {code}, wall {wall:.1f} s: {summary}", flush=True)
        for line in left:
            print(f"  session end: {line}")
        for t, f in figures.items():
            if f["outcome"] not in ("passed",):
                print(f"  {f['outcome']}: suites/test_disruptive.py::{t}: {f['message'][:500]}")
    print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"time scale {args.scale:g}, {len(runs)} run(s), medians (seconds from the request):")
    width = max(len(label) for _, label, _ in OPERATIONS.values())
    head = (
        f"  {'operation':<{width}} {'DeviceInfo back':>15} {'RTSP back':>10} {'imposed':>8} {'overhead':>9}  outcomes"
    )
    print(head)
    for test, (_, label, imposed_s) in OPERATIONS.items():
        rows = [r[test] for r in runs if test in r]
        http = [f["http"] for f in rows if f["http"] is not None]
        rtsp = [f["rtsp"] for f in rows if f["rtsp"] is not None]
        imposed = imposed_s * args.scale
        measured = median(http) if http else None
        overhead = None if measured is None else measured - imposed
        outcomes = ", ".join(f["outcome"] for f in rows) or "not run"
        print(
            f"  {label:<{width}} {fmt(measured):>15} {fmt(median(rtsp) if rtsp else None):>10} {imposed:>8.3f} "
            f"{fmt(overhead):>9}  {outcomes}"
        )
    print("  (format: 'DeviceInfo back' is the time until /Disk reports formatted; no restart, no RTSP)")
    total = sum(imposed for _, _, imposed in OPERATIONS.values()) * args.scale
    print(
        f"  pytest wall (whole session) {median(walls):.1f} s, device-imposed {total:.1f} s, ratio "
        f"{median(walls) / total:.2f}"
    )


if __name__ == "__main__":
    main()
