"""The camera's side of device discovery: Discovery V2 (spec 10) and SSDP (spec 5), on asyncio.

Rule 1: a request is answered only when it is a well-read Request with CommandID 10 and addressed to
        this camera: its DeviceMac equals ours, or it is a read-only command (100, 102) whose DeviceMac
        is absent, empty or the sample's placeholder "xx" (every device). Anything else gets silence.
Rule 2: 101, 102 and 103 need <Auth> with valid credentials (the spec's 101 sample has none: ERRATA S4, an
        unauthenticated datagram must not move the camera). A refusal is ReplyMsg 2 and changes nothing.
Rule 3: the reply goes to the sender's address and port, CommandID 11, ConfigLength per
        pytest_bview.protocol.discovery Rule 2, and says what the camera's REST resources say.
Rule 4: no datagram, however malformed, raises out of ``handle`` or changes state unless it is a valid,
        authenticated 101/103 (tests/test_discovery_protocol.py fuzzes this).
Rule 5: every socket honours ``bind``: with an address (not 0.0.0.0) the group is joined on that interface
        only, the group socket takes no datagram that arrived on another interface, and unicast is read on
        ``bind`` itself (``listening_sockets``). With the default 127.0.0.1 nothing from another host gets in.

The camera object is anything with the methods of ``DiscoveryCamera``; ``FakeCamera`` is one, for tests
and for ``python -m pytest_bview.simulator.discovery --fake``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
import html
import json
import logging
import random
import re
import signal
import socket
import struct
import sys
from collections.abc import Callable
from typing import Any, Protocol

from pytest_bview import __version__
from pytest_bview.multicast import multicast_socket
from pytest_bview.protocol import discovery as d
from pytest_bview.simulator import faults as fault_registry

log = logging.getLogger(__name__)

CONFIG_LENGTH_WRONG = fault_registry.declare(
    "discovery-config-length-wrong",
    "10",
    "ConfigLength counts only the bytes after <Head .../>, not the whole message",
    "discovery-config-length",
)
REPLY_COMMAND_ID_10 = fault_registry.declare(
    "discovery-reply-command-id-10",
    "10",
    "replies carry CommandID 10 (the client's) instead of 11",
    "discovery-reply-command-id",
)
MAC_DISAGREES = fault_registry.declare(
    "discovery-mac-disagrees",
    "10",
    "discovery reports a MAC one higher in the last octet than /Network/Interfaces/1/IPAddress",
    "discovery-mac-agrees",
    ("DeviceMac", "MAC"),
)
FIRMWARE_DISAGREES = fault_registry.declare(
    "discovery-firmware-disagrees",
    "10",
    "DeviceVersion reports an older firmware than /System/DeviceInfo SoftWareVersion",
    "discovery-probe-agrees-with-rest",
    ("DeviceVersion",),
)
AUTH_NOT_CHECKED = fault_registry.declare(
    "discovery-auth-not-checked",
    "10",
    "102 and 103 succeed without <Auth> or with wrong credentials",
    "discovery-auth-required",
)
MAC_FILTER_IGNORED = fault_registry.declare(
    "discovery-mac-filter-ignored",
    "10",
    "answers requests addressed to another DeviceMac",
    "discovery-mac-addressed",
)
PROBE_IGNORED = fault_registry.declare(
    "discovery-probe-ignored",
    "10",
    "a 100 probe to every device (empty DeviceMac) gets no answer; only requests naming the camera's MAC do",
    "discovery-probe-answered",
)
REPLY_NOT_WELL_FORMED = fault_registry.declare(
    "discovery-reply-not-well-formed",
    "4.2",
    "replies leave <Head ...> open as the spec's samples do (not well-formed XML; ConfigLength still right)",
    "discovery-well-formed",
)
PORT_OUT_OF_RANGE = fault_registry.declare(
    "discovery-port-out-of-range",
    "10",
    "the probe reply's ManagerHostPort is 70000, no port (the field no REST resource mirrors)",
    "discovery-probe-fields",
)
NET_CONFIG_EMPTY = fault_registry.declare(
    "discovery-102-no-interfaces",
    "10",
    "the 102 reply's <NetworkInterfaceList> is empty: no interface is described",
    "discovery-102-net-config",
)
SET_101_OPEN = fault_registry.declare(
    "sec-discovery-101-unauthenticated",
    "10",
    "101 (set device configuration: address, ports) without <Auth> is applied, as the spec's sample has it",
    "sec-discovery-101-unauthenticated",
)
SSDP_AMPLIFIES = fault_registry.declare(
    "sec-ssdp-amplifies",
    "5",
    "every M-SEARCH answer is sent three times (for UDP's losses): an ssdp:all of 89 bytes draws some 2,700",
    "sec-discovery-amplification",
)
SSDP_NO_ANSWER = fault_registry.declare(
    "ssdp-no-answer",
    "5",
    "the SSDP responder ignores M-SEARCH (it still announces itself with NOTIFY)",
    "upnp-msearch",
)

# Fields chapter 10 marks "ro": a set request may carry them, they are never applied.
READ_ONLY = frozenset({"DeviceType", "DeviceVersion", "DeviceChannelCount", "DeviceMac", "TutkUID", "UlUID"})
READ_ONLY_NIC = frozenset({"NetworkState"})


class DiscoveryCamera(Protocol):
    """What the responders need from the camera (the simulator's Camera implements it)."""

    def discovery_facts(self) -> dict[str, Any]: ...
    def check_credentials(self, user: str, password: str) -> bool: ...
    def discovery_apply(self, command: int, fields: dict[str, Any]) -> int: ...
    def upnp_facts(self) -> dict[str, Any]: ...


class _NoFaults:
    def on(self, name: str) -> bool:
        return False


def _faults(faults: Any) -> Any:
    return faults if faults is not None else _NoFaults()


# --------------------------------------------------------------------------- Discovery V2


WILDCARD = ("", "0.0.0.0")
# Linux: with 0 a socket gets multicast only from the interfaces it joined on itself, not from another
# process's joins (ip(7) IP_MULTICAST_ALL; Python has no constant for it before 3.13 on every platform)
IP_MULTICAST_ALL = getattr(socket, "IP_MULTICAST_ALL", 49)


def _reusable() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    return sock


def listening_sockets(port: int, group: str, bind: str) -> list[socket.socket]:
    """The UDP sockets of a multicast service on ``port`` (Rule 5): one on every interface for a wildcard
    ``bind``; otherwise one bound to the group address, joined on ``bind``'s interface only, and one bound to
    ``bind`` for unicast, on the same port."""
    if bind in WILDCARD:
        return [multicast_socket(port, group)]
    member = _reusable()
    try:
        member.bind((group, port))
        try:
            member.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
        except OSError:  # not Linux: the interface join below is the only filter
            pass
        member.setsockopt(
            socket.IPPROTO_IP,
            socket.IP_ADD_MEMBERSHIP,
            struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton(bind)),
        )
        unicast = _reusable()
        try:
            unicast.bind((bind, member.getsockname()[1]))
        except OSError:
            unicast.close()
            raise
    except OSError:
        member.close()
        raise
    return [member, unicast]


async def _endpoints(
    socks: list[socket.socket], handle: Callable[[bytes, tuple[str, int]], bytes | list[bytes] | None]
) -> list[asyncio.DatagramTransport]:
    loop = asyncio.get_running_loop()
    out = []
    for sock in socks:
        transport, _ = await loop.create_datagram_endpoint(lambda: _Datagrams(handle), sock=sock)
        out.append(transport)
    return out


class DiscoveryResponder:
    """Answers Discovery V2 on ``port`` (multicast group 239.239.239.52, joined on every interface or on
    the one owning ``bind``); ``handle`` is the whole protocol, the rest is asyncio plumbing."""

    def __init__(self, camera: DiscoveryCamera, port: int = d.PORT, bind: str = "0.0.0.0", faults: Any = None) -> None:
        self.camera, self.port, self.bind = camera, port, bind
        self.faults = _faults(faults)
        self._transports: list[asyncio.DatagramTransport] = []
        self._table: dict[int, Callable[[d.Message], tuple[int, d.Body | None]]] = {
            d.PROBE: self._probe,
            d.SET_DEVICE_CONFIG: self._set_device_config,
            d.GET_NET_CONFIG: self._get_net_config,
            d.SET_NET_CONFIG: self._set_net_config,
        }

    async def start(self) -> DiscoveryResponder:
        if self._transports:
            raise RuntimeError("DiscoveryResponder already started")
        socks = listening_sockets(self.port, d.GROUP, self.bind)
        self.port = socks[0].getsockname()[1]  # port 0 means ephemeral
        self._transports = await _endpoints(socks, self.handle)
        return self

    async def stop(self) -> None:
        for transport in self._transports:
            transport.close()
        self._transports = []

    async def __aenter__(self) -> DiscoveryResponder:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- the protocol

    def facts(self) -> dict[str, Any]:
        """The camera's facts as discovery reports them (faults may falsify them here, and only here)."""
        facts = dict(self.camera.discovery_facts())
        if self.faults.on(MAC_DISAGREES):
            wrong = _next_mac(str(facts["DeviceMac"]))
            facts["DeviceMac"] = wrong
            facts["interfaces"] = [
                {**nic, "MAC": wrong} if d.same_mac(nic.get("MAC"), self.camera.discovery_facts()["DeviceMac"]) else nic
                for nic in facts.get("interfaces", ())
            ]
        if self.faults.on(FIRMWARE_DISAGREES):
            facts["DeviceVersion"] = f"{facts['DeviceVersion']}-old"
        return facts

    def handle(self, data: bytes, sender: tuple[str, int] | None = None) -> bytes | None:
        """One datagram in, at most one datagram out (Rules 1-4)."""
        try:
            msg = d.parse_message(data)
        except d.ParseError as exc:
            log.debug("discovery: unreadable datagram from %s: %s", sender, exc)
            return None
        if msg.root != "Request" or msg.head.CommandID != d.COMMAND_ID_CLIENT:
            return None  # our own replies and other devices' replies come back on the group
        command = msg.cfg.MainCommand
        own_mac = str(self.camera.discovery_facts()["DeviceMac"])
        wildcard = (msg.cfg.DeviceMac or "").strip().lower() in d.WILDCARD_MACS and command in (
            d.PROBE,
            d.GET_NET_CONFIG,
        )
        if not (wildcard or d.same_mac(msg.cfg.DeviceMac, own_mac) or self.faults.on(MAC_FILTER_IGNORED)):
            return None
        if wildcard and command == d.PROBE and self.faults.on(PROBE_IGNORED):
            return None
        handler = self._table.get(command) if command is not None else None
        reply, body = handler(msg) if handler is not None else (d.REPLY_UNSUPPORTED, None)
        facts = self.facts()
        kw: dict[str, Any] = {"assist_command": msg.cfg.AssistCommand if msg.cfg.AssistCommand is not None else -1}
        if self.faults.on(REPLY_COMMAND_ID_10):
            kw["command_id"] = d.COMMAND_ID_CLIENT
        out = d.build_response(command if command is not None else -1, str(facts["DeviceMac"]), reply, body, **kw)
        if self.faults.on(CONFIG_LENGTH_WRONG):
            after_head = len(out) - out.index(b"/>", out.index(b"<Head")) - 2
            out = d.build_response(
                command if command is not None else -1, str(facts["DeviceMac"]), reply, body,
                config_length=after_head, **kw,
            )  # fmt: skip
        if self.faults.on(REPLY_NOT_WELL_FORMED):
            out = _head_left_open(out)
        return out

    def _authorised(self, msg: d.Message, required: bool) -> bool:
        if self.faults.on(AUTH_NOT_CHECKED):
            return True
        if msg.auth is None:
            return not required
        return bool(self.camera.check_credentials(msg.auth.UserName, msg.auth.UserPassword))

    def _probe(self, msg: d.Message) -> tuple[int, d.Body | None]:
        facts = self.facts()
        if self.faults.on(PORT_OUT_OF_RANGE):
            facts["ManagerHostPort"] = 70000
        return d.REPLY_OK, d.body_from_dict(d.DeviceProbeConfig, facts)

    def _get_net_config(self, msg: d.Message) -> tuple[int, d.Body | None]:
        if not self._authorised(msg, required=True):
            return d.REPLY_AUTH_FAILED, None
        facts = {k: v for k, v in self.facts().items() if k != "DeviceMac"}  # the 102 sample has none
        if self.faults.on(NET_CONFIG_EMPTY):
            facts["interfaces"] = []
        return d.REPLY_OK, d.body_from_dict(d.DeviceProbeNetConfig, facts)

    def _set_device_config(self, msg: d.Message) -> tuple[int, d.Body | None]:
        if not self._authorised(msg, required=not self.faults.on(SET_101_OPEN)):
            return d.REPLY_AUTH_FAILED, None
        if not isinstance(msg.body, d.DeviceProbeConfig):
            return d.REPLY_FAILED, None
        return self._apply(d.SET_DEVICE_CONFIG, msg.fields()), None

    def _set_net_config(self, msg: d.Message) -> tuple[int, d.Body | None]:
        if not self._authorised(msg, required=True):
            return d.REPLY_AUTH_FAILED, None
        if not isinstance(msg.body, d.DeviceProbeNetConfig):
            return d.REPLY_FAILED, None
        fields = msg.fields()
        fields["interfaces"] = [
            {k: v for k, v in nic.items() if k not in READ_ONLY_NIC} for nic in fields.pop("NetworkInterfaceList", [])
        ]
        return self._apply(d.SET_NET_CONFIG, fields), None

    def _apply(self, command: int, fields: dict[str, Any]) -> int:
        writable = {k: v for k, v in fields.items() if k not in READ_ONLY}
        try:
            return int(self.camera.discovery_apply(command, writable))
        except (ValueError, KeyError, TypeError) as exc:  # the camera refused the values
            log.info("discovery: %s refused: %s", d.COMMANDS[command], exc)
            return d.REPLY_FAILED


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, handle: Callable[[bytes, tuple[str, int]], bytes | list[bytes] | None]) -> None:
        self.handle = handle
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            out = self.handle(data, addr)
        except Exception:  # Rule 4 says this never happens; if it does, one bad datagram must not stop us
            log.exception("discovery: datagram from %s crashed the handler", addr)
            return
        for reply in out if isinstance(out, list) else [out] if out else []:
            assert self.transport is not None
            self.transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("discovery: %s", exc)


def _head_left_open(out: bytes) -> bytes:
    """Fault REPLY_NOT_WELL_FORMED: `<Head ... />` written `<Head ...>`, ConfigLength the new length (Rule 3)."""
    length = len(out)
    for _ in range(3):  # the length's own digits may change the length
        opened = re.sub(rb'ConfigLength="\d+"', b'ConfigLength="%d"' % length, out, count=1)
        opened = re.sub(rb"(<Head [^>]*?) />", rb"\1>", opened, count=1)
        if len(opened) == length:
            break
        length = len(opened)
    return opened


def _next_mac(mac: str) -> str:
    digits = d.mac_digits(mac).rjust(12, "0")
    value = (int(digits, 16) & ~0xFF) | ((int(digits, 16) + 1) & 0xFF)
    return ":".join(f"{value:012x}"[i : i + 2] for i in range(0, 12, 2)).upper()


# --------------------------------------------------------------------------- SSDP / UPnP (spec 5)


def udn(mac: str) -> str:
    """The UPnP UDN: a fixed prefix and the MAC as node, so it is stable across reboots (UDA 1.0, 2.1)."""
    return f"uuid:2f402f80-da50-11e1-9b23-{d.mac_digits(mac).rjust(12, '0')}"


PRESENTATION_PATH = "/upnp/"  # the camera's presentation page (UDA 1.0, 2.3 presentationURL; 5)


def presentation_html(camera: DiscoveryCamera) -> bytes:
    """The page presentationURL points at: who the camera is and where its API is."""
    f = camera.upnp_facts()
    name, model, serial = (html.escape(str(f.get(k, ""))) for k in ("DeviceName", "DeviceTypeName", "SerialNum"))
    return (
        f"<!DOCTYPE html>\n<html><head><title>{name}</title></head><body>\n"
        f"<h1>{name}</h1>\n<p>{model}, serial {serial}, firmware {html.escape(str(f.get('SoftWareVersion', '')))}</p>\n"
        '<p>B-View 2 REST API, e.g. <a href="/System/DeviceInfo">/System/DeviceInfo</a> (authentication required);'
        ' UPnP description: <a href="/upnp/description.xml">/upnp/description.xml</a>.</p>\n</body></html>\n'
    ).encode()


def description_xml(camera: DiscoveryCamera) -> bytes:
    """The UPnP device description the camera serves at /upnp/description.xml (UDA 1.0, 2.3)."""
    f = camera.upnp_facts()

    def e(value: Any) -> str:
        return html.escape(str(value), quote=False)

    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<root xmlns="urn:schemas-upnp-org:device-1-0">\n'
        "  <specVersion><major>1</major><minor>0</minor></specVersion>\n"
        "  <device>\n"
        f"    <deviceType>{d.UPNP_DEVICE_TYPE}</deviceType>\n"
        f"    <friendlyName>{e(f['DeviceName'])}</friendlyName>\n"
        f"    <manufacturer>{e(f.get('Manufacturer', 'B-View'))}</manufacturer>\n"
        f"    <modelName>{e(f['DeviceTypeName'])}</modelName>\n"
        f"    <modelNumber>{e(f['DeviceTypeName'])}</modelNumber>\n"
        f"    <serialNumber>{e(f['SerialNum'])}</serialNumber>\n"
        f"    <UDN>{udn(str(f['MacAddress']))}</UDN>\n"
        # UDA 1.0 2.3: a device without services has an empty serviceList
        "    <serviceList></serviceList>\n"
        f"    <presentationURL>http://{e(f['IPAddress'])}:{int(f['HttpPort'])}{PRESENTATION_PATH}</presentationURL>\n"
        "  </device>\n"
        "</root>\n"
    ).encode()


class SsdpResponder:
    """Answers M-SEARCH (multicast on ``port`` when ``multicast``, and unicast to ``port`` always),
    announces ssdp:alive on start and again before the advertisement expires, ssdp:byebye on stop
    (UDA 1.0, 1.2 and 1.3). The re-announcement interval is scaled by ``time_scale``."""

    MAX_AGE = 1800  # UDA 1.0, 1.2.2: "Should be greater than or equal to 1800 seconds"
    # UDA 1.0, 1.2.2: "a random interval less than 50% of the value of CACHE-CONTROL max-age" between announcements
    REANNOUNCE = (0.25, 0.45)

    def __init__(
        self, camera: DiscoveryCamera, bind: str = "0.0.0.0", port: int = d.SSDP_PORT, multicast: bool = True,
        faults: Any = None, time_scale: float = 1.0,
    ) -> None:  # fmt: skip
        self.camera, self.bind, self.port, self.multicast = camera, bind, port, multicast
        self.faults = _faults(faults)
        self._transports: list[asyncio.DatagramTransport] = []
        self.time_scale = time_scale
        self._announcer: asyncio.Task[None] | None = None

    def reannounce_delay(self) -> float:
        """Seconds until the next ssdp:alive: well inside max-age, scaled like every device timing."""
        low, high = self.REANNOUNCE
        return random.uniform(low, high) * self.MAX_AGE * self.time_scale

    async def _announce(self) -> None:
        while True:
            await asyncio.sleep(self.reannounce_delay())
            self._notify("ssdp:alive")

    async def start(self) -> SsdpResponder:
        if self._transports:
            raise RuntimeError("SsdpResponder already started")
        if self.multicast:
            socks = listening_sockets(self.port, d.SSDP_GROUP, self.bind)
        else:
            socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM)]
            socks[0].bind((self.bind, self.port))
        self.port = socks[0].getsockname()[1]
        for sock in socks:
            if self.bind not in WILDCARD:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(self.bind))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        self._transports = await _endpoints(socks, self.handle)
        self._notify("ssdp:alive")
        if self.multicast:
            self._announcer = asyncio.create_task(self._announce())
        return self

    async def stop(self) -> None:
        if self._announcer is not None:
            self._announcer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._announcer
            self._announcer = None
        if self._transports:
            self._notify("ssdp:byebye")
            for transport in self._transports:
                transport.close()
            self._transports = []

    async def __aenter__(self) -> SsdpResponder:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def targets(self) -> list[tuple[str, str]]:
        """(ST/NT, USN) pairs this root device answers for (UDA 1.0, 1.1.2)."""
        u = udn(str(self.camera.upnp_facts()["MacAddress"]))
        return [
            ("upnp:rootdevice", f"{u}::upnp:rootdevice"),
            (u, u),
            (d.UPNP_DEVICE_TYPE, f"{u}::{d.UPNP_DEVICE_TYPE}"),
        ]

    def location(self) -> str:
        f = self.camera.upnp_facts()
        return f"http://{f['IPAddress']}:{int(f['HttpPort'])}/upnp/description.xml"

    def server(self) -> str:
        return f"Linux/3.10 UPnP/1.0 pytest-bview/{__version__}"

    def handle(self, data: bytes, sender: tuple[str, int] | None = None) -> list[bytes]:
        """One M-SEARCH in, one 200 OK per matching target out; anything else is ignored."""
        try:
            start, headers = d.parse_ssdp(data)
        except ValueError:
            return []
        if not re.fullmatch(r"M-SEARCH \* HTTP/1\.[01]", start) or headers.get("MAN", "").strip('"') != "ssdp:discover":
            return []
        if self.faults.on(SSDP_NO_ANSWER):
            return []
        st = headers.get("ST", "")
        matches = [(t, usn) for t, usn in self.targets() if st in ("ssdp:all", t) or _older_version_of(st, t)]
        answers = [self._ok(st if st != "ssdp:all" else t, usn) for t, usn in matches]
        return answers * 3 if self.faults.on(SSDP_AMPLIFIES) else answers

    def _ok(self, st: str, usn: str) -> bytes:
        return (
            "HTTP/1.1 200 OK\r\n"
            f"CACHE-CONTROL: max-age={self.MAX_AGE}\r\n"
            f"DATE: {email.utils.formatdate(usegmt=True)}\r\n"
            "EXT:\r\n"
            f"LOCATION: {self.location()}\r\n"
            f"SERVER: {self.server()}\r\n"
            f"ST: {st}\r\n"
            f"USN: {usn}\r\n"
            "\r\n"
        ).encode()

    def _notify(self, nts: str) -> None:
        if not self.multicast or not self._transports:
            return
        for nt, usn in self.targets():
            lines = [
                "NOTIFY * HTTP/1.1",
                f"HOST: {d.SSDP_GROUP}:{self.port}",
                f"NT: {nt}",
                f"NTS: {nts}",
                f"USN: {usn}",
            ]
            if nts == "ssdp:alive":
                lines[2:2] = [f"CACHE-CONTROL: max-age={self.MAX_AGE}", f"LOCATION: {self.location()}",
                              f"SERVER: {self.server()}"]  # fmt: skip
            try:
                # from the last socket: the one bound to ``bind`` (Rule 5), so the source is the camera's address
                self._transports[-1].sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), (d.SSDP_GROUP, self.port))
            except OSError as exc:  # no multicast route: announcing is best effort
                log.debug("ssdp: NOTIFY %s not sent: %s", nts, exc)


def _older_version_of(st: str, target: str) -> bool:
    """UDA 1.0, 1.2.2: a search for version N of a type is answered by a device of version >= N."""
    stem, _, want = st.rpartition(":")
    have_stem, _, have = target.rpartition(":")
    return bool(stem) and stem == have_stem and want.isdigit() and have.isdigit() and int(want) <= int(have)


# --------------------------------------------------------------------------- a fake camera


class FakeCamera:
    """A stand-in camera with the ``DiscoveryCamera`` methods, for tests and ``--fake``."""

    def __init__(self, mac: str = "00:12:34:56:78:9A", ip: str = "127.0.0.1", user: str = "admin",
                 password: str = "admin", firmware: str = "V2.1.0 build 240101") -> None:  # fmt: skip
        self.users = {user: password}
        self.applied: list[tuple[int, dict[str, Any]]] = []
        self.identity = {"DeviceName": "IPCamera", "DeviceTypeName": "SPT907", "SerialNum": "SPT907-0001"}
        self.facts: dict[str, Any] = {
            "DeviceType": "IPC", "DeviceVersion": firmware, "DeviceChannelCount": 1, "DeviceEnableRegister": False,
            "DeviceRegisterInterval": 60, "DeviceMac": mac, "DeviceIP": ip, "DeviceMask": "255.255.255.0",
            "DeviceGateway": "0.0.0.0", "DhcpEnable": False, "DeviceManagerHost": "0.0.0.0", "DeviceDetectPort": 5566,
            "ManagerHostPort": 7000, "CommandPort": 6000, "MediaPort": 6001, "HttpPort": 80, "RtspPort": 554,
            "TutkUID": "0", "UlUID": "0",
        }  # fmt: skip
        self.facts["interfaces"] = [
            {"ID": "1", "Enable": "open", "DhcpEnable": False, "MAC": mac, "IPAddress": ip, "Netmask": "255.255.255.0",
             "Gateway": "0.0.0.0", "EnableAutoGenerateIP": False, "NetworkState": "get ip success"}
        ]  # fmt: skip

    def discovery_facts(self) -> dict[str, Any]:
        return {**self.facts, "interfaces": [dict(n) for n in self.facts["interfaces"]]}

    def check_credentials(self, user: str, password: str) -> bool:
        return self.users.get(user) == password

    def discovery_apply(self, command: int, fields: dict[str, Any]) -> int:
        new = {**self.facts, **{k: v for k, v in fields.items() if k in self.facts and k != "interfaces"}}
        nics = {n["ID"]: dict(n) for n in self.facts["interfaces"]}
        for nic in fields.get("interfaces", ()):
            if nic.get("ID") not in nics:
                return d.REPLY_FAILED
            nics[nic["ID"]].update({k: v for k, v in nic.items() if k != "MAC"})
        if command == d.SET_NET_CONFIG and "1" in nics:  # interface 1 is the wired one the top level mirrors
            new.update(
                DeviceIP=nics["1"]["IPAddress"], DeviceMask=nics["1"]["Netmask"], DeviceGateway=nics["1"]["Gateway"]
            )
        else:
            nics.setdefault("1", {}).update(
                IPAddress=new["DeviceIP"], Netmask=new["DeviceMask"], Gateway=new["DeviceGateway"]
            )
        if not all(_is_ipv4(new[key]) for key in ("DeviceIP", "DeviceMask", "DeviceGateway")):
            return d.REPLY_FAILED
        new["interfaces"] = list(nics.values())
        self.facts = new
        self.applied.append((command, fields))
        return d.REPLY_OK

    def upnp_facts(self) -> dict[str, Any]:
        return {**self.identity, "SoftWareVersion": self.facts["DeviceVersion"], "MacAddress": self.facts["DeviceMac"],
                "IPAddress": self.facts["DeviceIP"], "HttpPort": self.facts["HttpPort"]}  # fmt: skip


def _is_ipv4(value: Any) -> bool:
    parts = str(value).split(".")
    return len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts)


# --------------------------------------------------------------------------- python -m entry point


async def _serve(args: argparse.Namespace) -> None:
    camera = FakeCamera(mac=args.mac, ip=args.ip)
    try:
        faults = faults_from_names(args.fault)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    responder = await DiscoveryResponder(camera, args.port, args.bind, faults).start()
    ssdp = await SsdpResponder(camera, args.bind, args.ssdp_port, multicast=args.ssdp_port != 0, faults=faults).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(json.dumps({"discovery": responder.port, "ssdp": ssdp.port, "mac": args.mac, "ip": args.ip}), flush=True)
    await stop.wait()
    await ssdp.stop()
    await responder.stop()


def faults_from_names(names: list[str] | tuple[str, ...]) -> fault_registry.Faults:
    """``Faults(names)``: this module's faults are declared once it is imported, so the discovery responders
    alone (``--fake``) check names and typos as the whole camera does."""
    return fault_registry.Faults(names)


def main(argv: list[str] | None = None) -> None:
    """``python -m pytest_bview.simulator.discovery --fake``: the discovery responders alone, for tests."""
    p = argparse.ArgumentParser(prog="python -m pytest_bview.simulator.discovery", description=main.__doc__)
    p.add_argument("--fake", action="store_true", required=True, help="Answer for a fake camera (the only mode)")
    p.add_argument("--port", type=int, default=d.PORT, help="Discovery V2 UDP port")
    p.add_argument("--ssdp-port", type=int, default=0, help="SSDP port (0: ephemeral, unicast only)")
    p.add_argument("--bind", default="0.0.0.0", help="Interface address to join the groups on")
    p.add_argument("--mac", default="00:12:34:56:78:9A", help="The fake camera's MAC")
    p.add_argument("--ip", default="127.0.0.1", help="The fake camera's IP address as discovery reports it")
    p.add_argument("--fault", action="append", default=[], help="Switch on a discovery/ssdp fault (repeatable)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
