"""Network identity for real: the address change and DHCP between two network namespaces, with a DHCP server.

The camera (`bview-sim --interface`) lives in one namespace and sets the addresses it is given on its veth
end with iproute2; its DHCP client sends real frames. The other namespace holds the suite (the plugin
pointed at the camera with --bview-host) and a DHCP server (scapy's DHCP answering machine). Loopback
cannot show a lease (no DHCP server answers there), so the faults only a lease reveals (`rig="netns"` in
their declaration) are proven here: the suite's test_dhcp_change must fail under each of them, and the
conformant camera must pass test_ip_address_change and test_dhcp_change with the lease seen.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_bview.simulator.catalog import load_all
from pytest_bview.testing import matrix

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None,
    reason="needs root and iproute2 `ip` to create network namespaces and a veth pair",
)

ROOT = Path(__file__).resolve().parents[1]
CAMERA_IP, SPARE_IP, SERVER_IP = "192.168.78.2", "192.168.78.3", "192.168.78.1"
POOL = ("192.168.78.100", "192.168.78.101")
CAMERA_MAC = "02:00:00:78:00:02"
HTTP, RTSP, DISCOVERY = 8080, 8554, 5566
RIG_FAULTS = sorted(f.name for f in load_all().values() if f.rig == "netns")
# BVIEW_RIG_SCALE=1 gives real timing (benchmarks/RESULTS.md: the lease path at scale 1); tests use 0.01
SCALE = os.environ.get("BVIEW_RIG_SCALE", "0.01")

RENEW_S = 300  # T1 of the leases: 3 s at time scale 0.01 (the renewal test waits for two)
DHCP_SERVER = f"""
import sys
from scapy.all import conf
from scapy.layers.dhcp import DHCP_am
conf.verb = 0
DHCP_am.filter = None  # no libpcap here: the answering machine checks each frame itself
am = DHCP_am(iface=sys.argv[1], pool=sys.argv[2].split(","), network="192.168.78.0/24", gw=sys.argv[3],
             renewal_time={RENEW_S}, lease_time=3600)
am.optsniff.pop("filter", None)
print("ready", flush=True)
am()
"""


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[dict[str, str]]:
    tag = uuid.uuid4().hex[:6]
    cam, suite = f"bvcam{tag}", f"bvsut{tag}"
    cam_if, suite_if = f"vc{tag}", f"vs{tag}"
    server = None
    try:
        ip("netns", "add", cam)
        ip("netns", "add", suite)
        ip("link", "add", cam_if, "netns", cam, "address", CAMERA_MAC, "type", "veth", "peer", "name", suite_if,
           "netns", suite)  # fmt: skip
        for ns, dev, addr in ((cam, cam_if, CAMERA_IP), (suite, suite_if, SERVER_IP)):
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "addr", "add", addr + "/24", "dev", dev)
            ip("-n", ns, "link", "set", dev, "up")
        ip("-n", suite, "route", "add", "224.0.0.0/4", "dev", suite_if)  # Discovery V2's multicast goes to the camera
        ip("-n", cam, "route", "add", "default", "via", SERVER_IP)
        server = subprocess.Popen(
            ["ip", "netns", "exec", suite, sys.executable, "-c", DHCP_SERVER, suite_if, ",".join(POOL), SERVER_IP],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert server.stdout is not None and server.stdout.readline().strip() == "ready", server.stderr
        yield {"cam": cam, "suite": suite, "cam_if": cam_if, "tmp": str(tmp_path)}
    finally:
        if server is not None:
            server.kill()
            server.wait(10)
        for ns in (cam, suite):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


ON_DHCP = """
import sys, time, requests
auth, url = ("admin", "admin"), "http://%s:%s/Network/Interfaces/1/IPAddress/DHCP"
requests.put(url % (sys.argv[1], sys.argv[2]), data="<DHCP><Enable>true</Enable></DHCP>", auth=auth, timeout=5)
end = time.monotonic() + 60
while time.monotonic() < end:
    for host in sys.argv[3:]:
        try:
            if requests.get(url % (host, sys.argv[2]), auth=auth, timeout=0.5).ok:
                print(host)
                sys.exit(0)
        except requests.RequestException:
            pass
sys.exit(1)
"""


def on_dhcp(rig: dict[str, str]) -> str:
    """Put the camera on DHCP before the suite runs; returns the leased address it answers at."""
    run = subprocess.run(
        ["ip", "netns", "exec", rig["suite"], sys.executable, "-c", ON_DHCP, CAMERA_IP, str(HTTP), *POOL],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def test_lease_is_renewed_at_t1(rig: dict[str, str], tmp_path: Path) -> None:
    """RFC 2131 4.3.2: the camera renews its lease at T1 (scaled), keeping its address and services."""
    state = tmp_path / "state-renew"
    state.mkdir()
    camera = start_camera(rig, state)
    try:
        leased = on_dhcp(rig)
        first = json.loads((state / "config.json").read_text())["extra"]["dhcp_lease"]
        time.sleep(2.5 * RENEW_S * float(SCALE))
        later = json.loads((state / "config.json").read_text())["extra"]["dhcp_lease"]
    finally:
        camera.terminate()
        camera.wait(10)
    assert first["address"] == leased and first["renew_s"] == RENEW_S
    assert later["address"] == leased and later["at"] >= first["at"] + RENEW_S * float(SCALE), (first, later)


def start_camera(rig: dict[str, str], state: Path, *faults: str) -> subprocess.Popen[str]:
    camera = subprocess.Popen(
        ["ip", "netns", "exec", rig["cam"], sys.executable, "-m", "pytest_bview.simulator.cli",
         "--bind", CAMERA_IP, "--interface", rig["cam_if"], "--mac", CAMERA_MAC, "--time-scale", SCALE,
         "--state-dir", str(state), "--http-port", str(HTTP), "--rtsp-port", str(RTSP),
         "--discovery-port", str(DISCOVERY), "--ssdp-port", "1900", *(a for f in faults for a in ("--fault", f))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert camera.stdout is not None
    ready = json.loads(camera.stdout.readline() or "{}")
    assert ready.get("http") == HTTP, (ready, camera.poll())
    return camera


def run_suite(
    rig: dict[str, str], name: str, *faults: str, tests: str, prepare: Callable[[dict[str, str]], str] | None = None
) -> tuple[int, str]:
    """Start the camera (with `faults`) in its namespace, run the suite's `tests` at it from the other one
    (at the address `prepare` returns, when given)."""
    state = Path(rig["tmp"]) / f"state-{name}"
    state.mkdir()
    camera = start_camera(rig, state, *faults)
    try:
        host = prepare(rig) if prepare is not None else CAMERA_IP
        run = subprocess.run(
            ["ip", "netns", "exec", rig["suite"], sys.executable, "-m", "pytest",
             str(ROOT / "suites" / "test_disruptive.py"), "-k", tests, f"--rootdir={ROOT}", "-p", "no:cacheprovider",
             "-q", "-s", "-rf", "--bview-host", host, "--bview-port", str(HTTP), "--bview-rtsp-port", str(RTSP),
             "--bview-discovery-port", str(DISCOVERY), "--bview-time-scale", SCALE, "--bview-level", "disruptive",
             "--bview-spare-address", SPARE_IP, "--bview-report-dir", str(Path(rig["tmp"]) / f"reports-{name}")],
            capture_output=True, text=True, timeout=300 + 3000 * float(SCALE), cwd=ROOT,
        )  # fmt: skip
    finally:
        camera.terminate()
        camera.wait(10)
    return run.returncode, run.stdout + run.stderr


def test_address_change_and_dhcp_lease_for_real(rig: dict[str, str]) -> None:
    rc, out = run_suite(rig, "conformant", tests="test_ip_address_change or test_dhcp_change")
    assert rc == 0, out[-4000:]
    moved = next(line for line in out.splitlines() if f"address {CAMERA_IP} -> {SPARE_IP}" in line)
    assert "answered there" in moved and f"back at {CAMERA_IP}" in moved, moved
    leased = next(line for line in out.splitlines() if "DHCP on:" in line)
    assert any(f"at {a} (discovery)" in leased for a in POOL), leased  # the lease, found through Discovery V2
    assert "'obtained'" in leased and f"back at {CAMERA_IP}" in leased, leased
    print(moved, leased, sep="\n")


def test_camera_on_dhcp_takes_a_static_address_and_goes_back_on_dhcp(rig: dict[str, str]) -> None:
    """A camera found on DHCP: the address change gives it the spare address as a static one (DHCP off), and
    the watchdog puts it back on DHCP, where it gets its lease again."""
    rc, out = run_suite(rig, "on-dhcp", tests="test_ip_address_change", prepare=on_dhcp)
    assert rc == 0, out[-4000:]
    moved = next(line for line in out.splitlines() if f" -> {SPARE_IP}: " in line)
    assert "answered there" in moved and any(f"address {a} -> " in moved for a in POOL), moved
    print(moved)


@pytest.mark.parametrize("fault", RIG_FAULTS)
def test_rig_fault_is_detected(rig: dict[str, str], fault: str) -> None:
    """Each fault only a lease reveals fails the checks it names, here where there is a lease."""
    detected_by = matrix.detected_by(load_all()[fault])
    names = " or ".join(d.split("::")[1] for d in detected_by)
    rc, out = run_suite(rig, fault, fault, tests=names)
    assert rc == 1, out[-4000:]
    for check in detected_by:
        assert f"FAILED {check}" in out, f"{fault} was not detected by {check}:\n{out[-4000:]}"
