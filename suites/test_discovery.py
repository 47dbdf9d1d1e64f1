"""Device discovery: Discovery V2 (spec 10, UDP multicast 239.239.239.52:5566) and UPnP/SSDP (spec 5).

The ``bview`` fixture (pytest_bview.target.Target) offers:
    bview.host              camera address (str)
    bview.discovery_port    Discovery V2 UDP port (int, --bview-discovery-port, 5566)
    bview.discovery_iface   interface for raw frames, or None for plain sockets (--bview-discovery-iface)
    bview.ssdp_port         SSDP port (int, --bview-ssdp-port on a real camera, default 1900; the built-in camera's own)
    bview.user, bview.password, bview.timeout
    bview.mac               the camera's MAC as REST reports it (/Network/Interfaces/1/IPAddress MacAddress)
    bview.get_doc(path)     GET path, return the XML block as a nested dict (struct = dict, leaf = str)

Which REST field each discovery field must equal (IDENTITY below; spec sections 9.1.4, 9.1.7, 9.2.4):
    DeviceMac      = /Network/Interfaces/1/IPAddress MacAddress   (MACs compare ignoring case and ":"/"-")
    DeviceIP       = /Network/Interfaces/1/IPAddress ipAddress
    DeviceMask     = /Network/Interfaces/1/IPAddress SubnetMask
    DeviceGateway  = /Network/Interfaces/1/IPAddress Gateway
    DeviceVersion  = /System/DeviceInfo SoftWareVersion           ("DeviceVersion" is the firmware)
    HttpPort       = /Network/Port HTTP
    CommandPort    = /Network/Port Command
    MediaPort      = /Network/Port Media
    DeviceDetectPort = /Network/Port Discovery
    and in the 102 reply, NetworkInterface ID n: MAC, IPAddress, Netmask, Gateway, DhcpEnable
    = /Network/Interfaces/n/IPAddress MacAddress, ipAddress, SubnetMask, Gateway, DHCP/Enable.
    RtspPort       = /Network/Port RTP   (ERRATA.md: <RTP> is the port rtsp:// URLs use; the block has no other)
Not compared: DeviceType (a class such as "IPC", not DeviceTypeName), ManagerHostPort, TutkUID/UlUID (/Network/P2P UUID belongs to
another P2P service).
"""

from __future__ import annotations

import ipaddress
import re
import shlex
import time
from typing import Any

import pytest
import xmlschema

from pytest_bview import discovery as d
from pytest_bview.client import DeviceError, fetch_supplied
from pytest_bview.spec.xsd import schemas_dir

pytestmark = [pytest.mark.discovery, pytest.mark.readonly]

SCHEMA = xmlschema.XMLSchema(str(schemas_dir() / "DiscoveryV2.xsd"))
MAC_RE = re.compile(r"[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}")
PROBE_DEADLINE = 2.0  # seconds; "probe finds the camera within 2 s"
IFACE = "/Network/Interfaces/1/IPAddress"
# discovery field -> (REST path, key path in that block)
IDENTITY = {
    "DeviceMac": (IFACE, ("MacAddress",)),
    "DeviceIP": (IFACE, ("ipAddress",)),
    "DeviceMask": (IFACE, ("SubnetMask",)),
    "DeviceGateway": (IFACE, ("Gateway",)),
    "DeviceVersion": ("/System/DeviceInfo", ("SoftWareVersion",)),
    "HttpPort": ("/Network/Port", ("HTTP",)),
    "CommandPort": ("/Network/Port", ("Command",)),
    "MediaPort": ("/Network/Port", ("Media",)),
    "DeviceDetectPort": ("/Network/Port", ("Discovery",)),
    "RtspPort": ("/Network/Port", ("RTP",)),  # ERRATA.md: the Port block's <RTP> is the RTSP port
}
NIC_IDENTITY = {"MAC": ("MacAddress",), "IPAddress": ("ipAddress",), "Netmask": ("SubnetMask",),
                "Gateway": ("Gateway",), "DhcpEnable": ("DHCP", "Enable")}  # fmt: skip
IPV4_FIELDS = ("DeviceIP", "DeviceMask", "DeviceGateway")
PORT_FIELDS = ("DeviceDetectPort", "ManagerHostPort", "CommandPort", "MediaPort", "HttpPort", "RtspPort")


# --------------------------------------------------------------------------- helpers shared by the checks


transport = d.transport_for
_local_interface = d.local_interface


def reproduce(bview: Any, command: int, mac: str | None = None, auth: bool = False) -> str:
    """How to send the same request by hand (credentials redacted)."""
    creds = ", auth=Auth(USER, PASSWORD)" if auth else ""
    how = f"RawTransport({bview.discovery_iface!r}, port={bview.discovery_port})" if bview.discovery_iface else (
        f"SocketTransport(port={bview.discovery_port}, interface={_local_interface(bview.host)!r})")  # fmt: skip
    return (f"Reproduce with: python -c \"from pytest_bview.discovery import *; "
            f"print({how}.request({command}, {mac!r}{creds}))\"")  # fmt: skip


def rest(bview: Any, path: str, keys: tuple[str, ...]) -> str | None:
    node: Any = bview.get_doc(path)
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node.strip() if isinstance(node, str) else None


def same(field: str, a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    if "Mac" in field or field == "MAC":
        return d.same_mac(a, b)
    return a.strip().lower() == b.strip().lower()  # xs:boolean "True"/"true", case of hex digits


@pytest.fixture(scope="module")
def probe_answers(bview: Any) -> tuple[list[d.Message], int]:
    """The camera's answers to one 100 probe addressed to every device, picked out by its MAC, and how many
    answers came in all (the probe is sent once per module)."""
    replies = transport(bview).probe(timeout=PROBE_DEADLINE)
    mine = [r for r in replies if d.same_mac(r.fields().get("DeviceMac") or r.cfg.DeviceMac, bview.mac)]
    if not mine:  # the MAC may be what is wrong; then take the reply from the camera's address
        mine = [r for r in replies if r.sender and r.sender[0] == bview.host]
    return mine, len(replies)


def _no_probe_reply(bview: Any, answers: int) -> str:
    return (
        f"no Discovery V2 reply from {bview.host} (MAC {bview.mac}) within {PROBE_DEADLINE} s; "
        f"{answers} other device(s) answered. Spec 10: a device answers the 100 probe sent to "
        f"{d.GROUP}:{bview.discovery_port}. {reproduce(bview, d.PROBE, '')}"
    )


@pytest.fixture(scope="module")
def probe_reply(bview: Any, probe_answers: tuple[list[d.Message], int]) -> d.Message:
    """The camera's answer to the 100 probe (test_probe_finds_the_camera is the check that there is one)."""
    mine, answers = probe_answers
    assert mine, _no_probe_reply(bview, answers)
    return mine[0]


@pytest.fixture(scope="module")
def net_config(bview: Any) -> d.Message:
    reply = transport(bview).request(d.GET_NET_CONFIG, bview.mac, d.Auth(bview.user, bview.password), timeout=2.0)
    assert reply is not None and reply.head.ReplyMsg == 0, (
        f"102 with the admin credentials got {'no answer' if reply is None else f'ReplyMsg={reply.head.ReplyMsg}'}; "
        f"spec 10 requires ReplyMsg 0 and <DeviceProbeNetConfig>. {reproduce(bview, 102, bview.mac, auth=True)}"
    )
    return reply


# --------------------------------------------------------------------------- the probe


@pytest.mark.bview_rule("discovery-probe-answered")
def test_probe_finds_the_camera(bview: Any, probe_answers: tuple[list[d.Message], int]) -> None:
    """Spec 10 Detect Request: the camera answers a 100 probe within 2 s."""
    mine, answers = probe_answers
    assert mine, _no_probe_reply(bview, answers)
    elapsed = mine[0].elapsed
    assert elapsed is not None and elapsed < PROBE_DEADLINE, (
        f"the probe reply came after {elapsed} s; spec 10: within {PROBE_DEADLINE} s. {reproduce(bview, d.PROBE, '')}"
    )


@pytest.mark.bview_rule("discovery-well-formed")
def test_reply_is_well_formed(bview: Any, probe_reply: d.Message) -> None:
    """Spec 10 / 4.2: the reply is well-formed XML (the spec's own samples are not; we report each repair)."""
    assert not probe_reply.deviations, (
        "the probe reply needed repairs to read: " + "; ".join(probe_reply.deviations)
        + f". Spec 4.2 requires well-formed XML. {reproduce(bview, d.PROBE, '')}"
    )  # fmt: skip


@pytest.mark.bview_rule("discovery-probe-fields")
def test_reply_fields_are_valid(bview: Any, probe_reply: d.Message) -> None:
    """Spec 10 DeviceProbeConfig: every field present and of its type (DiscoveryV2.xsd), addresses and
    ports in range."""
    errors = [str(e.reason) for e in SCHEMA.iter_errors(probe_reply.repaired)]
    fields = probe_reply.fields()
    errors += [f"{f}={fields.get(f)!r} is no IPv4 address" for f in IPV4_FIELDS if not _ipv4(fields.get(f))]
    errors += [f"{f}={fields.get(f)!r} is no port 1-65535" for f in PORT_FIELDS if not _port(fields.get(f))]
    if not MAC_RE.fullmatch(fields.get("DeviceMac", "")):
        errors.append(f"DeviceMac={fields.get('DeviceMac')!r} is no MAC")
    assert not errors, f"probe reply fields: {'; '.join(errors)}. {reproduce(bview, d.PROBE, '')}"


@pytest.mark.bview_rule("discovery-config-length")
def test_config_length_is_the_message_length(bview: Any, probe_reply: d.Message, net_config: d.Message) -> None:
    """Spec 10 Note "<ConfigLength> is show the struct length that you send": the byte length of the datagram."""
    for reply in (probe_reply, net_config):
        assert reply.config_length_ok, (
            f"MainCommand {reply.cfg.MainCommand} reply: ConfigLength={reply.head.ConfigLength}, the datagram has "
            f"{len(reply.raw)} bytes. Spec 10 (see schemas/ERRATA.md, Discovery V2 E6): ConfigLength is the length of what is "
            f"sent. {reproduce(bview, reply.cfg.MainCommand or 0, bview.mac, auth=reply is net_config)}"
        )


@pytest.mark.bview_rule("discovery-reply-command-id")
def test_replies_carry_command_id_11(bview: Any, probe_reply: d.Message, net_config: d.Message) -> None:
    """Spec 10 Note: "If it is the data that the server send, the <CommandID> is 11"; ReplyMsg present."""
    for reply in (probe_reply, net_config):
        assert (reply.head.CommandID, reply.head.ReplyMsg) == (11, 0), (
            f"MainCommand {reply.cfg.MainCommand} reply has CommandID={reply.head.CommandID} "
            f"ReplyMsg={reply.head.ReplyMsg}; spec 10 requires CommandID 11 and ReplyMsg 0 on success. "
            f"{reproduce(bview, reply.cfg.MainCommand or 0, bview.mac, auth=reply is net_config)}"
        )


@pytest.mark.bview_rule("discovery-mac-addressed")
def test_request_for_another_mac_gets_no_answer(bview: Any) -> None:
    """Spec 10 "<DeviceMac> is the Device mac that you want to set": a request for another MAC is not ours."""
    other = _other_mac(bview.mac)
    auth = d.Auth(bview.user, bview.password)
    answers = [c for c in (d.PROBE, d.GET_NET_CONFIG) if _answered_by(bview, transport(bview).request(c, other, auth))]
    assert not answers, (
        f"the camera answered MainCommand {answers} addressed to DeviceMac {other} (its own is {bview.mac}); "
        f"spec 10: only the device with that MAC answers. {reproduce(bview, answers[0], other, auth=True)}"
    )


def _answered_by(bview: Any, reply: d.Message | None) -> bool:
    return reply is not None and (d.same_mac(reply.cfg.DeviceMac, bview.mac) or reply.sender[0] == bview.host)


# --------------------------------------------------------------------------- 102 authentication


@pytest.mark.bview_rule("discovery-102-net-config")
def test_102_returns_net_config(bview: Any, net_config: d.Message) -> None:
    """Spec 10 Detect Network Configuration: with valid Auth, <DeviceProbeNetConfig> with the interfaces."""
    assert isinstance(net_config.body, d.DeviceProbeNetConfig) and net_config.body.NetworkInterfaceList, (
        f"102 reply carries {type(net_config.body).__name__}, spec 10 requires <DeviceProbeNetConfig> with "
        f"<NetworkInterfaceList>. {reproduce(bview, 102, bview.mac, auth=True)}"
    )
    errors = [str(e.reason) for e in SCHEMA.iter_errors(net_config.repaired)]
    assert not errors, f"102 reply: {'; '.join(errors)}. {reproduce(bview, 102, bview.mac, auth=True)}"


def _refusal(bview: Any, auth: str) -> None:
    creds = d.Auth(bview.user, bview.password + "-wrong") if auth == "wrong" else None
    reply = transport(bview).request(d.GET_NET_CONFIG, bview.mac, creds)
    assert reply is None or (reply.head.ReplyMsg != 0 and reply.body is None), (
        f"102 with {auth} credentials got ReplyMsg={reply.head.ReplyMsg} and the network configuration; spec 10: "
        f'"Detect Network Configuration, requires authentication". {reproduce(bview, 102, bview.mac)}'
    )


@pytest.mark.bview_rule("discovery-auth-required")
def test_102_refuses_wrong_credentials(bview: Any) -> None:
    """Spec 10: 102 "requires authentication"; a wrong password gets no success and no configuration."""
    _refusal(bview, "wrong")


@pytest.mark.bview_rule("discovery-auth-required")
def test_102_refuses_missing_credentials(bview: Any) -> None:
    """Spec 10: 102 "requires authentication"; no <Auth> gets no success and no configuration."""
    _refusal(bview, "missing")


# --------------------------------------------------------------------------- identity agrees with REST


@pytest.mark.parametrize("field", IDENTITY)
@pytest.mark.bview_rule("discovery-probe-agrees-with-rest", "discovery-mac-agrees")
def test_identity_agrees_with_rest(bview: Any, probe_reply: d.Message, field: str) -> None:
    """Spec 10 vs 9.1.4 / 9.1.7.1.1 / 9.2.4: discovery and REST describe the same device."""
    path, keys = IDENTITY[field]
    seen, expected = probe_reply.fields().get(field), rest(bview, path, keys)
    assert same(field, seen, expected), (
        f"discovery {field}={seen!r} but GET {path} {'/'.join(keys)}={expected!r}; spec 10 and "
        f"{path} describe the same device. {reproduce(bview, d.PROBE, '')}; curl -u USER:PASSWORD "
        f"http://{bview.host}{path}"
    )


@pytest.mark.parametrize("field", NIC_IDENTITY)
@pytest.mark.bview_rule("discovery-netconfig-agrees-with-rest", "discovery-mac-agrees")
def test_net_config_agrees_with_rest(bview: Any, net_config: d.Message, field: str) -> None:
    """Spec 10 NetworkInterface vs 9.1.7.1.1 /Network/Interfaces/<ID>/IPAddress."""
    assert isinstance(net_config.body, d.DeviceProbeNetConfig)
    for nic in net_config.body.NetworkInterfaceList:
        path = f"/Network/Interfaces/{nic.ID}/IPAddress"
        seen, expected = getattr(nic, field), rest(bview, path, NIC_IDENTITY[field])
        assert same(field, seen, expected), (
            f"102 NetworkInterface {nic.ID} {field}={seen!r} but GET {path} {'/'.join(NIC_IDENTITY[field])}="
            f"{expected!r}. {reproduce(bview, 102, bview.mac, auth=True)}"
        )


# --------------------------------------------------------------------------- 103 (disruptive)


@pytest.mark.disruptive
@pytest.mark.bview_rule("discovery-auth-required")
def test_103_with_wrong_credentials_changes_nothing(bview: Any, net_config: d.Message) -> None:
    """Spec 10 Detect Set Network Configuration "requires authentication": wrong Auth, nothing changes.

    The request re-sends the camera's own configuration, so even a faulty camera that accepts it keeps
    its address; the check is on ReplyMsg.
    """
    body = net_config.body
    assert isinstance(body, d.DeviceProbeNetConfig)
    reply = transport(bview).request(d.SET_NET_CONFIG, bview.mac, d.Auth(bview.user, bview.password + "-wrong"), body)
    assert reply is None or reply.head.ReplyMsg != 0, (
        f"103 with a wrong password got ReplyMsg 0; spec 10 requires authentication. {reproduce(bview, 103, bview.mac)}"
    )


# --------------------------------------------------------------------------- SSDP (spec 5)


@pytest.fixture(scope="module")
def ssdp_answers(bview: Any) -> list[tuple[tuple[str, int], str, dict[str, str]]]:
    """Answers to a unicast M-SEARCH ssdp:all to the camera (then a multicast one, filtered by address)."""
    answers = d.ssdp_search("ssdp:all", timeout=2.0, destination=bview.host, port=bview.ssdp_port)
    if not answers:
        everyone = d.ssdp_search("ssdp:all", timeout=3.0, port=bview.ssdp_port, interface=_local_interface(bview.host))
        answers = [a for a in everyone if a[0][0] == bview.host]
    return answers


@pytest.mark.bview_rule("upnp-msearch")
def test_ssdp_msearch_finds_the_camera(bview: Any, ssdp_answers: list[Any]) -> None:
    """Spec 5 (UPnP Device Architecture 1.0, 1.2.3): M-SEARCH gets 200 OK with CACHE-CONTROL, EXT,
    LOCATION, SERVER, ST and USN."""
    assert ssdp_answers, (
        f"no answer to M-SEARCH ssdp:all from {bview.host}:{bview.ssdp_port}; spec 5: the camera supports UPnP "
        f'discovery. Reproduce with: python -c "from pytest_bview.discovery import *; '
        f'print(ssdp_search(destination={bview.host!r}, port={bview.ssdp_port}))"'
    )
    for _, start, headers in ssdp_answers:
        missing = {"CACHE-CONTROL", "EXT", "LOCATION", "SERVER", "ST", "USN"} - set(headers)
        assert start.startswith("HTTP/1.1 200") and not missing, f"M-SEARCH answer {start!r} lacks {missing}"
    assert any(h["ST"] == "upnp:rootdevice" for _, _, h in ssdp_answers), "no answer for upnp:rootdevice"


@pytest.mark.bview_rule("upnp-msearch", "upnp-description-identity")
def test_upnp_description_agrees_with_rest(bview: Any, ssdp_answers: list[Any]) -> None:
    """Spec 5 vs 9.2.4: the UPnP description at LOCATION is valid and names the device REST describes.
    LOCATION is the camera's word: it is read only over http(s) on the camera's own host, without credentials
    or redirects, within the client's deadline and size cap."""
    assert ssdp_answers, f"no M-SEARCH answer from {bview.host}, so no LOCATION to read (spec 5)"
    location = ssdp_answers[0][2]["LOCATION"]
    how = f"Reproduce with: curl -sS -i --proto =http,https {shlex.quote(location)}"
    started = time.monotonic()
    try:
        ex = fetch_supplied(location, bview.host, timeout=bview.timeout, max_body=bview.client.max_body,
                            verify=bview.client.session.verify)  # fmt: skip
    except DeviceError as err:
        pytest.fail(f"LOCATION {location!r} not read: {err}. Spec 5 (UDA 1.0, 2.1): the camera serves its "
                    f"description itself. {how}", pytrace=False)  # fmt: skip
    device = d.upnp_device(ex.body) if ex.status == 200 and not ex.truncated else None
    assert device is not None, f"{location}: not a UPnP description ({ex.summary(300)}). {how}"
    info = bview.get_doc("/System/DeviceInfo")
    want = {"friendlyName": info.get("DeviceName"), "modelName": info.get("DeviceTypeName"),
            "serialNumber": info.get("SerialNum")}  # fmt: skip
    got = {k: device.get(k, "") for k in want}
    assert got == want, (
        f"{location} says {got}, GET /System/DeviceInfo says {want} (read in {time.monotonic() - started:.1f} s). {how}"
    )
    udn = device.get("UDN", "")
    assert udn.startswith("uuid:") and all(h["USN"].startswith(udn) for _, _, h in ssdp_answers), (
        f"UDN {udn!r} does not start every USN {[h['USN'] for _, _, h in ssdp_answers]} (UDA 1.0, 1.1.4)"
    )


# --------------------------------------------------------------------------- small validators


def _ipv4(value: str | None) -> bool:
    try:
        ipaddress.IPv4Address(value or "")
    except ValueError:
        return False
    return True


def _port(value: str | None) -> bool:
    return bool(value) and value.strip().isdigit() and 1 <= int(value) <= 65535


def _other_mac(mac: str) -> str:
    digits = d.mac_digits(mac).rjust(12, "0")
    flipped = f"{int(digits, 16) ^ 0x01:012x}"
    return ":".join(flipped[i : i + 2] for i in range(0, 12, 2)).upper()
