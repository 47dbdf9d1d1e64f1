"""The reference camera on its own: HTTP behaviour, persistence, the bview-sim program."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from pytest_bview.simulator.camera import CameraOptions, CameraThread
from pytest_bview.simulator.state import Store

AUTH = ("admin", "admin")


@pytest.fixture(scope="module")
def cam():
    with CameraThread(time_scale=0.01) as cam:
        yield cam


def url(cam, path: str) -> str:
    return f"http://127.0.0.1:{cam.ports['http']}{path}"


def code(resp: requests.Response) -> int:
    import re

    m = re.search(rb"<statusCode>(-?\d+)</statusCode>", resp.content)
    assert m, resp.content
    return int(m.group(1))


def test_requires_basic_auth(cam) -> None:
    r = requests.get(url(cam, "/System/DeviceInfo"), timeout=5)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert requests.get(url(cam, "/System/DeviceInfo"), auth=("admin", "nope"), timeout=5).status_code == 401
    ok = requests.get(url(cam, "/System/DeviceInfo"), auth=AUTH, timeout=5)
    assert ok.status_code == 200 and ok.headers["Content-Type"] == "application/xml; charset=UTF-8"
    assert b"<DeviceTypeName>" in ok.content


def test_unknown_url_wrong_channel_wrong_method(cam) -> None:
    r = requests.get(url(cam, "/Nope"), auth=AUTH, timeout=5)
    assert (r.status_code, code(r)) == (404, -10)
    r = requests.get(url(cam, "/Images/2/Color"), auth=AUTH, timeout=5)
    assert code(r) == -4
    r = requests.delete(url(cam, "/Images/1/Color"), auth=AUTH, timeout=5)
    assert (r.status_code, code(r)) == (405, -3) and r.headers["Allow"] == "GET, PUT"
    r = requests.get(url(cam, "/Network/Interfaces/1/WIFIStatus"), auth=AUTH, timeout=5)
    assert code(r) == -3


def test_bad_input_changes_nothing(cam) -> None:
    before = requests.get(url(cam, "/Images/1/Color"), auth=AUTH, timeout=5).content
    for body, expected in [
        (b"<Color><Brightness>5</Color>", -1),
        (b"<Basic/>", -1),
        (b"<Color><Mode>manual</Mode><Brightness>500</Brightness></Color>", -5),
        (b'<!DOCTYPE x [<!ENTITY a "aaaa">]><Color><Hue>&a;</Hue></Color>', -1),
        (b"<Color>" + b"<Hue>1</Hue>" * 40000 + b"</Color>", -9),
    ]:
        r = requests.put(url(cam, "/Images/1/Color"), data=body, auth=AUTH, timeout=5)
        assert code(r) == expected, body[:60]
    assert requests.get(url(cam, "/Images/1/Color"), auth=AUTH, timeout=5).content == before


def test_collection_put_equals_part_puts(cam) -> None:
    body = b"<Image><ID>1</ID><Color><Mode>manual</Mode><Contrast>44</Contrast></Color></Image>"
    r = requests.put(url(cam, "/Images/1"), data=body, auth=AUTH, timeout=5)
    assert code(r) == 0
    color = requests.get(url(cam, "/Images/1/Color"), auth=AUTH, timeout=5).content
    assert b"<Contrast>44</Contrast>" in color
    r = requests.put(url(cam, "/Images/1"), data=b"<Image><ID>2</ID></Image>", auth=AUTH, timeout=5)
    assert code(r) == -1  # the ID does not match the URL


def test_network_settle_window(cam) -> None:
    body = b"<DNS><SecondaryDNS>192.0.2.9</SecondaryDNS></DNS>"
    path = url(cam, "/Network/Interfaces/1/IPAddress/DNS")
    import time

    time.sleep(0.06)
    assert code(requests.put(path, data=body, auth=AUTH, timeout=5)) == 0
    assert code(requests.put(path, data=body.replace(b"9<", b"8<"), auth=AUTH, timeout=5)) == -14
    assert b"192.0.2.9" in requests.get(path, auth=AUTH, timeout=5).content
    time.sleep(0.06)  # 5 s x 0.01
    assert code(requests.put(path, data=body.replace(b"9<", b"8<"), auth=AUTH, timeout=5)) == 0


def test_store_is_atomic_and_recovers(tmp_path: Path) -> None:
    store = Store(tmp_path, lambda: {"/a": {"x": "1"}})
    store.commit(resources={"/a": {"x": "2"}})
    assert json.loads((tmp_path / "config.json").read_text())["resources"]["/a"] == {"x": "2"}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    (tmp_path / "config.json").write_text("{ half a docu")
    store = Store(tmp_path, lambda: {"/a": {"x": "1"}})
    assert store.recovered_from_corruption and store.get("/a") == {"x": "1"}
    assert any(p.name.startswith("config.json.corrupt-") for p in tmp_path.iterdir())


def test_state_survives_restart(tmp_path: Path) -> None:
    opts = CameraOptions(state_dir=tmp_path, time_scale=0.01)
    with CameraThread(opts) as cam:
        r = requests.put(
            url(cam, "/System/DeviceInfo"),
            data=b"<DeviceInfo><DeviceName>kept</DeviceName></DeviceInfo>",
            auth=AUTH,
            timeout=5,
        )
        assert code(r) == 0
    with CameraThread(CameraOptions(state_dir=tmp_path, time_scale=0.01)) as cam:
        assert (
            b"<DeviceName>kept</DeviceName>"
            in requests.get(url(cam, "/System/DeviceInfo"), auth=AUTH, timeout=5).content
        )


def test_bview_sim_program(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest_bview.simulator.cli",
            "--state-dir",
            str(tmp_path),
            "--time-scale",
            "0.01",
            "--discovery-port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        ports = json.loads(line)
        assert set(ports) >= {"http", "rtsp", "discovery", "state_dir"}
        base = f"http://127.0.0.1:{ports['http']}"
        assert requests.get(base + "/System/DeviceInfo", timeout=5).status_code == 401
        assert requests.get(base + "/System/DeviceInfo", auth=AUTH, timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert (tmp_path / "config.json").exists()


def test_list_faults_and_unknown_fault() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pytest_bview.simulator.cli", "--list-faults"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert out.returncode == 0 and "auth-not-required" in out.stdout and "4.5.2" in out.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "pytest_bview.simulator.cli", "--fault", "no-such-fault"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "unknown fault" in bad.stderr


def test_latency_knob_delays_every_answer() -> None:
    """--latency-ms models a real camera's time to answer (benchmarks at real timing); it is scaled like every
    device-imposed duration. A lower bound only: sleeping guarantees it, whatever the machine's load."""
    import time

    with CameraThread(CameraOptions(time_scale=0.5, latency_ms=200, discovery_port=0, ssdp_port=0)) as cam:
        url = f"http://127.0.0.1:{cam.ports['http']}/System/DeviceInfo"
        with requests.Session() as s:
            s.auth = ("admin", "admin")
            s.get(url, timeout=10)  # the connection is set up: only the answer is timed below
            start = time.monotonic()
            r = s.get(url, timeout=10)
            took = time.monotonic() - start
    assert r.status_code == 200 and took >= 0.1, took  # 200 ms x time scale 0.5
