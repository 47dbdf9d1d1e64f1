"""The kit in a hostile lab: what a host on the camera's network can make the kit do, on loopback only.

- the rollback watchdog (relocate.Watch) believes a Discovery V2 reply only as far as it proves itself:
  the admin's credentials go to an address the run named, or to one whose unauthenticated UPnP
  description names the camera's serial number, never to whatever address a reply claims;
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_bview import discovery as d
from pytest_bview import relocate

MAC, SERIAL, PASSWORD = "02:00:00:aa:bb:cc", "SN-HOSTILE-1", "admin-secret-17"
LIAR = "127.0.0.77"  # the address the forged Discovery V2 reply names


class Recorder(ThreadingHTTPServer):
    """An HTTP server that answers like the camera (our MAC, a UPnP description) and records every request."""

    daemon_threads = True

    def __init__(self, address: str, serial: str, routes: dict[str, tuple[int, dict[str, str], bytes]] | None = None):
        self.seen: list[tuple[str, str, str | None]] = []  # (method, path, Authorization header)
        self.serial = serial
        self.routes = routes or {}
        super().__init__((address, 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}"

    def authorised(self) -> list[str]:
        return [path for _, path, auth in self.seen if auth]


class Handler(BaseHTTPRequestHandler):
    server: Recorder

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.server.seen.append(("GET", self.path, self.headers.get("Authorization")))
        if self.path in self.server.routes:
            status, headers, body = self.server.routes[self.path]
        elif self.path == "/description.xml":
            status, headers = 200, {"Content-Type": "text/xml"}
            body = (
                f'<root xmlns="{d.UPNP_NS}"><device><serialNumber>{self.server.serial}</serialNumber>'
                "<UDN>uuid:x</UDN></device></root>"
            ).encode()
        else:
            status, headers = 200, {"Content-Type": "application/xml"}
            body = f"<IPAddress><MacAddress>{MAC}</MacAddress></IPAddress>".encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _udp_responder(sock: socket.socket, answer: Any) -> threading.Event:
    """Answer every datagram on `sock` with `answer(datagram)` (None: stay silent) until the event is set."""
    stop = threading.Event()

    def run() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                data, sender = sock.recvfrom(65535)
            except OSError:
                continue
            reply = answer(data)
            if reply is not None:
                sock.sendto(reply, sender)
        sock.close()

    threading.Thread(target=run, daemon=True).start()
    return stop


@pytest.fixture
def forged_reply() -> Iterator[int]:
    """A host that answers every Discovery V2 100 probe for our MAC with DeviceIP = LIAR; yields its port."""
    sock = d.multicast_socket(0, d.GROUP, "127.0.0.1")

    def answer(data: bytes) -> bytes | None:
        try:
            msg = d.parse_message(data)
        except d.ParseError:
            return None
        if msg.cfg.MainCommand != d.PROBE:
            return None
        return d.build_response(d.PROBE, MAC, 0, d.DeviceProbeConfig(DeviceMac=MAC, DeviceIP=LIAR))

    stop = _udp_responder(sock, answer)
    yield sock.getsockname()[1]
    stop.set()


def _ssdp_at(address: str, location: str) -> tuple[int, threading.Event]:
    """A unicast SSDP responder at `address` whose answers point to `location`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 0))
    answer = (
        "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\n"
        f"LOCATION: {location}\r\nSERVER: x\r\nST: upnp:rootdevice\r\nUSN: uuid:x::upnp:rootdevice\r\n\r\n"
    ).encode()
    return sock.getsockname()[1], _udp_responder(sock, lambda data: answer if b"M-SEARCH" in data else None)


def _watch(discovery_port: int, ssdp_port: int, port: int) -> relocate.Watch:
    settings = SimpleNamespace(scheme="http", user="admin", password=PASSWORD)
    target = SimpleNamespace(
        settings=settings, host="127.0.0.1", discovery_port=discovery_port, discovery_iface=None,
        identity={"SerialNum": SERIAL}, ssdp_port=ssdp_port,
    )  # fmt: skip
    return relocate.Watch(target, MAC, port, "127.0.0.1", probe_s=0.3)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "proof",
    ["no SSDP", "another serial", "LOCATION elsewhere", "the camera's serial"],
)
def test_watchdog_sends_credentials_only_where_the_camera_proved_itself(forged_reply: int, proof: str) -> None:
    """A Discovery V2 reply naming our MAC at another address gets the admin's credentials only after that
    address's unauthenticated UPnP description names the camera's serial (the last case shows the check passes)."""
    liar = Recorder(LIAR, SERIAL if proof != "another serial" else "SN-SOMEONE-ELSE")
    elsewhere = Recorder("127.0.0.78", SERIAL)  # a description with the right serial, but on another host
    stops = []
    try:
        ssdp_port = _free_port()
        if proof != "no SSDP":
            where = elsewhere if proof == "LOCATION elsewhere" else liar
            ssdp_port, stop = _ssdp_at(LIAR, f"{where.url}/description.xml")
            stops.append(stop)
        # the camera "was" at 127.0.0.1 on the liar's port, where nothing answers now
        watch = _watch(forged_reply, ssdp_port, liar.server_address[1])
        seen = watch.find(time.monotonic(), [], deadline_s=2.5, grace_s=0.0, poll_s=0.05)
        if proof == "the camera's serial":
            assert seen is not None and seen.address == LIAR and seen.how == "discovery", watch.story()
            assert liar.authorised() == [relocate.WIRED], liar.seen
        else:
            assert seen is None, watch.story()
            assert liar.authorised() == [] and elsewhere.authorised() == [], (liar.seen, elsewhere.seen)
            assert not any(path == relocate.WIRED for _, path, _ in liar.seen), liar.seen
            assert f"{LIAR} is named by Discovery V2 but did not prove" in watch.story(), watch.story()
        assert all(auth is None for _, path, auth in liar.seen if path == "/description.xml"), liar.seen
    finally:
        for stop in stops:
            stop.set()
        for server in (liar, elsewhere):
            server.shutdown()
            server.server_close()


def test_watchdog_trusts_the_addresses_it_was_given(forged_reply: int) -> None:
    """An address the run named (where the camera was told to go) needs no proof."""
    given = Recorder(LIAR, "no-description-needed")
    try:
        watch = _watch(forged_reply, _free_port(), given.server_address[1])
        seen = watch.find(time.monotonic(), [LIAR], deadline_s=2.0, grace_s=1.0, poll_s=0.05)
        assert seen is not None and seen.how == "given" and given.authorised() == [relocate.WIRED], watch.story()
    finally:
        given.shutdown()
        given.server_close()


def test_the_reference_camera_proves_its_identity_without_credentials() -> None:
    """The proof the watchdog asks for is one a conformant camera gives: SSDP and its UPnP description."""
    from pytest_bview.client import Client
    from pytest_bview.simulator.camera import CameraOptions, CameraThread

    with CameraThread(CameraOptions(time_scale=0.01, ssdp_port=0)) as cam:
        client = Client(f"http://127.0.0.1:{cam.ports['http']}", "admin", "admin")
        found = re.search(rb"<SerialNum>([^<]+)</SerialNum>", client.get("/System/DeviceInfo").body)
        assert found is not None
        serial = found.group(1).decode()
        client.close()
        for claimed, proven in ((serial, True), ("not-" + serial, False)):
            watch = _watch(cam.ports["discovery"], cam.ports["ssdp"], cam.ports["http"])
            watch.target.identity = {"SerialNum": claimed}
            assert watch.identity_at("127.0.0.1") is proven, watch.story()
