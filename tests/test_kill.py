"""The reference camera never loses data: SIGKILLed at random moments during a stream of configuration
writes, it restarts from the same state directory with every resource holding its old or its new value,
and a state file that is always valid JSON (state.py Rule 1)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

KILLS = 15  # bounded in count ...
BUDGET_S = 90.0  # ... and in time (each start of bview-sim costs about a second)
AUTH = ("admin", "admin")
# resource -> (element path of the value, body for value n); none is a network resource (no settle window)
WRITES: dict[str, tuple[tuple[str, ...], Any]] = {
    "/Images/1/Color": (
        ("Brightness",),
        lambda n: f"<Color><Mode>manual</Mode><Brightness>{n % 101}</Brightness></Color>",
    ),
    "/Record": (("PreRecord",), lambda n: f"<Record><PreRecord>{1 + n % 120}</PreRecord></Record>"),
    "/Pictures/1/OSD": (
        ("DisplayName", "Name"),
        lambda n: f"<OSD><DisplayName><Name>kill{n}</Name></DisplayName></OSD>",
    ),
    "/System/DeviceInfo": (("DeviceName",), lambda n: f"<DeviceInfo><DeviceName>k{n}</DeviceName></DeviceInfo>"),
}


def value_of(path: str, n: int) -> str:
    if path == "/Images/1/Color":
        return str(n % 101)
    if path == "/Record":
        return str(1 + n % 120)
    return f"kill{n}" if path == "/Pictures/1/OSD" else f"k{n}"


def start(state: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest_bview.simulator.cli", "--state-dir", str(state), "--time-scale", "0.01"]
        + ["--no-discovery", "--ssdp-port", "0", "--discovery-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, f"bview-sim did not start (exit {proc.poll()})"
    return proc, f"http://127.0.0.1:{json.loads(line)['http']}"


def field(doc: dict[str, Any], path: tuple[str, ...]) -> Any:
    for name in path:
        doc = doc.get(name, {}) if isinstance(doc, dict) else {}
    return doc


def read(base: str, path: str) -> str:
    import defusedxml.ElementTree as ET

    root = ET.fromstring(requests.get(base + path, auth=AUTH, timeout=5).content)
    el = root
    for name in WRITES[path][0]:
        el = next(c for c in el if c.tag.rsplit("}", 1)[-1] == name)
    return (el.text or "").strip()


def test_sigkill_never_loses_or_corrupts(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("BVIEW_KILL_SEED", "7")))
    state = tmp_path / "state"
    # per resource: the values it may hold (the last acknowledged one, plus one in flight)
    allowed: dict[str, set[str]] = {}
    n = 0
    deadline = time.monotonic() + BUDGET_S
    kills = 0
    proc, base = start(state)
    for path in WRITES:
        allowed[path] = {read(base, path)}
    try:
        while kills < KILLS and time.monotonic() < deadline:
            session = requests.Session()
            stop = threading.Event()
            killer = threading.Timer(
                rng.uniform(0.05, 0.6), lambda p=proc, s=stop: (p.send_signal(signal.SIGKILL), s.set())
            )
            killer.start()
            while not stop.is_set():
                path = list(WRITES)[n % len(WRITES)]
                n += 1
                new = value_of(path, n)
                in_flight = allowed[path] | {new}
                allowed[path] = in_flight
                try:
                    r = session.put(base + path, data=WRITES[path][1](n), auth=AUTH, timeout=5)
                except requests.RequestException:
                    break  # killed mid-request: old or new, both allowed
                assert r.status_code == 200, f"PUT {path} answered {r.status_code}: {r.text}"
                allowed[path] = {new}
            killer.join()
            proc.wait(10)
            kills += 1
            data = json.loads((state / "config.json").read_text())  # never corrupt
            assert data["version"] == 1
            assert not list(state.glob("config.json.corrupt-*")), "the camera found its state file corrupt"
            proc, base = start(state)
            for path, (element, _) in WRITES.items():
                got = read(base, path)
                stored = str(field(data["resources"][path], element))
                assert got in allowed[path], f"{path} holds {got!r} after kill {kills}; allowed {allowed[path]}"
                assert stored == got, f"{path}: state file {stored!r}, GET {got!r}"
                allowed[path] = {got}
    finally:
        proc.terminate()
        proc.wait(10)
    assert kills == KILLS, f"only {kills} kills within {BUDGET_S} s"
    assert n > KILLS, "no writes happened"


# -- a conformance run killed at random moments never leaves the camera changed ------------------------

RUN_KILLS = 8  # bounded in count ...
RUN_BUDGET_S = 150.0  # ... and in time
SUITE = Path(__file__).resolve().parents[1] / "suites" / "test_config.py"  # ~17 s of writes at time scale 0.01


def _restorable(target: Any) -> tuple[dict[str, Any], list[Any], float | None]:
    """Every restorable resource (volatile fields left out), the users, the clock offset: what a run must
    leave as it found it (pytest_bview/restore.py Rules 1-3)."""
    from pytest_bview.documents import comparable
    from pytest_bview.restore import take

    snap = take(target)
    return {p: comparable(d) for p, d in snap.resources.items()}, snap.users, snap.clock_offset_s


def _run(cam_ports: dict[str, int], report_dir: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", str(SUITE), "-q", "-p", "no:randomly", "-p", "no:cacheprovider"]
        + ["--bview-host", "127.0.0.1", "--bview-port", str(cam_ports["http"])]
        + ["--bview-rtsp-port", str(cam_ports["rtsp"]), "--bview-time-scale", "0.01"]
        + ["--bview-report-dir", str(report_dir), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=SUITE.parents[1],
    )


@pytest.mark.slow
def test_killed_runs_never_leave_the_camera_changed(tmp_path: Path) -> None:
    """SIGTERM or SIGHUP (what CI sends on timeout or cancel) restores the camera before the run ends; after
    a SIGKILL, the next run repairs the camera from the journal before its own snapshot; at the end every
    restorable resource is as it was before the first run."""
    from pytest_bview.documents import differences
    from pytest_bview.options import Settings
    from pytest_bview.restore import CLOCK_TOLERANCE_S
    from pytest_bview.simulator.camera import CameraOptions, CameraThread
    from pytest_bview.target import Target

    rng = random.Random(int(os.environ.get("BVIEW_KILL_SEED", "11")))
    report_dir = tmp_path / "reports"
    figures = {"kills": 0, "sigterm": 0, "sighup": 0, "sigkill": 0, "repaired first": 0, "compared": 0}
    figures["differences"] = 0
    with CameraThread(CameraOptions(time_scale=0.01, discovery_port=0, ssdp_port=0)) as cam:
        settings = Settings(
            host="127.0.0.1", port=cam.ports["http"], scheme="http", user="admin", password="admin",
            rtsp_port=cam.ports["rtsp"], channel=1, level="reversible", time_scale=0.01, settle=0.05, timeout=10,
            report_dir=tmp_path / "unused", expectations=None, inventory=None, sim_count=1, discovery_port=0,
            discovery_iface=None, sim_fault=(),
        )  # fmt: skip
        observer = Target.open(settings)
        try:
            before, users, offset = _restorable(observer)
            deadline = time.monotonic() + RUN_BUDGET_S

            def compare(when: str) -> list[str]:
                now, now_users, now_offset = _restorable(observer)
                figures["compared"] += len(now) + 1
                found = [f"{p}: {d}" for p in before for d in differences(before[p], now.get(p))]
                if now_users != users:
                    found.append(f"users {users} -> {now_users}")
                if offset is not None and (now_offset is None or abs(now_offset - offset) > CLOCK_TOLERANCE_S):
                    found.append(f"clock offset {offset:+.0f} s -> {now_offset}")
                figures["differences"] += len(found)
                return [f"{when}: {x}" for x in found]

            problems: list[str] = []
            while figures["kills"] < RUN_KILLS and time.monotonic() < deadline:
                sig = (signal.SIGTERM, signal.SIGKILL, signal.SIGHUP)[figures["kills"] % 3]
                proc = _run(cam.ports, report_dir)
                time.sleep(rng.uniform(1.5, 12.0))
                proc.send_signal(sig)
                out, _ = proc.communicate(timeout=120)
                figures["kills"] += 1
                figures[sig.name.lower()] += 1
                text = out.decode(errors="replace")
                figures["repaired first"] = figures.get("repaired first", 0) + text.count("repaired from")
                if sig != signal.SIGKILL:  # restored before the process ended, and it said so
                    assert proc.returncode in (0, 2), text[-3000:]
                    if proc.returncode == 2 and "device state restored" in text:
                        assert f"stopped by {sig.name}" in text, text[-3000:]
                    problems += compare(f"after {sig.name} #{figures['kills']}")
            # a SIGKILLed last run: the repair an operator makes
            final = _run(cam.ports, report_dir, "--bview-restore-from", str(report_dir))
            out, _ = final.communicate(timeout=120)
            assert final.returncode == 0, out.decode(errors="replace")[-3000:]
            problems += compare("after --bview-restore-from")
        finally:
            observer.close()
    print(f"kill figures: {figures}")
    assert figures["kills"] >= 3, figures
    assert not problems, "\n".join(problems)
    journals = list(report_dir.glob("journal-*.json"))
    assert journals and all(json.loads(p.read_text())["restored"] for p in journals), [p.name for p in journals]
