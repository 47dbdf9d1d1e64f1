"""The reference camera as a stand-in a VMS can live with: its own identity per instance, SSDP that stays
alive, HTTP that standard clients expect (HEAD, 414/431, one product name), request logs with -v.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from pytest_bview import discovery as d
from pytest_bview.simulator import PRODUCT
from pytest_bview.simulator import discovery as sim
from pytest_bview.simulator.camera import CameraOptions, CameraThread
from pytest_bview.simulator.cli import IDENTITY_FILE, factory_identity
from pytest_bview.simulator.device import Identity
from tests._camera import camera_args

ROOT = Path(__file__).resolve().parents[1]
AUTH = ("admin", "admin")
UPNP = {"u": "urn:schemas-upnp-org:device-1-0"}


# -- identity: one per instance, burned in at first start ------------------------------------------------


def _start_sim(state: Path, *extra: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest_bview.simulator.cli", "--state-dir", str(state), "--time-scale", "0.01",
         "--discovery-port", "0", "--ssdp-port", "0", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, f"bview-sim did not start: {proc.poll()} {proc.stderr.read() if proc.stderr else ''}"
    return proc, json.loads(line)


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return err


def _identity(ports: dict[str, Any]) -> tuple[str, str, str]:
    base = f"http://127.0.0.1:{ports['http']}"
    info = ET.fromstring(requests.get(base + "/System/DeviceInfo", auth=AUTH, timeout=10).content)
    ip = ET.fromstring(requests.get(base + "/Network/Interfaces/1/IPAddress", auth=AUTH, timeout=10).content)
    desc = ET.fromstring(requests.get(base + "/upnp/description.xml", timeout=10).content)
    serial = next(e.text for e in info.iter() if e.tag.endswith("SerialNum"))
    mac = next(e.text for e in ip.iter() if e.tag.endswith("MacAddress"))
    return str(mac), str(serial), str(desc.findtext("u:device/u:UDN", namespaces=UPNP))


def test_two_bview_sims_with_only_a_state_dir_differ(tmp_path: Path) -> None:
    """Each state directory is its own camera: MAC, serial and UPnP UUID differ, and are kept across restarts."""
    one, two = tmp_path / "one", tmp_path / "two"
    (proc1, ports1), (proc2, ports2) = _start_sim(one), _start_sim(two)
    try:
        first, second = _identity(ports1), _identity(ports2)
    finally:
        for proc in (proc1, proc2):
            _stop(proc)
    assert all(a != b for a, b in zip(first, second, strict=True)), (first, second)
    assert first[2] == sim.udn(first[0])
    proc1, ports1 = _start_sim(one)
    try:
        assert _identity(ports1) == first, "the identity of a state directory must survive a restart"
    finally:
        _stop(proc1)
    proc3, ports3 = _start_sim(tmp_path / "three", "--mac", "00:1A:2B:00:00:01", "--serial", "BV2A99999999")
    try:
        assert _identity(ports3)[:2] == ("00:1A:2B:00:00:01", "BV2A99999999")
    finally:
        _stop(proc3)
    proc1, ports1 = _start_sim(one, "--mac", "00:1A:2B:00:00:01")
    try:
        assert _identity(ports1) == first, "a state directory's MAC is burned in"
    finally:
        assert "--mac 00:1A:2B:00:00:01 ignored" in _stop(proc1)


def test_factory_identity_rules(tmp_path: Path) -> None:
    new = factory_identity(tmp_path / "new")
    assert new == factory_identity(tmp_path / "new") and (tmp_path / "new" / IDENTITY_FILE).is_file()
    assert new[0].startswith(Identity.mac[:8]) and new != (Identity.mac, Identity.serial)
    # a state directory from before identities were kept keeps the camera it was
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "config.json").write_text("{}", encoding="utf-8")
    assert factory_identity(tmp_path / "old") == (Identity.mac, Identity.serial)
    assert factory_identity(tmp_path / "new", serial="S-1") == new  # kept: its configuration carries it
    assert factory_identity(tmp_path / "given", "00:1A:2B:00:00:02", "S-2") == ("00:1A:2B:00:00:02", "S-2")


def test_builtin_camera_identity_is_the_explicit_one() -> None:
    """The kit's built-in camera passes its identity: no identity.json decides it."""
    with CameraThread(CameraOptions(time_scale=0.01, ssdp_port=0, discovery=False, media=False)) as cam:
        assert _identity(cam.ports)[:2] == (Identity.mac, Identity.serial)
        assert not (Path(cam.ports["state_dir"]) / IDENTITY_FILE).exists()


# -- HTTP ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def camera() -> Iterator[CameraThread]:
    with CameraThread(CameraOptions(time_scale=0.01, ssdp_port=0, discovery=True, discovery_port=0)) as cam:
        yield cam


def _raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        out = b""
        while True:
            head, sep, body = out.partition(b"\r\n\r\n")
            if sep:
                length = next((int(v) for k, _, v in (h.partition(b":") for h in head.split(b"\r\n"))
                               if k.strip().lower() == b"content-length"), 0)  # fmt: skip
                if len(body) >= length:
                    return out
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


@pytest.mark.parametrize(
    "path", ["/System/DeviceInfo", "/Images/1/Color", "/Snapshot/1/RemoteImageCapture", "/upnp/description.xml"]
)
def test_head_answers_where_get_does(camera: CameraThread, path: str) -> None:
    """RFC 9110 9.3.2: HEAD is GET without the body (same status and headers)."""
    base = f"http://127.0.0.1:{camera.ports['http']}"
    get = requests.get(base + path, auth=AUTH, timeout=10)
    head = requests.head(base + path, auth=AUTH, timeout=10)
    assert get.status_code == head.status_code == 200, (get.status_code, head.status_code)
    assert head.content == b""
    assert head.headers["Content-Type"] == get.headers["Content-Type"]
    assert head.headers.get("Content-Length") == get.headers.get("Content-Length")


def test_head_of_the_mjpeg_stream_is_headers_only(camera: CameraThread) -> None:
    head = requests.head(f"http://127.0.0.1:{camera.ports['http']}/Streams/1/4/ReceiveData", auth=AUTH, timeout=10)
    assert head.status_code == 200 and head.headers["Content-Type"].startswith("multipart/x-mixed-replace")
    assert requests.head(f"http://127.0.0.1:{camera.ports['http']}/System/DeviceInfo", timeout=10).status_code == 401


def test_oversized_requests_get_414_and_431_without_echo(camera: CameraThread) -> None:
    """RFC 9110 15.5.15 (414) and RFC 6585 5 (431): refused by status; the request's bytes are not echoed."""
    port = camera.ports["http"]
    long_url = _raw(port, b"GET /System/" + b"Q" * 8192 + b" HTTP/1.1\r\nHost: camera\r\n\r\n")
    assert long_url.startswith(b"HTTP/1.1 414 "), long_url[:200]
    assert b"QQQQ" not in long_url
    big_header = _raw(port, b"GET /System/DeviceInfo HTTP/1.1\r\nHost: camera\r\nX-Big: " + b"Z" * 9000 + b"\r\n\r\n")
    assert big_header.startswith(b"HTTP/1.1 431 "), big_header[:200]
    assert b"ZZZZ" not in big_header
    normal = requests.get(f"http://127.0.0.1:{port}/System/" + "Q" * 4000, auth=AUTH, timeout=10)
    assert normal.status_code == 404  # an unknown URL of a length every server must take (RFC 9112 3)


def test_server_header_is_the_product_in_http_and_rtsp(camera: CameraThread) -> None:
    http = requests.get(f"http://127.0.0.1:{camera.ports['http']}/System/DeviceInfo", auth=AUTH, timeout=10)
    assert http.headers["Server"] == PRODUCT
    assert requests.get(f"http://127.0.0.1:{camera.ports['http']}/nope", timeout=10).headers["Server"] == PRODUCT
    rtsp = _raw(camera.ports["rtsp"], b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n")
    assert f"\r\nServer: {PRODUCT}\r\n".encode() in rtsp, rtsp


def test_presentation_url_answers(camera: CameraThread) -> None:
    """UDA 1.0 2.3: presentationURL is a page, not a dead link; the description has a serviceList."""
    base = f"http://127.0.0.1:{camera.ports['http']}"
    desc = ET.fromstring(requests.get(base + "/upnp/description.xml", timeout=10).content)
    assert desc.find("u:device/u:serviceList", UPNP) is not None
    url = desc.findtext("u:device/u:presentationURL", namespaces=UPNP)
    page = requests.get(str(url), timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert Identity.serial in page.text


# -- SSDP ------------------------------------------------------------------------------------------------


def test_ssdp_reannounces_before_max_age(loop_runner: Any) -> None:
    """UDA 1.0 1.2.2: ssdp:alive again within half the max-age (scaled by the time scale), not only at start."""
    listener = d.multicast_socket(0, d.SSDP_GROUP, "127.0.0.1")
    port = listener.getsockname()[1]
    listener.settimeout(0.5)
    scale = 0.002  # max-age 1800 s -> re-announcement every 0.9-1.6 s
    responder = sim.SsdpResponder(sim.FakeCamera(), "127.0.0.1", port=port, multicast=True, time_scale=scale)
    alive: list[float] = []
    loop_runner(responder.start())
    try:
        deadline = time.monotonic() + 4.5
        while time.monotonic() < deadline:
            try:
                _, headers = d.parse_ssdp(listener.recv(2048))
            except TimeoutError:
                continue
            if headers.get("NTS") == "ssdp:alive" and headers.get("NT") == "upnp:rootdevice":
                alive.append(time.monotonic())
                assert headers["CACHE-CONTROL"] == f"max-age={sim.SsdpResponder.MAX_AGE}"
    finally:
        loop_runner(responder.stop())
        listener.close()
    gaps = [b - a for a, b in zip(alive, alive[1:], strict=False)]
    assert len(alive) >= 3, f"ssdp:alive at {alive}: announced only at start"
    assert all(g < 0.5 * sim.SsdpResponder.MAX_AGE * scale for g in gaps), gaps


@pytest.fixture
def loop_runner() -> Iterator[Any]:
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield lambda coro: asyncio.run_coroutine_threadsafe(coro, loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


@pytest.mark.parametrize("how", ["option", "environment"])
def test_kit_follows_the_ssdp_port(pytester: pytest.Pytester, how: str) -> None:
    """--bview-ssdp-port (or BVIEW_SSDP_PORT): the discovery suite searches the camera's SSDP port."""
    with CameraThread(CameraOptions(time_scale=0.01, ssdp_port=0, discovery=True, discovery_port=0)) as cam:
        ssdp = str(cam.ports["ssdp"])
        args = [str(ROOT / "suites" / "test_discovery.py"), "-k", "ssdp or upnp", f"--rootdir={ROOT}"]
        args += camera_args(cam, "--bview-discovery-port", str(cam.ports["discovery"]))
        if how == "option":
            args += ["--bview-ssdp-port", ssdp]
        env = {**os.environ, "BVIEW_SSDP_PORT": ssdp} if how == "environment" else dict(os.environ)
        env = {k: v for k, v in env.items() if not k.startswith("BVIEW_") or k == "BVIEW_SSDP_PORT"}
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", *args], cwd=pytester.path, env=env, capture_output=True, text=True
        )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "2 passed" in done.stdout, done.stdout[-2000:]


# -- logging ---------------------------------------------------------------------------------------------


def test_verbose_logs_requests_while_serving(tmp_path: Path) -> None:
    proc, ports = _start_sim(tmp_path, "-v", "--no-discovery")
    try:
        requests.get(f"http://127.0.0.1:{ports['http']}/System/DeviceInfo", auth=AUTH, timeout=10)
        _raw(ports["rtsp"], b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n")
    finally:
        err = _stop(proc)
    assert '"GET /System/DeviceInfo HTTP/1.1" 200' in err, err[-2000:]
    assert "OPTIONS * -> 200" in err, err[-2000:]
    assert "admin:admin" not in err and "Authorization" not in err


# -- RTCP ------------------------------------------------------------------------------------------------


def _udp_pair() -> tuple[socket.socket, socket.socket]:
    for _ in range(50):
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind(("127.0.0.1", 0))
        port = rtp.getsockname()[1]
        if port % 2 == 0:
            rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                rtcp.bind(("127.0.0.1", port + 1))
                return rtp, rtcp
            except OSError:
                rtcp.close()
        rtp.close()
    raise RuntimeError("no free even/odd UDP port pair")


def _rtcp_packets(data: bytes) -> list[tuple[int, int, bytes]]:
    """(packet type, count, body) of each packet of a compound RTCP packet (RFC 3550 6.1)."""
    out = []
    while data:
        first, pt, words = struct.unpack("!BBH", data[:4])
        assert first >> 6 == 2, f"RTCP version {first >> 6}"
        size = (words + 1) * 4
        out.append((pt, first & 0x1F, data[4:size]))
        data = data[size:]
    return out


def test_rtcp_sender_reports_carry_sdes_cname(camera: CameraThread) -> None:
    """RFC 3550 6.1: every RTCP packet is compound, SR first, with an SDES CNAME for the sender's SSRC."""
    from pytest_bview import media

    rtp, rtcp = _udp_pair()
    rtcp.settimeout(5)
    url = f"rtsp://127.0.0.1:{camera.ports['rtsp']}/live/0/sub"
    try:
        _, _, sdp = media.rtsp_request(url, "DESCRIBE", *AUTH)
        track = media.parse_sdp(sdp).first("video").control  # type: ignore[union-attr]
        setup_url = track if track and "://" in track else f"{url}/{track}"
        transport = f"RTP/AVP;unicast;client_port={rtp.getsockname()[1]}-{rtcp.getsockname()[1]}"
        status, headers, _ = media.rtsp_request(setup_url, "SETUP", *AUTH, headers={"Transport": transport})
        assert status == 200, status
        session = headers["Session"].split(";")[0]
        status, _, _ = media.rtsp_request(url, "PLAY", *AUTH, headers={"Session": session})
        assert status == 200, status
        packets = _rtcp_packets(rtcp.recv(2048))
        media.rtsp_request(url, "TEARDOWN", *AUTH, headers={"Session": session})
    finally:
        rtp.close()
        rtcp.close()
    assert [pt for pt, _, _ in packets] == [200, 202], packets
    (sr_ssrc,) = struct.unpack("!I", packets[0][2][:4])
    _, chunks, sdes = packets[1]
    ssrc, item, length = struct.unpack("!IBB", sdes[:6])
    assert chunks == 1 and ssrc == sr_ssrc and item == 1, (chunks, ssrc, sr_ssrc, item)
    cname = sdes[6 : 6 + length]
    assert cname and sdes[6 + length] == 0, sdes  # the item list ends with a null octet


# -- H.264: the bit rate is picture ----------------------------------------------------------------------


@pytest.mark.parametrize("stream_id", [1, 2])
def test_filler_is_under_a_tenth_of_the_stream_at_its_default_configuration(stream_id: int) -> None:
    """At the factory configuration the CBR stream is mostly picture: filler NAL units (type 12) < 10 %."""
    from pytest_bview.simulator import media
    from pytest_bview.simulator.media_service import settings

    with CameraThread(CameraOptions(time_scale=0.01, ssdp_port=0, discovery=False, media=False)) as cam:
        config = settings(cam.camera.device, stream_id)
    picture = media.Picture(config)
    encoder = media.H264Encoder(config.width, config.height, config.fps, config.bitrate_kbps, config.key_interval)
    frames = round(4 * config.fps)
    units = []
    for i in range(frames):
        units += encoder.encode(picture.render(i, 0.0), round(i * 90000 / config.fps))
    units += encoder.flush()
    share = media.filler_share(units)
    kbps = sum(u.size for u in units) * 8 / (frames / config.fps) / 1000
    print(f"\nstream {stream_id} {config.width}x{config.height} {config.bitrate_kbps} kbit/s: filler {share:.1%}")
    assert share < 0.10, f"{share:.1%} of the bytes are filler ({kbps:.0f} kbit/s for {config.bitrate_kbps})"
    assert abs(kbps / config.bitrate_kbps - 1) <= 0.10, f"{kbps:.0f} kbit/s for {config.bitrate_kbps} configured"
