"""Security advisories: what the spec lets a camera get away with (ETSI EN 303 645, OWASP ISVS).

Each check names a SECURITY rule of pytest_bview/spec/rules.py: the spec's words that allow the behaviour and the
provision of ETSI EN 303 645 (or the OWASP IoT Security Verification Standard) that advises against it. A finding
is a *security advisory*: reported in its own section of the report and in results.json, never a conformance
failure, with or without --bview-strict. A check that writes is `reversible` and puts back what it touched.
"""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import time
import zlib
from collections.abc import Iterator

import pytest

from pytest_bview.checks import expect, status_code
from pytest_bview.client import DeviceError
from pytest_bview.protocol.xmlblocks import to_xml
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.permissions import FACTORY_PASSWORD, FACTORY_USER, KEPT_SECRETS
from pytest_bview.verdicts import inconclusive

pytestmark = [pytest.mark.security]

WIRELESS = "/Network/Interfaces/2/Wireless"


def _loopback(host: str) -> bool:
    """Whether `host` names this machine: traffic to it crosses no network."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@pytest.mark.readonly
@pytest.mark.bview_rule("sec-factory-credentials")
def test_factory_credentials_refused(bview) -> None:
    """9.3.1 (ETSI EN 303 645 5.1-1): once the camera has credentials of its own, the factory ones (the spec's
    example admin/admin) open nothing."""
    s = bview.settings
    if (s.user, s.password) == (FACTORY_USER, FACTORY_PASSWORD):
        inconclusive(
            f"the session itself uses the factory credentials {FACTORY_USER}/****: whether the camera ships them to "
            "every unit cannot be told from here; run with the camera's own password (--bview-password)"
        )
    ex = bview.client.get("/System/DeviceInfo", auth=(FACTORY_USER, FACTORY_PASSWORD))
    expect(
        ex.status != 200,
        f"accepted the factory credentials {FACTORY_USER}/{FACTORY_PASSWORD} (HTTP {ex.status}) although the "
        f"session's own differ",
        "no universal default password: the factory credentials stop working once the camera is set up "
        "(ETSI EN 303 645 5.1-1)",
        "9.3.1",
        ex,
        rule="sec-factory-credentials",
    )


@pytest.mark.readonly
@pytest.mark.bview_rule("sec-basic-cleartext")
def test_basic_not_over_plain_http(bview) -> None:
    """4.5.2 (ETSI EN 303 645 5.5-1): Basic credentials are base64, not encrypted; a camera reached over a network
    takes them over https only."""
    s = bview.settings
    if s.scheme == "https":
        return  # the credentials travel inside TLS (certificates checked unless --bview-insecure)
    if _loopback(bview.host):
        inconclusive(
            f"plain HTTP to {bview.host}, a loopback address: the credentials cross no network; run against the "
            "camera's network address to judge"
        )
    ex = bview.client.get("/System/DeviceInfo")
    expect(
        ex.status != 200,
        f"accepted Basic credentials over plain HTTP at {bview.host} (HTTP {ex.status}): the password crossed the "
        "network in clear text (base64)",
        "credentials only over an encrypted channel (https) on a network (ETSI EN 303 645 5.5-1)",
        "4.5.2",
        ex,
        rule="sec-basic-cleartext",
    )


# Wrong passwords in a row for a user name that does not exist, at most; the first BASELINE are the camera's
# usual pace (a throttle lets a few through: ETSI EN 303 645 5.1-5 allows for typing errors), the last SLOWED_RUN
# must each take SLOWED_FACTOR times that and SLOWED_MIN_S more for the camera to count as slowing down (three in a
# row, not a median of noisy ones: a busy 2-core machine can stall one request, seldom three).
BURST = 12
BASELINE = 3
SLOWED_RUN = 3
SLOWED_FACTOR = 4.0
SLOWED_MIN_S = 0.05
BURST_BUDGET_S = 120.0  # real seconds the burst may take; a throttling camera is recognised well before
REFUSALS = (429, 503)  # Too Many Requests, Service Unavailable


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    return (xs[(len(xs) - 1) // 2] + xs[len(xs) // 2]) / 2


@pytest.mark.reversible  # writes nothing, but a camera that locks the address out could stop a production run
@pytest.mark.bview_rule("sec-password-throttle")
def test_wrong_passwords_throttled(bview) -> None:
    """4.5.2 (ETSI EN 303 645 5.1-5): wrong passwords in a row are slowed down or refused, so guessing a password
    over the network is impracticable; the session's own credentials still work at once afterwards.

    The burst names a user that does not exist: nobody is locked out, and a camera that throttles only its real
    names tells an attacker which names are real. The burst stops as soon as the camera slows down (the last
    SLOWED_RUN answers each SLOWED_FACTOR times the first BASELINE ones) or refuses (HTTP 429 or 503, a
    Retry-After, no answer within the timeout)."""
    name = f"bview-nobody-{secrets.token_hex(4)}"
    took: list[float] = []
    sent = []
    refused = ""
    slowed = False
    start = time.monotonic()
    for _ in range(BURST):
        try:
            ex = bview.client.get("/System/DeviceInfo", auth=(name, f"Guess-{secrets.token_hex(6)}"))
        except DeviceError as err:  # no answer within the timeout: refused, as far as a guesser can tell
            refused = f"attempt {len(took) + 1} got no answer ({err})"
            if err.exchange is not None:
                sent.append(err.exchange)
            break
        took.append(ex.elapsed)
        sent.append(ex)
        if ex.status in REFUSALS or "Retry-After" in ex.headers:
            refused = f"attempt {len(took)} answered HTTP {ex.status} Retry-After {ex.headers.get('Retry-After', '-')}"
            break
        if ex.status != 401:
            inconclusive(f"a wrong password for the unknown user {name!r} answered HTTP {ex.status}, not 401")
        base = _median(took[:BASELINE])
        last = took[BASELINE:][-SLOWED_RUN:]
        if len(last) == SLOWED_RUN and min(last) >= max(SLOWED_FACTOR * base, base + SLOWED_MIN_S):
            slowed = True
            break
        if time.monotonic() - start > BURST_BUDGET_S:
            break
    own = bview.client.get("/System/DeviceInfo")  # the session's credentials: never locked out by someone's guesses
    ms = " ms, ".join(f"{t * 1000:.0f}" for t in took)
    figures = f"{len(sent)} wrong passwords for {name!r} in {time.monotonic() - start:.1f} s, answered in {ms} ms"
    expect(
        own.status == 200,
        f"refused the session's own credentials (HTTP {own.status}) after {figures}: it locks the address out",
        "guessing slowed per address and name; the rightful user still gets in (no lockout of others: ETSI EN 303 "
        "645 5.1-5 asks for throttling, not a denial of service)",
        "4.5.2",
        own,
        rule="sec-password-throttle",
    )
    expect(
        refused or slowed,
        f"did not slow down nor refuse {figures} (first {BASELINE}: median {_median(took[:BASELINE]) * 1000:.0f} "
        f"ms; last {SLOWED_RUN}: {min(took[-SLOWED_RUN:]) * 1000:.0f} ms at least; no 429, 503 nor Retry-After)",
        "wrong passwords in a row for one name are slowed down (growing delays) or refused for a while, so that "
        "guessing is impracticable (ETSI EN 303 645 5.1-5)",
        "4.5.2",
        sent[0] if sent else None,
        sent[-1] if sent else None,
        rule="sec-password-throttle",
    )


def _keys(doc: dict) -> list[str]:
    """The WiFi key values a ConnectionConfig document shows (WPA key and the WEP key list)."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for name, value in node.items():
                if name in KEPT_SECRETS and isinstance(value, str) and value:
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(doc)
    return found


@pytest.mark.reversible
@pytest.mark.wireless
@pytest.mark.bview_rule("sec-wifi-key-readable")
def test_wifi_key_not_readable(bview) -> None:
    """9.1.7.1.3 (ETSI EN 303 645 5.4-1): the WiFi key (KeyValue, KeyValueB64; not "wo" in the spec) is not read
    back by GET.

    A key shown is the finding. A configured WPA network showing an empty key keeps it to itself. An unconfigured
    WiFi (disabled, no SSID) gets a test key, read back, and its settings put back; a configured one is never
    overwritten."""
    before, get = bview.read(WIRELESS)
    shown = _keys(before)
    requires = "the WiFi key is never returned by GET (ETSI EN 303 645 5.4-1: stored secrets kept secure)"
    expect(not shown, f"returned the WiFi key ({len(shown)} key value(s)) in GET {WIRELESS}", requires, "9.1.7.1.3",
           get, rule="sec-wifi-key-readable")  # fmt: skip
    if str(before.get("Enable")) == "1" or before.get("SSID"):
        if str(before.get("Enable")) == "1" and before.get("AuthMode") in ("WPAPSK", "WPA2PSK"):
            return  # a connected WPA network has a key (9.1.7.1.3 "shall not be empty"): the camera hides it
        inconclusive(f"the WiFi is configured (SSID {before.get('SSID')!r}) and shows no key; not overwritten")
    key = f"bview-{secrets.token_hex(6)}"
    probe = {"WPA": {"EncryptType": "AES", "Key": {"KeyType": "ASCII", "KeyValue": key}}}
    put = bview.client.put(WIRELESS, to_xml(BLOCKS["ConnectionConfig"], {**before, **probe}))
    try:
        after, get = bview.read(WIRELESS)
        expect(
            key not in _keys(after),
            f"returned the WiFi key just set (in <KeyValue>) in GET {WIRELESS}",
            requires,
            "9.1.7.1.3",
            put,
            get,
            rule="sec-wifi-key-readable",
        )
    finally:
        bview.client.put(WIRELESS, to_xml(BLOCKS["ConnectionConfig"], before))


def _user_xml(name: str, password: str, level: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><User><ID/><UserName>{name}</UserName>'
        f"<Password>{password}</Password><UserLevel>{level}</UserLevel><IPAddress/><MACAddress/></User>"
    )


@contextlib.contextmanager
def _normal_user(bview) -> Iterator[tuple[str, str]]:
    """A Normal user with a password of its own (9.2.1 POST /System/Users/1), always deleted afterwards."""
    name, password = f"bv{secrets.token_hex(3)}", f"Sec-{secrets.token_hex(8)}"
    added = bview.client.request("POST", "/System/Users/1", _user_xml(name, password, "Normal"))
    if status_code(added) != 0:
        inconclusive(f"could not add a temporary Normal user (statusCode {status_code(added)})")
    try:
        yield name, password
    finally:
        users, _ = bview.read("/System/Users")
        for user in users.get("User", []):
            if user.get("UserName") == name:
                bview.client.request("DELETE", f"/System/Users/{int(user['ID']) + 1}")


def _refused(ex) -> bool:
    return ex.status in (401, 403) or status_code(ex) not in (None, 0)


@pytest.mark.reversible
@pytest.mark.bview_rule("sec-normal-user-admin-ops")
def test_normal_user_refused_admin_operations(bview) -> None:
    """9.2.3, 9.2.1 (OWASP ISVS V2, ETSI EN 303 645 5.6): a Normal user may not change another user's entry nor
    export the configuration file, though the spec's tables say "Viewer".

    Only requests harmless if accepted are sent: the admin's entry with its current values and an empty password
    (9.2.1: "the password will be only changed if the field contains data"), and a GET of the configuration file.
    Reboot, FactoryDefault and FirmwareUpgrade are never sent: a camera that took them would be harmed."""
    admin, _ = bview.read("/System/Users/1")
    with _normal_user(bview) as creds:
        entry = _user_xml(str(admin.get("UserName", "")), "", "")
        put = bview.client.request("PUT", "/System/Users/1", entry, auth=creds)
        export = bview.client.request("GET", "/System/DeviceConfigFile", auth=creds)
    opened = [f"{ex.method} {ex.path} (HTTP {ex.status})" for ex in (put, export) if not _refused(ex)]
    expect(
        not opened,
        f"let a Normal user do what only the administrator should: {', '.join(opened)}",
        "another user's entry and the configuration file for the administrator only (OWASP ISVS V2: least "
        "privilege); the spec's 'Viewer' rows allow it",
        "9.2.3",
        put,
        export,
        rule="sec-normal-user-admin-ops",
    )


INFLATE_LIMIT = 8 * 1024 * 1024  # bytes of a configuration file's compressed parts searched, at most


def _readable(blob: bytes) -> bytes:
    """The file and every zlib stream in it inflated (a compressed export hides nothing from whoever has it)."""
    parts = [blob]
    for magic in (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda"):
        at = blob.find(magic)
        while at != -1 and len(parts) < 16:
            try:
                parts.append(zlib.decompressobj().decompress(blob[at:], INFLATE_LIMIT))
                break
            except zlib.error:
                at = blob.find(magic, at + 1)
    return b"\n".join(parts)


@pytest.mark.reversible
@pytest.mark.bview_rule("sec-configfile-secrets")
def test_config_file_seals_secrets(bview) -> None:
    """9.2.3 (ETSI EN 303 645 5.4-1): the configuration file does not carry passwords in clear text.

    A temporary Normal user gets a password of its own; the file the administrator exports must not show it,
    raw or inflated."""
    with _normal_user(bview) as (name, password):
        ex = bview.client.get("/System/DeviceConfigFile")
        if ex.status != 200:
            inconclusive(f"GET /System/DeviceConfigFile answered HTTP {ex.status} to the administrator")
        found = password.encode() in _readable(ex.body)
    expect(
        not found,
        f"exported the password of user {name!r} in clear text in its configuration file ({len(ex.body)} bytes)",
        "secrets sealed or left out of the configuration file (ETSI EN 303 645 5.4-1)",
        "9.2.3",
        ex,
        rule="sec-configfile-secrets",
    )


@pytest.mark.readonly
@pytest.mark.media
@pytest.mark.bview_rule("sec-rtsp-digest-replay")
def test_rtsp_digest_replay_refused(bview) -> None:
    """8 (ETSI EN 303 645 5.5-1, OWASP ISVS V3): an RTSP Digest response already used is not accepted again
    (RFC 2617 3.2.2: the nonce count grows), so one captured DESCRIBE does not open the stream to whoever saw it."""
    from pytest_bview import media

    url, s = bview.rtsp_url(1), bview.settings
    verify = bview.client.session.verify  # the session's certificate checks (rtsps)
    status, headers, _ = media.rtsp_request(url, "DESCRIBE", timeout=s.timeout, verify=verify)
    digest = [c for c in headers.getall("WWW-Authenticate", []) if c.lower().startswith("digest")]
    if status != 401 or not digest:
        inconclusive(f"DESCRIBE without credentials answered {status} with no Digest challenge: no Digest to replay")
    _, params = media.parse_challenge(digest[0])
    authz = media.digest_authorization(params, "DESCRIBE", url, s.user, s.password)
    answers = [
        media.rtsp_request(url, "DESCRIBE", timeout=s.timeout, headers={"Authorization": authz}, verify=verify)[0]
        for _ in range(2)
    ]
    if answers[0] != 200:
        inconclusive(f"the first use of a fresh Digest response got RTSP {answers[0]}")
    expect(
        answers[1] != 200,
        f"accepted the same Digest response twice (RTSP {answers[0]}, then {answers[1]} for the replay)",
        "a Digest response is good once (RFC 2617 3.2.2 nonce count); a replay gets 401",
        "8",
        rule="sec-rtsp-digest-replay",
    )


# Answer bytes per request byte above which a UDP service is a reflector worth an advisory. The reference camera's
# Discovery V2 probe answer is about 5x its request, its SSDP answers to ssdp:all about 10x (one per UPnP target);
# SSDP devices abused in reflection attacks reach some 30x (US-CERT TA14-017A).
AMPLIFICATION_BOUND = 20.0


def _ssdp_size(start: str, headers: dict[str, str]) -> int:
    return len(start) + sum(len(k) + len(v) + 4 for k, v in headers.items()) + 4  # "K: V\r\n" each, blank line


@pytest.mark.readonly
@pytest.mark.discovery
@pytest.mark.bview_rule("sec-discovery-amplification")
def test_discovery_answers_do_not_amplify(bview) -> None:
    """10, 5 (ETSI EN 303 645 5.6): the answers to one unauthenticated Discovery V2 probe and to one SSDP M-SEARCH
    ssdp:all are at most AMPLIFICATION_BOUND times the request's bytes: the camera is no reflector."""
    from pytest_bview import discovery as d

    probe = d.build_request(d.PROBE, "")
    replies = d.transport_for(bview).probe(timeout=2.0)
    mine = [r for r in replies if d.same_mac(r.fields().get("DeviceMac") or r.cfg.DeviceMac, bview.mac)]
    search = d.msearch("ssdp:all", 2, bview.host, bview.ssdp_port)
    answers = d.ssdp_search("ssdp:all", timeout=2.0, destination=bview.host, port=bview.ssdp_port)
    ratios = {
        "Discovery V2 probe (100)": sum(len(r.raw) for r in mine) / len(probe),
        "SSDP M-SEARCH ssdp:all": sum(_ssdp_size(s, h) for _, s, h in answers) / len(search),
    }
    if not mine and not answers:
        inconclusive("neither the Discovery V2 probe nor the M-SEARCH was answered: nothing to measure")
    over = {k: v for k, v in ratios.items() if v > AMPLIFICATION_BOUND}
    expect(
        not over,
        "answered " + "; ".join(f"{k} with {v:.1f} bytes per request byte" for k, v in over.items()),
        f"answers to unauthenticated UDP requests at most {AMPLIFICATION_BOUND:g} times their size (ETSI EN 303 645 "
        "5.6: not a reflector for denial-of-service traffic)",
        "10",
        rule="sec-discovery-amplification",
    )


@pytest.mark.reversible
@pytest.mark.discovery
@pytest.mark.bview_rule("sec-discovery-101-unauthenticated")
def test_discovery_101_needs_credentials(bview) -> None:
    """10 (ETSI EN 303 645 5.6, OWASP ISVS V2): a Discovery V2 101 (set device configuration) without <Auth> is
    refused, so one datagram from anyone on the segment cannot move the camera.

    The 101 is aimed at the camera's MAC and carries the values its probe reply reports (the address, mask,
    gateway and ports it already has): a camera that takes it changes nothing. Not sent while DHCP is on (a
    camera could take the leased address as a static one)."""
    from pytest_bview import discovery as d

    iface, _ = bview.read("/Network/Interfaces/1/IPAddress")
    if str((iface.get("DHCP") or {}).get("Enable", "")).lower() in ("1", "true"):
        inconclusive("DHCP is on: a 101 carrying the leased address could make it static; not sent")
    transport = d.transport_for(bview)
    mine = [r for r in transport.probe(timeout=2.0) if d.same_mac(r.fields().get("DeviceMac"), bview.mac)]
    if not mine:
        inconclusive(f"no Discovery V2 probe reply from MAC {bview.mac}: the camera's current values are unknown")
    same = d.body_from_dict(d.DeviceProbeConfig, mine[0].fields())
    reply = transport.request(d.SET_DEVICE_CONFIG, bview.mac, None, same, timeout=2.0)
    expect(
        reply is None or reply.head.ReplyMsg != d.REPLY_OK,
        "applied a Discovery V2 101 without <Auth> (ReplyMsg 0; it carried the camera's own values, so nothing "
        "moved this time)",
        "101 needs the administrator's credentials in <Auth>, as 102 and 103 do; without them ReplyMsg 2 and no "
        "change (ETSI EN 303 645 5.6)",
        "10",
        rule="sec-discovery-101-unauthenticated",
    )
