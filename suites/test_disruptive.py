"""The disruptive tier: reboot (9.2.7), factory default (9.2.8), firmware upgrade (9.2.6), configuration
file (9.2.3 /System/DeviceConfigFile), automatic maintenance (9.2.4 DeviceAutoMaintenance), network
identity (9.1.4 /Network/Port, 9.1.5 /Network/P2P) and format (9.10.4, 9.11).

Each operation is checked for what it does and for what it must not lose, and each test leaves the
camera as it found it (verified), or fails saying what it could not put back. Every wait has a
deadline scaled by --bview-time-scale; the health gate after a restart is DeviceInfo answering again
and, if RTSP answered before, a DESCRIBE of the main stream.
"""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import socket
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from pytest_bview import lab, relocate
from pytest_bview.checks import check_status, expect, fail, status_code
from pytest_bview.client import Client, Exchange
from pytest_bview.documents import comparable
from pytest_bview.lab import Lab
from pytest_bview.protocol.xmlblocks import to_xml
from pytest_bview.restarts import (
    COME_BACK_S,
    GO_DOWN_S,
    answers,
    expect_back,
    poll_s,
    rtsp_answers,
    scaled,
    wait_restart,
)
from pytest_bview.restore import mark_away
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.facts import CLOCK_FIELDS, FACTORY_KEEPS, FACTORY_USERS, RUNTIME_BLOCKS
from pytest_bview.spec.resources import RESOURCES, Instances
from pytest_bview.spec.status import Status
from pytest_bview.spec.streams import STREAMS
from pytest_bview.target import urlhost

pytestmark = [pytest.mark.disruptive]

COLOR = "/Images/1/Color"
RECORD = "/Record"
OSD = "/Pictures/1/OSD"
INFO = "/System/DeviceInfo"
PORT = "/Network/Port"
P2P = "/Network/P2P"
MAINTENANCE = "/System/DeviceAutoMaintenance"
CONFIG_FILE = "/System/DeviceConfigFile"
TEST_COLOR = {"Mode": "manual", "Brightness": "61", "Contrast": "39", "Saturation": "57"}
# device-imposed durations at time scale 1 (a camera that takes longer is broken, not slow); going away and
# coming back: restarts.py GO_DOWN_S, COME_BACK_S
FLASH_S = 600.0  # writing a firmware package before its reboot
FORMAT_S = 600.0
MAINTENANCE_LEAD_S = 120.0  # how far ahead of the device clock a maintenance restart is scheduled
DHCP_RETRANSMIT_S = 4.0  # RFC 2131 4.1: "the delay before the first retransmission SHOULD be 4 seconds"


# -- configuration snapshots -------------------------------------------------------------------------------


def config_paths() -> list[str]:
    """Every resource that holds configuration of its own (GET and PUT of a block, no parts)."""
    out = []
    for r in RESOURCES:
        if r.block and not r.parts and r.block not in RUNTIME_BLOCKS and r.op("GET") and r.op("PUT"):
            out.extend(Instances().expand(r))
    return [*out, "/System/Users"]


def snapshot(bview, client: Client | None = None) -> dict[str, Any]:
    """path -> document of every configuration resource the camera answers."""
    client = client or bview.client
    out: dict[str, Any] = {}
    for path in config_paths():
        ex = client.get(path)
        if ex.status == 200:
            out[path] = comparable(_doc(ex, path), CLOCK_FIELDS)  # the clock changes by itself
    return out


def _doc(ex: Exchange, path: str) -> Any:
    from pytest_bview.checks import read_block
    from pytest_bview.spec.resources import match

    found = match(path)
    assert found is not None and found[0].block
    return read_block(ex, found[0].block, found[0].section)


def differences(before: dict[str, Any], after: dict[str, Any], ignore: tuple[str, ...] = ()) -> list[str]:
    out = []
    for path in sorted(set(before) | set(after)):
        a, b = before.get(path), after.get(path)
        if isinstance(a, dict) and isinstance(b, dict):
            a = {k: v for k, v in a.items() if f"{path}#{k}" not in ignore}
            b = {k: v for k, v in b.items() if f"{path}#{k}" not in ignore}
        if a != b:
            out.append(f"{path}: {_short(a)} -> {_short(b)}")
    return out


def _short(doc: Any) -> str:
    text = repr(doc)
    return text if len(text) < 300 else text[:297] + "..."


def report(record_property, name: str, value: float | None, text: str) -> None:
    record_property(name, value)
    print(f"bview: {text}")


# -- firmware packages -----------------------------------------------------------------------------------------


def multipart(data: bytes, filename: str = "bview-test.pkg") -> tuple[bytes, dict[str, str]]:
    """9.2.6: multipart/form-data with the field setting_file."""
    boundary = "bview" + secrets.token_hex(12)
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="setting_file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def upload(bview, data: bytes) -> Exchange:
    body, headers = multipart(data)
    return bview.client.put("/System/FirmwareUpgrade", body, headers=headers, timeout=max(60.0, bview.timeout))


def bumped(version: str) -> str:
    parts = [int(p) if p.isdigit() else 0 for p in version.split(".")] or [0]
    parts[-1] += 1
    return ".".join(map(str, parts)) if len(parts) > 1 else f"{parts[0]}.0.1"


def software_version(bview) -> str:
    return str(bview.read(INFO)[0].get("SoftWareVersion", ""))


# ==============================================================================================================
# 9.2.7 Reboot
# ==============================================================================================================


@pytest.mark.system
@pytest.mark.bview_rule("reboot-restarts", "reboot-keeps-configuration")
def test_reboot(bview, record_property) -> None:
    """9.2.7: the camera goes away and comes back (DeviceInfo, RTSP DESCRIBE); nothing is lost."""
    with bview.preserved(COLOR):
        bview.write(COLOR, TEST_COLOR)
        before = snapshot(bview)
        rtsp = rtsp_answers(bview)
        t0 = time.monotonic()
        ex = bview.client.put("/System/Reboot")
        check_status(ex, Status.OK, "9.2.7")
        r = wait_restart(bview, t0, rtsp=rtsp)
        report(record_property, "reboot_seconds", r.http_s, f"reboot: {r.figure()}")
        expect(
            r.went_away,
            f"answered 0 to PUT /System/Reboot and kept answering for {scaled(bview, GO_DOWN_S, 3.0):g} s",
            "the camera reboots",
            "9.2.7",
            ex,
        )
        expect_back(bview, r, "9.2.7", "PUT /System/Reboot", rtsp, ex)
        lost = differences(before, snapshot(bview))
        expect(
            not lost, f"changed after the reboot: {'; '.join(lost)}", "a reboot keeps the configuration", "9.2.7", ex
        )


# ==============================================================================================================
# 9.2.8 Factory default
# ==============================================================================================================


def export_config(bview) -> bytes | None:
    ex = bview.client.get(CONFIG_FILE)
    return ex.body if ex.status == 200 and ex.body and not ex.truncated and status_code(ex) is None else None


def restore(bview, before: dict[str, Any], config_file: bytes | None, section: str, *exchanges: Exchange) -> None:
    """Put the pre-test configuration back (the configuration file, then resource by resource) and verify."""
    if config_file is not None:
        ex = bview.client.put(CONFIG_FILE, config_file, headers={"Content-Type": "application/octet-stream"})
        if status_code(ex) == 0:
            wait_restart(bview, time.monotonic(), down_within=scaled(bview, 1.0, 0.3))
    now = snapshot(bview)
    for path, doc in before.items():
        if path != "/System/Users" and now.get(path) != doc:
            bview.write(path, doc)
    left = differences(before, snapshot(bview))
    expect(
        not left,
        f"could not be put back as found: {'; '.join(left)}",
        "the suite restores the pre-test configuration (DeviceConfigFile, then PUT per resource)",
        section,
        *exchanges,
    )


def stream_defaults_differences(bview) -> list[str]:
    """Chapter 8: "Default value are indicated by * or in brackets"."""
    out = []
    for sid, spec in STREAMS.items():
        path = f"/Streams/1/{sid}"
        ex = bview.client.get(path)
        if ex.status != 200:
            continue
        doc = _doc(ex, path)
        wanted = {
            "ResolutionWidth": str(spec.default_resolution[0]),
            "ResolutionHeigth": str(spec.default_resolution[1]),
            "FrameRate": str(spec.default_frame_rate_field),
        }
        if spec.default_bitrate_kbps is not None:
            wanted["Bitrate"] = str(spec.default_bitrate_kbps)
        out += [f"{path} {k} {doc.get(k)!r} (default {v})" for k, v in wanted.items() if doc.get(k) != v]
    return out


def documented_differences(bview, lab: Lab) -> list[str]:
    """With the reference camera's lab: every resource holds the value the reference camera documents, except
    what a factory default keeps (ERRATA.md L15, L16) and the users (checked on their own)."""
    documented = lab.factory_values()
    out = []
    for path, doc in snapshot(bview).items():
        if path in FACTORY_KEEPS or path == "/System/Users" or path not in documented:
            continue
        want = comparable(documented[path], CLOCK_FIELDS)
        out += [f"{path} {k} {doc[k]!r} (documented {want[k]!r})" for k in want if k in doc and doc[k] != want[k]]
    return out


@contextlib.contextmanager
def extra_user(bview) -> Iterator[str]:
    name = f"bv{secrets.token_hex(3)}"
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><User><ID/><UserName>{name}</UserName>'
        f"<Password>Pw{secrets.token_hex(4)}</Password><UserLevel>Normal</UserLevel><IPAddress/><MACAddress/></User>"
    )
    check_status(bview.client.request("POST", "/System/Users/1", body), Status.OK, "9.2.1", "adding a Normal user")
    yield name


@pytest.mark.system
@pytest.mark.bview_rule("factory-default-values", "factory-default-users")
def test_factory_default(bview, record_property) -> None:
    """9.2.8: every resource returns to its documented default (chapter 8 streams, users reduced to
    the admin); then the suite restores the pre-test configuration and verifies it."""
    before = snapshot(bview)
    config_file = export_config(bview)
    ex = None
    try:
        bview.write(COLOR, TEST_COLOR)
        bview.write("/Streams/1/1", {"ResolutionWidth": "1024", "ResolutionHeigth": "768", "Bitrate": "4096"})
        with extra_user(bview) as name:
            t0 = time.monotonic()
            ex = bview.client.put("/System/FactoryDefault")
            check_status(ex, Status.OK, "9.2.8")
            r = wait_restart(bview, t0)
            report(record_property, "factory_default_seconds", r.http_s, f"factory default: {r.figure()}")
            expect_back(bview, r, "9.2.8", "PUT /System/FactoryDefault", False, ex)
            users, get = bview.read("/System/Users")
            names = [u.get("UserName") for u in users.get("User", [])]
            expect(
                [u.get("ID") for u in users.get("User", [])] == list(FACTORY_USERS),
                f"has the users {names} after a factory default (the test added {name!r})",
                "users reduced to the admin (ID 0) (ERRATA.md L15)",
                "9.2.8",
                ex,
                get,
            )
            streams = stream_defaults_differences(bview)
            expect(not streams, f"holds {'; '.join(streams)}", "the chapter 8 stream defaults", "8", ex)
            color, get = bview.read(COLOR)
            expect(
                any(color.get(k) != v for k, v in TEST_COLOR.items()),
                f"still holds the test's image settings {TEST_COLOR}",
                "factory values",
                "9.2.8",
                ex,
                get,
            )
            if bview.lab is not None:
                rest = documented_differences(bview, bview.lab)
                expect(not rest, f"holds {'; '.join(rest[:10])}", "the documented factory values", "9.2.8", ex)
    finally:
        restore(bview, before, config_file, "9.2.8", *([ex] if ex else []))


# ==============================================================================================================
# 9.2.6 Firmware upgrade
# ==============================================================================================================


def _corrupt(data: bytes) -> bytes:
    """Flip bytes inside the content (past any header), as a bad download does."""
    out = bytearray(data)
    for at in (len(out) * 2 // 3, len(out) - 5):
        out[at] ^= 0x5A
    return bytes(out)


BAD_PACKAGES = (
    "truncated",
    "corrupt",
    pytest.param("wrong-model", marks=pytest.mark.bview_lab("a package of another model in the camera's format")),
    "empty",
)


def bad_package(bview, kind: str) -> bytes:
    if kind == "empty":
        return b""
    if kind == "wrong-model":
        return bview.lab.firmware_package("BVIEW-OTHER-MODEL", bumped(bview.firmware))
    if bview.settings.firmware:
        with open(bview.settings.firmware, "rb") as f:
            good = f.read()
    else:
        good = lab.required(bview, "a package to damage (or --bview-firmware FILE)").firmware_package(
            bview.model, bumped(bview.firmware)
        )
    return good[: len(good) // 2] if kind == "truncated" else _corrupt(good)


@pytest.mark.system
@pytest.mark.parametrize("kind", BAD_PACKAGES)
@pytest.mark.bview_rule(
    "firmware-bad-package-refused", "firmware-failure-status-positive", "firmware-refusal-changes-nothing"
)
def test_bad_firmware_refused(bview, kind: str) -> None:
    """9.2.6 + 7 note: a truncated, corrupt, wrong-model or empty package is refused with a statusCode
    greater than zero, and the camera keeps running on its old version with its configuration intact."""
    with bview.preserved(COLOR):
        bview.write(COLOR, TEST_COLOR)
        version = software_version(bview)
        before = snapshot(bview)
        t0 = time.monotonic()
        ex = upload(bview, bad_package(bview, kind))
        code = status_code(ex)
        # a camera that took it would now flash and reboot: give it the time to, then look again
        r = wait_restart(bview, t0, rtsp=False, down_within=scaled(bview, 120.0, 1.5))
        expect_back(bview, r, "9.2.6", f"uploading a {kind} package", False, ex)
        expect(
            code is not None and code > 0,
            f"answered statusCode {code} (HTTP {ex.status}) to a {kind} package",
            "an update failure: a statusCode greater than zero (chapter 7 note)",
            "9.2.6",
            ex,
        )
        now = software_version(bview)
        expect(now == version, f"reports SoftWareVersion {now!r} (was {version!r})", "the old version", "9.2.6", ex)
        lost = differences(before, snapshot(bview))
        expect(not lost, f"changed: {'; '.join(lost)}", "a refused package changes nothing", "9.2.6", ex)


@pytest.mark.system
@pytest.mark.bview_rule("firmware-upgrade-applied")
def test_firmware_upgrade(bview, record_property) -> None:
    """9.2.6: a valid package answers 0, the camera reboots and reports the new SoftWareVersion,
    configuration intact. Runs with --bview-firmware FILE, or with the built-in camera (reference
    packages, then back to the old version)."""
    old = software_version(bview)
    if bview.settings.firmware:
        with open(bview.settings.firmware, "rb") as f:
            package, target_version = f.read(), None
    elif bview.lab is not None:
        target_version = bumped(old)
        package = bview.lab.firmware_package(bview.model, target_version)
    else:
        pytest.skip("no firmware package: give one with --bview-firmware FILE")
    before = snapshot(bview)
    t0 = time.monotonic()
    ex = upload(bview, package)
    check_status(ex, Status.OK, "9.2.6", "a valid package for this model")
    r = wait_restart(bview, t0, down_within=scaled(bview, FLASH_S, 5.0))
    report(
        record_property, "upgrade_seconds", r.http_s, f"firmware upgrade to {target_version or 'FILE'}: {r.figure()}"
    )
    expect(r.went_away, "accepted the package and never restarted", "the upgrade reboots the camera", "9.2.6", ex)
    expect_back(bview, r, "9.2.6", "a firmware upgrade", True, ex)
    new = software_version(bview)
    expect(
        new != old and (target_version is None or new == target_version),
        f"reports SoftWareVersion {new!r} after the upgrade (was {old!r}, package {target_version or 'FILE'})",
        "the new SoftWareVersion after the reboot the upgrade causes",
        "9.2.6",
        ex,
    )
    lost = differences(before, snapshot(bview), ignore=(f"{INFO}#SoftWareVersion",))
    expect(not lost, f"lost configuration in the upgrade: {'; '.join(lost)}", "configuration intact", "9.2.6", ex)
    if bview.lab is not None:  # back to the version found
        t1 = time.monotonic()
        back = upload(bview, bview.lab.firmware_package(bview.model, old))
        check_status(back, Status.OK, "9.2.6", "reinstalling the version found")
        expect_back(
            bview, wait_restart(bview, t1, down_within=scaled(bview, FLASH_S, 5.0)), "9.2.6", "a downgrade", True
        )
        expect(software_version(bview) == old, "did not go back to the old version", "leave as found", "9.2.6", back)
    else:
        print(f"bview: the camera now runs {new} (was {old}); the suite cannot downgrade it")


# ==============================================================================================================
# 9.2.3 Configuration file
# ==============================================================================================================


CHANGES = {
    COLOR: TEST_COLOR,
    RECORD: {"PreRecord": "11", "DelayRecord": "13"},
    OSD: {"DisplayName": {"Name": "bview config file"}},
    INFO: {"DeviceName": "bview-config-file"},
}


def config_file(bview) -> bytes:
    data = export_config(bview)
    if data is None:
        ex = bview.client.exchanges[-1]
        fail(f"answered HTTP {ex.status} without a file", "GET gives the configuration file", "9.2.3", ex)
    return data


def put_config(bview, data: bytes) -> Exchange:
    return bview.client.put(CONFIG_FILE, data, headers={"Content-Type": "application/octet-stream"})


def expect_file_refused(bview, ex: Exchange, before: dict[str, Any], what: str) -> None:
    """9.2.3 + 7: the import of `what` is refused with an error code and changes nothing."""
    code = status_code(ex)
    expect(
        code is not None and code < 0,
        f"answered statusCode {code} (HTTP {ex.status}) to {what}",
        "a ResponseStatus with an error code (chapter 7)",
        "9.2.3",
        ex,
    )
    left = differences(before, snapshot(bview))
    expect(not left, f"changed: {'; '.join(left)}", "a refused file changes nothing", "9.2.3", ex)


@pytest.mark.system
@pytest.mark.bview_rule("configfile-round-trip")
def test_config_file_round_trip(bview) -> None:
    """9.2.3: PUT of the file GET gave restores that configuration exactly (after changing things)."""
    with bview.preserved(*CHANGES):
        before = snapshot(bview)
        data = config_file(bview)
        for path, change in CHANGES.items():
            bview.write(path, change)
        changed = differences(before, snapshot(bview))
        assert changed, "the test's changes did not change anything"
        t0 = time.monotonic()
        ex = put_config(bview, data)
        check_status(ex, Status.OK, "9.2.3", "the file this camera exported")
        wait_restart(bview, t0, down_within=scaled(bview, 1.0, 0.3))  # a camera may restart after an import
        after = snapshot(bview)
        left = differences(before, after)
        expect(not left, f"differs after the import: {'; '.join(left)}", "the configuration of the file", "9.2.3", ex)


@pytest.mark.system
@pytest.mark.parametrize("damage", ["truncated", "bit-flips"])
@pytest.mark.bview_rule("configfile-damaged-refused")
def test_config_file_corrupt_refused(bview, damage: str) -> None:
    """9.2.3 + 7: a damaged configuration file is refused (statusCode < 0) and changes nothing."""
    with bview.preserved(*CHANGES):
        data = config_file(bview)
        for path, change in CHANGES.items():
            bview.write(path, change)
        before = snapshot(bview)
        bad = data[: len(data) * 2 // 3] if damage == "truncated" else _corrupt(data)
        expect_file_refused(bview, put_config(bview, bad), before, f"a {damage} configuration file")


@pytest.mark.system
@pytest.mark.bview_rule("configfile-foreign-refused")
@pytest.mark.bview_lab("the configuration file is opaque; one of another model needs the camera's own format")
def test_config_file_foreign_refused(bview) -> None:
    """9.2.3: a configuration file of another model is refused and changes nothing (ERRATA.md L17)."""
    with bview.preserved(*CHANGES):
        foreign = bview.lab.relabel_config(config_file(bview), "BVIEW-OTHER-MODEL")
        for path, change in CHANGES.items():
            bview.write(path, change)
        before = snapshot(bview)
        expect_file_refused(bview, put_config(bview, foreign), before, "a configuration file of another model")


# ==============================================================================================================
# Network identity: 9.1.4 /Network/Port, 9.1.5 /Network/P2P ("the device will be restarted after saving")
# ==============================================================================================================


def on_loopback(bview) -> bool:
    """The camera answers on this machine's loopback: a free port or address here is one there."""
    try:
        return ipaddress.ip_address(bview.host.strip("[]")).is_loopback
    except ValueError:
        return bview.host == "localhost"


def free_port(bview) -> int:
    if not on_loopback(bview):
        return 8080 if bview.port != 8080 else 8081
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client_at(bview, port: int, host: str | None = None) -> Client:
    s = bview.settings
    url = f"{s.scheme}://{urlhost(host or bview.host)}:{port}"
    return Client(url, s.user, s.password, timeout=s.timeout, settle=s.settle, secrets=bview.client.secrets)


@pytest.mark.network
@pytest.mark.bview_rule("port-change-restart")
def test_http_port_change(bview, record_property) -> None:
    """9.1.4: a new HTTP port in /Network/Port takes effect after the restart; the camera answers there
    within the deadline. Watchdog: if it does not, the suite restores the old port through whatever
    still reaches the camera, and says so."""
    original, _ = bview.read(PORT)
    old_port, new_port = bview.port, free_port(bview)
    deadline = scaled(bview, GO_DOWN_S + COME_BACK_S, 5.0)
    mark_away(bview, {"address": None, "port": new_port, "mac": bview.mac, "path": PORT, "original": original})
    t0 = time.monotonic()
    ex = bview.write(PORT, {**original, "HTTP": str(new_port)})
    r = wait_restart(bview, t0, port=new_port, rtsp=False, down_within=0.0)
    report(record_property, "port_change_seconds", r.http_s, f"HTTP port {old_port} -> {new_port}: {r.figure()}")
    if r.http_s is not None:
        other = client_at(bview, new_port)
        try:
            now = _doc(other.get(PORT), PORT)
            time.sleep(bview.settings.settle)
            t1 = time.monotonic()
            back = other.put(PORT, to_xml(BLOCKS["Port"], original))
            check_status(back, Status.OK, "9.1.4", "restoring the HTTP port")
        finally:
            other.close()
        expect_back(
            bview, wait_restart(bview, t1, port=old_port, rtsp=False, down_within=0.0), "9.1.4", "restore", False
        )
        expect(
            now.get("HTTP") == str(new_port),
            f"answers on {new_port} but /Network/Port says HTTP {now.get('HTTP')}",
            "the port it listens on",
            "9.1.4",
            ex,
        )
    else:
        reached = [p for p in (old_port,) if answers(bview, p)]
        if reached:
            stuck = client_at(bview, reached[0])
            try:
                claimed = _doc(stuck.get(PORT), PORT).get("HTTP")
                time.sleep(bview.settings.settle)
                t1 = time.monotonic()
                stuck.put(PORT, to_xml(BLOCKS["Port"], original))
            finally:
                stuck.close()
            wait_restart(bview, t1, port=old_port, rtsp=False, down_within=scaled(bview, 1.0, 0.3))
            fail(
                f"did not answer on the new HTTP port {new_port} within {deadline:g} s; it still answers on "
                f"{old_port} while /Network/Port says HTTP {claimed} (watchdog: restored HTTP {old_port} through it)",
                "the camera comes back on the port it saved (the device restarts after saving)",
                "9.1.4",
                ex,
            )
        fail(
            f"did not answer on {new_port} nor on {old_port} within {deadline:g} s (watchdog: nothing reaches "
            "the camera; restore it by hand)",
            "the camera comes back on the port it saved",
            "9.1.4",
            ex,
        )
    mark_away(bview, None)
    after, get = bview.read(PORT)
    expect(after == original, f"holds {after} after the restore", f"{original}", "9.1.4", get)


@pytest.mark.network
@pytest.mark.bview_rule("p2p-saved-before-restart")
def test_p2p_change_survives_restart(bview) -> None:
    """9.1.5: "the device will be restarted after saving": the new P2P setting is there after the restart."""
    original, _ = bview.read(P2P)
    flipped = "false" if original.get("Enable") == "true" else "true"
    try:
        t0 = time.monotonic()
        ex = bview.write(P2P, {"Enable": flipped, "UUID": original.get("UUID", "")})
        r = wait_restart(bview, t0, rtsp=False)
        expect_back(bview, r, "9.1.5", "saving /Network/P2P", False, ex)
        after, get = bview.read(P2P)
        expect(
            after.get("Enable") == flipped,
            f"holds Enable {after.get('Enable')!r} after the restart (saved {flipped!r})",
            "the saved configuration survives the restart it causes",
            "9.1.5",
            ex,
            get,
        )
    finally:
        time.sleep(bview.settings.settle)
        t1 = time.monotonic()
        bview.write(P2P, {"Enable": original.get("Enable", "false"), "UUID": original.get("UUID", "")})
        wait_restart(bview, t1, rtsp=False)
    after, get = bview.read(P2P)
    expect(after == original, f"holds {after} after the restore", f"{original}", "9.1.5", get)


# ==============================================================================================================
# Network identity: 9.1.7.1.1 IPAddress, 9.1.7.1.1.1 DHCP, under the rollback watchdog (pytest_bview/relocate.py)
# ==============================================================================================================

WIRED = relocate.WIRED
DHCP = WIRED + "/DHCP"


def spare_address(bview, current: dict[str, Any]) -> str:
    """--bview-spare-address, or for the built-in camera a free loopback address in its /24."""
    net = ipaddress.ip_network(f"{current.get('ipAddress')}/{current.get('SubnetMask')}", strict=False)
    spare = bview.settings.spare_address
    if spare is None:
        if not on_loopback(bview):
            pytest.skip("give --bview-spare-address (a free address in the camera's subnet) to test an address change")
        spare = _free_address(net, current.get("ipAddress"), bview.port)
    if spare is None or ipaddress.ip_address(spare) not in net or spare == current.get("ipAddress"):
        pytest.skip(f"the spare address {spare} is not another address of the camera's subnet {net}")
    return spare


def _free_address(net: Any, taken: str | None, port: int) -> str | None:
    """An address of `net` (loopback: all of it is this host's) where nothing answers on `port`."""
    for _ in range(50):
        candidate = str(net.network_address + 2 + secrets.randbelow(max(1, min(net.num_addresses - 4, 250))))
        with socket.socket() as s:
            s.settimeout(0.5)
            if candidate != taken and s.connect_ex((candidate, port)) != 0:
                return candidate
    return None


def away(bview, address: str | None, original: dict[str, Any]) -> None:
    """Journal the move before it happens: an interrupted run can bring the camera home (restore.py Rule 5)."""
    doc = {"address": address, "mac": original.get("MacAddress"), "original": _config(original)}
    mark_away(bview, doc)


def _dhcp_on(doc: dict[str, Any]) -> bool:
    return (doc.get("DHCP") or {}).get("Enable") == "true"


def _config(doc: dict[str, Any]) -> dict[str, Any]:
    """What a PUT of IPAddress sets (DHCP's Status is the device's to say)."""
    return {**doc, "DHCP": {k: v for k, v in (doc.get("DHCP") or {}).items() if k != "Status"}}


def watch_of(bview, original: dict[str, Any]) -> relocate.Watch:
    # one look at an address: a second at real timing (an address nobody has yet answers no ARP)
    probe_s = scaled(bview, 1.0, 0.2) if bview.settings.time_scale < 1 else 1.0
    return relocate.Watch(bview, str(original.get("MacAddress", "")), bview.port, bview.host, probe_s=probe_s)


def _wait(bview) -> tuple[float, float]:
    """(deadline, grace) of a move: a camera that has not gone away within the grace did not apply it."""
    return scaled(bview, GO_DOWN_S + COME_BACK_S, 5.0), scaled(bview, GO_DOWN_S, 1.0)


def _read_at(bview, address: str, path: str) -> tuple[dict[str, Any], Exchange]:
    other = client_at(bview, bview.port, address)
    try:
        ex = other.get(path)
        return _doc(ex, path), ex
    finally:
        other.close()


def move(bview, watch: relocate.Watch, original: dict[str, Any], path: str, doc: dict[str, Any], to: str | None):
    """Journal the move, PUT `doc` to `path`, look for the camera (at `to` first; None: where DHCP puts it), read
    its IPAddress where it was found, and bring it back: (the PUT, where it was found, IPAddress there, back)."""
    deadline, grace = _wait(bview)
    away(bview, to, original)
    t0 = time.monotonic()
    ex = bview.write(path, doc)
    seen = watch.find(t0, [to] if to else [], deadline, grace, poll_s(bview))
    there: dict[str, Any] = {}
    try:
        if seen is not None:
            there, _ = _read_at(bview, seen.address, WIRED)
        if to is None and seen is not None and seen.address == watch.old and _obtaining(there):
            # still asking for a lease where it was (9.1.7.1.1.1 Status): it may yet move. DHCP runs in real
            # time, whatever the time scale: a lost first message costs a 4 s retransmission (RFC 2131 4.1)
            wait = max(grace, 2 * DHCP_RETRANSMIT_S)
            watch.note(f"at {watch.old} DHCP Status is 'obtaining': waiting up to {wait:g} s for it to move")
            if watch.gone(watch.old, wait, poll_s(bview)):
                seen = watch.find(t0, [], time.monotonic() - t0 + deadline, grace, poll_s(bview))
                there = _read_at(bview, seen.address, WIRED)[0] if seen is not None else {}
    finally:
        back = bring_back(bview, watch, seen, original)
    return ex, seen, there, back


def _obtaining(doc: dict[str, Any]) -> bool:
    return str((doc.get("DHCP") or {}).get("Status", "")).strip().lower() == "obtaining"


def bring_back(bview, watch: relocate.Watch, seen: relocate.Sighting | None, original: dict[str, Any]):
    """Put the original IPAddress (and DHCP) back where the camera still answers, else through Discovery V2 103;
    returns where it was found afterwards (None: nowhere)."""
    deadline, grace = _wait(bview)
    time.sleep(bview.settings.settle)
    t1 = time.monotonic()
    rescued, dhcp = False, _dhcp_on(original)
    mask, gateway = str(original.get("SubnetMask")), str(original.get("Gateway"))
    if seen is not None:
        other = client_at(bview, bview.port, seen.address)
        try:
            ex = other.put(WIRED, to_xml(BLOCKS["IPAddress"], _config(original), include_wo=True))
        finally:
            other.close()
        watch.note(f"watchdog: PUT of the original IPAddress at {seen.address}: statusCode {status_code(ex)}")
        if seen.address == watch.old:  # it comes back where it is: first let it go away, if it restarts at all
            watch.gone(seen.address, grace, poll_s(bview))
    else:
        rescued = watch.rescue(watch.old, mask, gateway, dhcp)
    back = watch.find(t1, [watch.old], deadline, grace, poll_s(bview))
    if back is None and not rescued and watch.rescue(watch.old, mask, gateway, dhcp):
        back = watch.find(time.monotonic(), [watch.old], deadline, grace, poll_s(bview))
    watch.note(
        f"back at {watch.old} after {back.seconds:.3f} s" if back else f"not back at {watch.old}: restore it by hand"
    )
    bview.client.close()  # its kept-alive connections went to the camera's previous life (no FIN came back)
    if back is not None:
        mark_away(bview, None)
    return back


def expect_restored(bview, back: relocate.Sighting | None, watch: relocate.Watch, original, section, *exchanges):
    expect(
        back is not None,
        f"after the watchdog's restore it answers nowhere it was looked for ({watch.story()})",
        f"the camera comes back at its original address {watch.old}",
        section,
        *exchanges,
    )
    after, get = bview.read(WIRED)
    expect(
        _config(after) == _config(original),
        f"holds {_short(after)} after the restore",
        f"{_short(original)}",
        section,
        get,
    )


@pytest.mark.network
@pytest.mark.bview_rule("ip-address-change")
def test_ip_address_change(bview, record_property) -> None:
    """9.1.7.1.1: a new static address takes effect ("the network configuration is stored asynchronously"):
    the camera answers there within the deadline and IPAddress names it. Watchdog: if it is not there, the
    old address, Discovery V2 and at last Discovery V2 103 bring it back, and the failure says which path
    still reached it. A camera on DHCP is given the spare address as a static one (DHCP off), then put back
    on DHCP."""
    original, _ = bview.read(WIRED)
    spare = spare_address(bview, original)
    watch = watch_of(bview, original)
    deadline, _ = _wait(bview)
    change = {**_config(original), "ipAddress": spare}
    if _dhcp_on(original):
        change["DHCP"] = {"Enable": "false"}  # a static address is DHCP off
    ex, seen, claimed, back = move(bview, watch, original, WIRED, change, spare)
    moved = seen is not None and seen.how == "given"
    report(
        record_property,
        "address_change_seconds",
        seen.seconds if moved else None,
        f"address {watch.old} -> {spare}: "
        + (f"answered there after {seen.seconds:.3f} s" if moved else "not found there")
        + f"; {watch.story()}",
    )
    required = f"the camera answers at the address it saved ({spare}) within {deadline:g} s"
    if seen is None:
        fail(f"found nowhere within {deadline:g} s ({watch.story()})", required, "9.1.7.1.1", ex)
    expect(
        seen.how == "given",
        f"answers at {seen.address} ({'the old address' if seen.how == 'old' else 'found by Discovery V2'}) "
        f"while IPAddress says {claimed.get('ipAddress')} ({watch.story()})",
        required,
        "9.1.7.1.1",
        ex,
    )
    expect(
        claimed.get("ipAddress") == spare,
        f"answers at {spare} but IPAddress says {claimed.get('ipAddress')}",
        "IPAddress names the address the camera answers at",
        "9.1.7.1.1",
        ex,
    )
    expect_restored(bview, back, watch, original, "9.1.7.1.1", ex)


# values no host can have (ERRATA.md L31): each a parameter error, never an address to move to
UNUSABLE = {
    "broadcast address": lambda net, doc: {**doc, "ipAddress": str(net.broadcast_address)},
    "non-contiguous mask": lambda net, doc: {**doc, "SubnetMask": "255.0.255.0"},
}


@pytest.mark.network
@pytest.mark.parametrize("kind", UNUSABLE)
@pytest.mark.bview_rule("ip-unusable-refused")
def test_unusable_address_refused(bview, kind: str) -> None:
    """9.1.7.1.1, 7: an address no host can have gets -5 (Parameter error) and changes nothing. Watchdog: if the
    camera takes it, the suite looks for it (old address, Discovery V2) and puts the original back."""
    original, _ = bview.read(WIRED)
    if _dhcp_on(original):
        pytest.skip("the camera is on DHCP: static address values are tested from a static configuration")
    net = ipaddress.ip_network(f"{original.get('ipAddress')}/{original.get('SubnetMask')}", strict=False)
    bad = UNUSABLE[kind](net, _config(original))
    watch = watch_of(bview, original)
    away(bview, bad["ipAddress"], original)
    t0 = time.monotonic()
    ex = bview.client.put(WIRED, to_xml(BLOCKS["IPAddress"], bad, include_wo=True))
    if status_code(ex) != Status.PARAMETER_ERROR:
        deadline, grace = _wait(bview)
        seen = watch.find(t0, [], deadline, grace, poll_s(bview))
        back = bring_back(bview, watch, seen, original)
        fail(
            f"answered statusCode {status_code(ex)} to ipAddress {bad['ipAddress']} mask {bad['SubnetMask']} "
            f"({watch.story()}; {'restored' if back else 'NOT restored'})",
            f"a {kind} is a parameter error (-5): no host can have it",
            "9.1.7.1.1",
            ex,
        )
    after, get = bview.read(WIRED)
    expect(_config(after) == _config(original), f"holds {_short(after)} after the refusal", "nothing changes", "7", get)


@pytest.mark.network
@pytest.mark.bview_rule("dhcp-enable-kept", "dhcp-lease-reported", "dhcp-off-static-address")
def test_dhcp_change(bview, record_property) -> None:
    """9.1.7.1.1.1: DHCP switched on is kept, and the camera stays reachable: at the address it had or where
    Discovery V2 says it is; there DHCP reads Enable true and IPAddress names the address it answers at.
    Switched off again, it returns to its static address. Watchdog as for the address change."""
    original, _ = bview.read(WIRED)
    if _dhcp_on(original):
        pytest.skip("the camera is on DHCP already: switching it on is tested from a static configuration")
    watch = watch_of(bview, original)
    deadline, _ = _wait(bview)
    ex, seen, now, back = move(bview, watch, original, DHCP, {"Enable": "true"}, None)
    report(
        record_property,
        "dhcp_change_seconds",
        seen.seconds if seen else None,
        f"DHCP on: {f'at {seen.address} ({seen.how}) after {seen.seconds:.3f} s' if seen else 'not found'}, "
        f"DHCP Status {(now.get('DHCP') or {}).get('Status')!r}; {watch.story()}",
    )
    if seen is None:
        fail(
            f"found neither at {watch.old} nor through Discovery V2 within {deadline:g} s ({watch.story()})",
            "a camera on DHCP stays reachable: at its address or where Discovery V2 finds it (chapter 10)",
            "9.1.7.1.1.1",
            ex,
        )
    expect(
        _dhcp_on(now),
        f"answers at {seen.address} with DHCP Enable {(now.get('DHCP') or {}).get('Enable')!r} after saving true",
        "the saved DHCP setting holds after it took effect",
        "9.1.7.1.1.1",
        ex,
    )
    expect(
        now.get("ipAddress") == seen.address,
        f"answers at {seen.address} while IPAddress says {now.get('ipAddress')}",
        "IPAddress names the address the camera answers at (its lease)",
        "9.1.7.1.1",
        ex,
    )
    expect(
        back is None or back.how == "given",
        f"after DHCP was switched off it answers at {back and back.address} ({watch.story()})",
        f"DHCP off: the camera returns to its static address {watch.old}",
        "9.1.7.1.1.1",
        ex,
    )
    expect_restored(bview, back, watch, original, "9.1.7.1.1.1", ex)


# ==============================================================================================================
# 9.2.4 Automatic maintenance
# ==============================================================================================================


def device_clock(bview) -> datetime:
    """The device's local wall clock (the digits of SystemTime, its zone set aside)."""
    import re

    doc, _ = bview.read("/System/Time")
    digits = re.sub(r"[^0-9T]", "", str(doc.get("SystemTime", "")).split("+")[0].split("Z")[0])
    return datetime.strptime(digits[:15], "%Y%m%dT%H%M%S")


@pytest.mark.system
@pytest.mark.parametrize("mode", ["everyday", "everyweek", "once", "everyweek-other-day"])
@pytest.mark.bview_rule("automaintenance-restart", "automaintenance-weekmask")
def test_auto_maintenance(bview, record_property, mode: str) -> None:
    """9.2.4: the camera restarts at MaintenanceTime (everyday; everyweek on the <WeekDayMask> days, the
    week starting on Sunday; once), and not on a day the mask leaves out."""
    lead = scaled(bview, MAINTENANCE_LEAD_S, 3.0)
    with bview.preserved(MAINTENANCE):
        when = device_clock(bview) + timedelta(seconds=lead)
        today = (when.weekday() + 1) % 7  # Sunday first
        mask = ["0"] * 7
        if mode == "everyweek":
            mask[today] = "1"
        elif mode == "everyweek-other-day":
            mask = ["1"] * 7
            mask[today] = "0"
        doc = {
            "Enable": "true",
            "Mode": mode.split("-")[0],
            "WeekDayMask": "".join(mask),
            "MaintenanceTime": when.strftime("%Y%m%dT%H%M%S"),
        }
        t0 = time.monotonic()
        ex = bview.write(MAINTENANCE, doc)
        window = lead + scaled(bview, GO_DOWN_S, 2.0)
        r = wait_restart(bview, t0, rtsp=False, down_within=window)
        if mode == "everyweek-other-day":
            expect(
                not r.went_away,
                f"restarted at {doc['MaintenanceTime']} although WeekDayMask {doc['WeekDayMask']} leaves the day out",
                "everyweek restarts only on the days of the mask",
                "9.2.4",
                ex,
            )
            return
        report(record_property, f"maintenance_{mode}_seconds", r.down_s, f"auto maintenance {mode}: {r.figure()}")
        expect(
            r.went_away,
            f"did not restart within {window:g} s of {doc['MaintenanceTime']} ({doc['Mode']}, mask {doc['WeekDayMask']})",
            "the automatic restart at MaintenanceTime",
            "9.2.4",
            ex,
        )
        expect_back(bview, r, "9.2.4", "the automatic maintenance restart", False, ex)


# ==============================================================================================================
# 9.10.4 Format, 9.11 Disk
# ==============================================================================================================


@pytest.mark.record
@pytest.mark.disk
@pytest.mark.bview_rule("format-status-formatted", "format-capacity-free")
def test_format(bview, record_property) -> None:
    """9.10.4 + 9.11: Record/Format/Call takes the disk through formatting to formatted; the free space
    follows (an empty disk: AvailableCapacity close to TotalCapacity)."""
    before, _ = bview.read("/Disk")
    if not before.get("Disk"):
        pytest.skip("the camera has no disk")
    t0 = time.monotonic()
    ex = bview.client.put("/Record/Format/Call")
    check_status(ex, Status.OK, "9.10.4")
    deadline = t0 + scaled(bview, FORMAT_S, 5.0)
    seen: list[str] = []
    disk: dict[str, Any] = {}
    get = None
    while time.monotonic() < deadline:
        doc, get = bview.read("/Disk")
        disk = doc["Disk"][0]
        status = str(disk.get("DiskFormatStatus"))
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in ("formatted", "format failure") and (len(seen) > 1 or time.monotonic() - t0 > 0.5):
            break
        time.sleep(min(0.05, max(0.01, bview.settings.time_scale)))
    took = time.monotonic() - t0
    report(record_property, "format_seconds", took, f"format: {' -> '.join(seen)} in {took:.3f} s")
    expect(
        seen and seen[-1] == "formatted",
        f"DiskFormatStatus went {' -> '.join(seen)} within {scaled(bview, FORMAT_S, 5.0):g} s",
        "formatting, then formatted",
        "9.11",
        ex,
        get,
    )
    total, free = int(disk.get("TotalCapacity", "0") or 0), int(disk.get("AvailableCapacity", "0") or 0)
    expect(
        total > 0 and 0.9 * total <= free <= total,
        f"reports AvailableCapacity {free} MB of {total} MB after the format",
        "the free space of an empty disk",
        "9.11",
        ex,
        get,
    )
