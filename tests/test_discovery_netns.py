"""RawTransport for real: scapy frames across a veth pair between two network namespaces.

The camera (``python -m pytest_bview.simulator.discovery --fake``) lives in one namespace with an address
in 192.168.77.0/24; the prober lives in the other with 10.99.0.0/24, so only link-layer frames reach the
camera (spec 10 discovery exists to find a camera whose address is not in our subnet). Each side is its
own process: scapy caches routes and interfaces at import. Loopback cannot be used for raw frames (the
kernel drops them from 127.0.0.0/8), so loopback stays with SocketTransport (test_discovery_protocol.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests._netns import needs_netns, veth_pair

pytestmark = needs_netns

CAMERA_IP, CAMERA_MAC = "192.168.77.2", "02:00:00:77:00:02"
PROBER_IP = "10.99.0.2"
PORT = 5566


@pytest.fixture
def namespaces() -> Iterator[tuple[str, str]]:
    # on-link default routes: the way back to the other subnet
    with veth_pair(CAMERA_IP + "/24", PROBER_IP + "/24", routes=("default",)) as pair:
        yield pair


PROBER = """
import json, sys
from pytest_bview.discovery import Auth, RawTransport
t = RawTransport(sys.argv[1], port=int(sys.argv[2]))
probe = t.probe(timeout=1.5)
net = t.request(102, sys.argv[3], Auth("admin", "admin"), timeout=1.5)
bad = t.request(102, sys.argv[3], Auth("admin", "wrong"), timeout=1.5)
other = t.request(102, "02:00:00:00:00:99", Auth("admin", "admin"), timeout=1.0)
print(json.dumps({
    "probe": [dict(m.fields(), sender=m.sender, ok=m.config_length_ok, cid=m.head.CommandID, rtt=m.elapsed)
              for m in probe],
    "net": net and dict(reply=net.head.ReplyMsg, nics=net.fields().get("NetworkInterfaceList")),
    "bad": bad and bad.head.ReplyMsg,
    "other": other is not None,
}))
"""


def test_raw_transport_reaches_a_camera_in_another_subnet(namespaces: tuple[str, str]) -> None:
    cam, probe = namespaces
    camera = subprocess.Popen(
        ["ip", "netns", "exec", cam, sys.executable, "-m", "pytest_bview.simulator.discovery", "--fake",
         "--port", str(PORT), "--mac", CAMERA_MAC, "--ip", CAMERA_IP],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        ready = json.loads(camera.stdout.readline() or "{}")
        assert ready.get("discovery") == PORT, camera.stderr.read() if camera.poll() is not None else ready
        iface = (
            subprocess.run(
                ["ip", "-n", probe, "-o", "link", "show", "type", "veth"], capture_output=True, text=True, check=True
            )
            .stdout.split(":")[1]
            .strip()
            .split("@")[0]
        )
        run = subprocess.run(
            ["ip", "netns", "exec", probe, sys.executable, "-c", PROBER, iface, str(PORT), CAMERA_MAC],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        seen = json.loads(run.stdout.strip().splitlines()[-1])
    finally:
        camera.terminate()
        camera.wait(10)
    assert len(seen["probe"]) == 1, seen
    reply = seen["probe"][0]
    assert reply["DeviceIP"] == CAMERA_IP and reply["DeviceMac"] == CAMERA_MAC
    assert reply["sender"] == [CAMERA_IP, PORT] and reply["ok"] and reply["cid"] == 11
    print(f"raw-frame probe round trip across namespaces: {reply['rtt'] * 1000:.2f} ms")
    assert seen["net"] == {"reply": 0, "nics": [dict(seen["net"]["nics"][0], MAC=CAMERA_MAC)]}
    assert seen["bad"] == 2 and seen["other"] is False
