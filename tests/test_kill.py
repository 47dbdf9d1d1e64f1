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
