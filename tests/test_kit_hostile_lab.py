"""The kit in a hostile lab: what a host on the camera's network can make the kit do, on loopback only.

- the rollback watchdog (relocate.Watch) believes a Discovery V2 reply only as far as it proves itself:
  the admin's credentials go to an address the run named, or to one whose unauthenticated UPnP
  description names the camera's serial number, never to whatever address a reply claims;
- a LOCATION the camera supplies (SSDP) is read only over http(s) on the camera's host, under the client's
  deadline and size cap, redirects not followed: file://, another host, a redirect, an endless body;
- the media client checks certificates as the HTTP client does (--bview-ca, --bview-insecure), and the
  built-in camera is started with the session's credentials (BVIEW_PASSWORD);
- dependency minimums are past the published advisories;
- every secret the session knows (those the suites set: SMTP, FTP, DDNS, user passwords, WiFi keys; those
  the camera shows though it must not) is absent from every artefact: console, junit.xml, results.json,
  report.html, pytest-html's report, reproduction curl lines included.
"""

from __future__ import annotations

import copy
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_bview import discovery as d
from pytest_bview import relocate
from pytest_bview.client import DeviceError, fetch_supplied

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
        elif self.path == "/endless":  # a body without end (close-delimited)
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.end_headers()
            chunk = b"<a>" * 21845
            try:
                while True:
                    self.wfile.write(chunk)
            except OSError:
                return
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


# -- a LOCATION the camera supplies --------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ("file:///dev/zero", "another host", "a redirect", "an endless body")


@pytest.fixture
def hostile_servers() -> Iterator[tuple[Recorder, Recorder]]:
    """`near` on the camera's host (127.0.0.1), redirecting to `far`, a description on another host."""
    far = Recorder("127.0.0.78", SERIAL)
    near = Recorder("127.0.0.1", SERIAL, {"/moved": (302, {"Location": f"{far.url}/description.xml"}, b"")})
    try:
        yield near, far
    finally:
        for server in (near, far):
            server.shutdown()
            server.server_close()


def _location(kind: str, near: Recorder, far: Recorder) -> str:
    return {
        "file:///dev/zero": "file:///dev/zero",
        "another host": f"{far.url}/description.xml",
        "a redirect": f"{near.url}/moved",
        "an endless body": f"{near.url}/endless",
    }[kind]


@pytest.mark.parametrize("kind", HOSTILE)
def test_fetch_supplied_refuses_or_bounds_a_hostile_location(hostile_servers: tuple[Recorder, Recorder], kind: str):
    near, far = hostile_servers
    location = _location(kind, near, far)
    started = time.monotonic()
    if kind in ("file:///dev/zero", "another host"):
        with pytest.raises(DeviceError, match="refused"):
            fetch_supplied(location, "127.0.0.1", timeout=5.0)
    else:
        ex = fetch_supplied(location, "127.0.0.1", timeout=5.0, max_body=256 * 1024)
        if kind == "a redirect":
            assert ex.status == 302 and "not followed" in ex.summary()
        else:
            assert ex.truncated and 256 * 1024 <= len(ex.body) <= 256 * 1024 + 16384, len(ex.body)
    assert time.monotonic() - started < 5.0
    assert far.seen == [], far.seen  # nothing reached the other host, redirect or not
    assert all(auth is None for _, _, auth in near.seen), near.seen


FAKE_SSDP = """
import pytest_bview.discovery as d

def ssdp_search(st="ssdp:all", timeout=2.0, destination=d.SSDP_GROUP, port=d.SSDP_PORT, interface=None):
    headers = {{"LOCATION": {location!r}, "ST": "upnp:rootdevice", "USN": "uuid:x::upnp:rootdevice"}}
    return [((destination, port), "HTTP/1.1 200 OK", headers)]

d.ssdp_search = ssdp_search  # the camera's SSDP answer names the hostile LOCATION
"""


@pytest.mark.parametrize("kind", HOSTILE)
def test_upnp_description_check_survives_a_hostile_location(
    pytester: pytest.Pytester, hostile_servers: tuple[Recorder, Recorder], kind: str
) -> None:
    """suites/test_discovery.py::test_upnp_description_agrees_with_rest against the built-in camera whose SSDP
    answer names a hostile LOCATION: the check fails with a message saying why, within its deadline, and reads
    nothing it should not."""
    near, far = hostile_servers
    pytester.makepyfile(fakessdp=FAKE_SSDP.format(location=_location(kind, near, far)))
    started = time.monotonic()
    result = pytester.runpytest_subprocess(
        str(ROOT / "suites" / "test_discovery.py") + "::test_upnp_description_agrees_with_rest",
        f"--rootdir={ROOT}", "-p", "no:cacheprovider", "-p", "fakessdp", "--bview-time-scale=0.01",
        "--bview-timeout=5", f"--bview-report-dir={pytester.path / 'reports'}",
        timeout=120,
    )  # fmt: skip
    out = result.stdout.str()
    result.assert_outcomes(failed=1)
    assert "MemoryError" not in out and "Traceback" not in out, out[-3000:]
    expected = {
        "file:///dev/zero": "refused: the kit fetches only http(s) URLs",
        "another host": "refused: it points away from the device at 127.0.0.1",
        "a redirect": "(redirect to http://127.0.0.78",
        "an endless body": "(cut at the size cap)",
    }[kind]
    assert expected in out, out[-3000:]
    assert far.seen == [] and all(auth is None for _, _, auth in near.seen), (far.seen, near.seen)
    assert time.monotonic() - started < 60


# -- TLS of the media client; the built-in camera's credentials ----------------------------------------------


@pytest.fixture(scope="module")
def tls_camera() -> Iterator[Any]:
    from pytest_bview.simulator.camera import CameraOptions, CameraThread

    with CameraThread(CameraOptions(time_scale=0.01, ssdp_port=0, discovery=False, https=True)) as cam:
        yield cam


def test_media_client_checks_certificates_like_the_http_client(tls_camera: Any) -> None:
    from pytest_bview import media

    url = f"https://127.0.0.1:{tls_camera.ports['http']}/Snapshot/1/RemoteImageCapture"
    with pytest.raises(media.MediaError, match="TLS to .* failed.*CERTIFICATE_VERIFY_FAILED.*--bview-ca FILE"):
        media.http_request("GET", url, "admin", "admin", 5.0)
    for verify in (tls_camera.ports["certificate"], False):
        status, headers, body = media.http_request("GET", url, "admin", "admin", 5.0, verify=verify)
        assert status == 200 and media.check_jpeg(body) is None, (verify, status, headers)
    mjpeg = url.replace("/Snapshot/1/RemoteImageCapture", "/Streams/1/4/ReceiveData")
    with pytest.raises(media.MediaError, match="CERTIFICATE_VERIFY_FAILED"):
        media.read_mjpeg(mjpeg, "admin", "admin", frames=1, timeout=5.0)
    assert media.read_mjpeg(mjpeg, "admin", "admin", frames=1, timeout=5.0, verify=False).violations == []


def test_stream_probe_checks_rtsps_certificates(tls_camera: Any) -> None:
    """FFmpeg opens rtsps:// without the kit's TLS options: probe_stream checks the certificate first, as the HTTP
    client does (the camera's TLS port stands for an rtsps server here; its answer is not RTSP)."""
    from pytest_bview import media

    url = f"rtsps://127.0.0.1:{tls_camera.ports['http']}/live/0/main"
    with pytest.raises(media.MediaError, match="TLS to .* failed.*CERTIFICATE_VERIFY_FAILED.*--bview-ca FILE"):
        media.probe_stream(url, "admin", "admin", 0.5, timeout=5.0)
    for verify in (tls_camera.ports["certificate"], False):  # checked and passed: FFmpeg then finds no RTSP there
        with pytest.raises(media.MediaError, match="cannot open rtsps://") as caught:
            media.probe_stream(url, "admin", "admin", 0.5, timeout=5.0, verify=verify)
        assert "CERTIFICATE_VERIFY_FAILED" not in str(caught.value)


@pytest.mark.parametrize("option", ["--bview-ca={certificate}", "--bview-insecure"])
def test_media_checks_honour_the_tls_options(pytester: pytest.Pytester, tls_camera: Any, option: str) -> None:
    """The suites' MJPEG and snapshot checks against an https camera with a self-signed certificate."""
    result = pytester.runpytest_subprocess(
        str(ROOT / "suites" / "test_media.py"), "-k", "test_mjpeg_multipart or test_snapshot_size",
        f"--rootdir={ROOT}", "-p", "no:cacheprovider", "--bview-host=127.0.0.1",
        f"--bview-port={tls_camera.ports['http']}", f"--bview-rtsp-port={tls_camera.ports['rtsp']}",
        "--bview-scheme=https", "--bview-time-scale=0.01", f"--bview-report-dir={pytester.path / 'reports'}",
        option.format(certificate=tls_camera.ports["certificate"]),
        timeout=180,
    )  # fmt: skip
    result.assert_outcomes(passed=2)


def test_builtin_camera_is_started_with_the_session_password(pytester: pytest.Pytester) -> None:
    """`BVIEW_PASSWORD=... pytest suites` as the README advises: the built-in camera takes that password, the
    suites log in with it (users, authentication and RTSP checks), and the old default is refused."""
    pytester.makepyfile(
        test_default_refused="""
        from pytest_bview.client import Client

        def test_default_password_refused(bview):
            assert bview.sim is not None and bview.password == "another-S3cret"
            other = Client(bview.client.base_url, bview.user, "admin")
            assert other.get("/System/DeviceInfo").status == 401
            other.close()
        """
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BVIEW_PASSWORD", "another-S3cret")
        result = pytester.runpytest_subprocess(
            str(pytester.path / "test_default_refused.py"), str(ROOT / "suites" / "test_protocol.py"),
            str(ROOT / "suites" / "test_users.py"), str(ROOT / "suites" / "test_media.py") + "::test_sdp",
            f"--rootdir={ROOT}", "-p", "no:cacheprovider", "--bview-time-scale=0.01",
            f"--bview-report-dir={pytester.path / 'reports'}",
            timeout=300,
        )  # fmt: skip
    outcomes = result.parseoutcomes()
    assert result.ret == 0 and outcomes.get("passed", 0) > 20, result.stdout.str()[-3000:]


# -- dependency minimums -------------------------------------------------------------------------------------

# The first release past the published advisories of each dependency that reads hostile input or runs the
# reference camera's server (the kit never accepts a minimum below these).
ADVISORY_FLOORS = {
    "aiohttp": "3.13.3",  # request smuggling (CVE-2024-52304, CVE-2025-53643) and the 3.13.3 DoS fixes
    "requests": "2.32.4",  # CVE-2024-47081
    "urllib3": "2.6.3",  # CVE-2025-66471, CVE-2026-21441: decompression bombs while streaming
    "pillow": "10.3",  # CVE-2024-28219
    "cryptography": "42.0.4",  # CVE-2024-26130
    "setuptools": "70",  # CVE-2024-6345 (build time)
}


def test_dependency_minimums_are_past_published_advisories() -> None:
    import tomllib

    from packaging.requirements import Requirement
    from packaging.version import Version

    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    declared = [Requirement(r) for r in project["project"]["dependencies"] + project["build-system"]["requires"]]
    minimums = {r.name.lower(): min((Version(s.version) for s in r.specifier if s.operator == ">="), default=None)
                for r in declared}  # fmt: skip
    low = {name: str(minimums.get(name)) for name, floor in ADVISORY_FLOORS.items()
           if minimums.get(name) is None or minimums[name] < Version(floor)}  # fmt: skip
    assert not low, f"dependency minimums below their advisories' fixes: {low} (floors {ADVISORY_FLOORS})"


# -- every secret the session knows, in no artefact ----------------------------------------------------------

SESSION_PASSWORD = "Sess-Pw-never-shown-71"
CAMERA_ONLY = {"/Network/FTP": "Ftp-only-the-camera-knew-5", "/Network/DDNS/Config": "Ddns-camera-secret-6"}
# the secrets the suites below set themselves (their sources); the camera's store gives the rest afterwards
SUITE_SECRETS = ("mail-pass", "bview-ftp", "Wo-Secret-4711", "First-Secret-1", "Second-Secret-2", "password123",
                 "different1")  # fmt: skip
LEAKY_FAULTS = (
    "config-wo-field-returned",  # write-only fields in GET answers: the camera shows what it must not
    "config-wo-changed-returned",
    "rule-wifi-key-alternatives-disagree",
    "email-auth-ignored",
    "ftp-status-static",
    "users-password-not-changed",
    "userauth-always-ok",
    "http-xml-content-type",
)
SECRET_CHECKS = (
    "suites/test_config.py::test_write_only_never_returned",
    "suites/test_config.py::test_write_only_empty_keeps",
    "suites/test_config.py::test_dependent_fields[Wireless KeyValue and KeyValueB64 disagree]",
    "suites/test_schema.py::test_write_only_fields_absent",
    "suites/test_email.py::test_smtp_auth_login",
    "suites/test_ftp.py::test_status_tells_connection",
    "suites/test_users.py",
    "suites/test_protocol.py::test_wrong_password_refused",
)


def _stored_secrets(doc: Any) -> set[str]:
    """Every value of a secret element anywhere in a stored document."""
    from pytest_bview.spec.blocks import SECRET_ELEMENTS

    if isinstance(doc, dict):
        out = {str(v) for k, v in doc.items() if k in SECRET_ELEMENTS and isinstance(v, str)}
        return out.union(*(_stored_secrets(v) for v in doc.values()))
    if isinstance(doc, list):
        return set().union(*(_stored_secrets(v) for v in doc))
    return set()


def _forms(secret: str) -> dict[str, bytes]:
    import base64
    import html
    import json
    import urllib.parse

    return {
        "as is": secret.encode(),
        "XML-escaped": html.escape(secret, quote=False).encode(),
        "JSON-escaped": json.dumps(secret)[1:-1].encode(),
        "URL-encoded": urllib.parse.quote(secret, safe="").encode(),
        "Basic token": base64.b64encode(f"admin:{secret}".encode()),
    }


# A plugin of the session under test (not of the kit): it gives the built-in camera secrets the session never
# sends, before the first test, and writes down every document the camera stored during the session (users
# added and deleted again included) and holds at its end: the oracle of the credentials it was given.
ORACLE = """
import json, os
import pytest
from pytest_bview import plugin

CAMERA_ONLY = {camera_only!r}
STORED = []

@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    store = plugin._target(session.config).sim.camera.device.store
    for path, secret in CAMERA_ONLY.items():
        store.commit(resources={{path: {{**(store.get(path) or {{}}), "Password": secret}}}})
    commit = store.commit

    def recording(resources=None, extra=None, **kw):
        STORED.extend((resources or {{}}).values())
        return commit(resources, extra, **kw)

    store.commit = recording

@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    store = session.config.stash[plugin.TARGET_KEY].sim.camera.device.store
    with open(os.environ["BVIEW_ORACLE"], "w") as f:
        json.dump(STORED + [store.get(key) for key in store.keys()], f, default=str)
"""


def test_no_secret_the_session_knows_lands_in_any_artefact(pytester: pytest.Pytester) -> None:
    """The suites that set SMTP, FTP, DDNS, user passwords and WiFi keys, against the built-in camera with faults
    that show secrets it must not (write-only fields in its answers, ones the session never sent) and fail
    checks, so that messages, exchanges and curl lines are written: no artefact holds any of them, in any form.
    (The restore journal keeps no write-only value either; it keeps the readable ones it must put back.)"""
    import json

    pytester.makepyfile(secretoracle=ORACLE.format(camera_only=CAMERA_ONLY))
    oracle = pytester.path / "oracle.json"
    reports, junit, html = pytester.path / "reports", pytester.path / "junit.xml", pytester.path / "pytest-html.html"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BVIEW_PASSWORD", SESSION_PASSWORD)
        mp.setenv("BVIEW_ORACLE", str(oracle))
        result = pytester.runpytest_subprocess(
            *(str(ROOT / c) for c in SECRET_CHECKS), f"--rootdir={ROOT}", "-p", "no:cacheprovider",
            "-p", "secretoracle", *(f"--bview-sim-fault={f}" for f in LEAKY_FAULTS), "--bview-time-scale=0.01",
            f"--bview-report-dir={reports}", f"--junitxml={junit}", f"--html={html}", "-rA", "--log-level=DEBUG", "-v",
            timeout=600,
        )  # fmt: skip
    out = result.stdout.str() + result.stderr.str()
    known = set().union(*(_stored_secrets(doc) for doc in json.loads(oracle.read_text())))
    known |= {SESSION_PASSWORD, *CAMERA_ONLY.values(), *SUITE_SECRETS}
    known = {k for k in known if len(k) >= 4 and k != "admin"}
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 8 and outcomes.get("passed", 0) > 0, out[-3000:]
    assert "Reproduce with: curl" in out and any(p.name == "results.json" for p in reports.rglob("*")), out[-3000:]
    artefacts = {"console": out.encode(), "junit.xml": junit.read_bytes(), "pytest-html": html.read_bytes()}
    artefacts |= {str(p.relative_to(pytester.path)): p.read_bytes() for p in reports.rglob("*") if p.is_file()}
    journals = {k for k in artefacts if "journal-" in k}
    leaks = {
        f"{secret!r} ({form}) in {where}"
        for secret in known
        for form, data in _forms(secret).items()
        for where, text in artefacts.items()
        if data in text
    }
    assert not leaks, f"{len(leaks)} leaks: {sorted(leaks)[:20]}"
    # the evidence that held them was written, redacted (the grep looked where they would have been)
    for marker in (b"<SenderEmailPassword>****", b"<Password>****</Password>", b"<KeyValue>****"):
        assert any(marker in text for text in artefacts.values()), marker
    assert journals and {*CAMERA_ONLY.values(), "mail-pass", "Wo-Secret-4711"} <= known, (journals, known)
    assert any(re.fullmatch(r"Pw[0-9a-f]{8}", k) for k in known), known  # test_users' temporary users


def test_secrets_registry_learns_and_sweeps_every_form() -> None:
    """client.Secrets: learned from XML (escaped, namespaced, WiFi keys both ways) and form bodies; swept as
    is, escaped, URL-encoded and inside a Basic token; short values and user names are left alone."""
    import base64

    from pytest_bview.client import Secrets

    registry = Secrets("admin", 'Sess&Pw"1')
    registry.learn(b'<x:User><x:Password a="1">P&amp;w-42</x:Password><KeyValueB64>ZGlmZmVyZW50MQ==</KeyValueB64>'
                   b"<Password>abc</Password><Password>admin</Password></x:User>")  # fmt: skip
    registry.learn(b"Username=x&Password=Form-Pw%2B1", "application/x-www-form-urlencoded")
    registry.learn_query("a=1&password=Query-Pw-3")
    assert registry.values == {'Sess&Pw"1', "P&w-42", "ZGlmZmVyZW50MQ==", "different1", "Form-Pw+1", "Query-Pw-3"}
    basic = base64.b64encode(b"admin:P&w-42").decode()
    text = f'Sess&amp;Pw&quot;1 P&w-42 different1 Form-Pw%2B1 Form-Pw+1 Sess&Pw\\"1 {basic} abc admin'
    assert registry.redact(text) == "**** **** **** **** **** **** **** abc admin"
    # a camera flooding its answers with passwords fills only its own share; what the kit sends still counts
    registry.learn(b"".join(b"<Password>flood-%06d</Password>" % i for i in range(10000)), shown=True)
    registry.learn(b"<FTP><Password>Sent-After-Flood</Password></FTP>")
    assert len(registry.values) <= 6 + Secrets.MAX_SHOWN + 1 and "Sent-After-Flood" in registry.values


# -- the watchdog over https: the session's CA, the name relaxed only to the pinned certificate ------------------


def _tls_recorder(address: str, port: int, cert: Path, key: Path) -> Recorder:
    import ssl

    server = Recorder.__new__(Recorder)
    server.seen, server.serial, server.routes = [], SERIAL, {}
    ThreadingHTTPServer.__init__(server, (address, port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _https_watch(port: int, ca: str | bool) -> relocate.Watch:
    settings = SimpleNamespace(scheme="https", user="admin", password=PASSWORD, insecure=ca is False, ca=ca or None)
    target = SimpleNamespace(settings=settings, host="127.0.0.1", discovery_port=0, discovery_iface=None)
    return relocate.Watch(target, MAC, port, "127.0.0.1", probe_s=2.0)


def test_watchdog_checks_certificates_pinning_the_moved_cameras(tmp_path: Path) -> None:
    """A camera that moved shows the certificate naming its old address: the watchdog takes it at the new address
    only as the certificate it pinned at the old one, chained to the session's CA. A certificate outside the CA is
    not the camera, whatever address it names; --bview-insecure checks nothing, as the session does."""
    from pytest_bview.simulator.tls import certificate

    cert, key = certificate(tmp_path / "camera", "127.0.0.1")  # names localhost, 127.0.0.1, ::1
    other_cert, other_key = certificate(tmp_path / "other", LIAR)  # names the new address, not under the CA
    old = _tls_recorder("127.0.0.1", 0, cert, key)
    port = old.server_address[1]
    try:
        watch = _https_watch(port, str(cert))
        assert len(watch.pin) == 64
        watch.trust(LIAR)
        moved = _tls_recorder(LIAR, port, cert, key)
        try:
            assert watch.answers_at(LIAR)  # the pinned certificate, its name relaxed
            pinless = copy.copy(watch)
            pinless.pin = ""
            assert not pinless.answers_at(LIAR)  # without the pin: the name is checked, and fails
        finally:
            moved.shutdown()
            moved.server_close()
        impostor = _tls_recorder(LIAR, port, other_cert, other_key)
        try:
            assert not watch.answers_at(LIAR) and not impostor.authorised()
            assert _https_watch(port, False).answers_at("127.0.0.1")  # --bview-insecure: as the session, no checks
        finally:
            impostor.shutdown()
            impostor.server_close()
    finally:
        old.shutdown()
        old.server_close()
