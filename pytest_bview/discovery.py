"""Device discovery V2 (spec chapter 10) and SSDP M-SEARCH (spec chapter 5), client side: the transports.

The messages (models, codec, the lenient reader and its rules) are ``pytest_bview.protocol.discovery``,
re-exported here so that a check reads ``d.parse_message`` and ``d.SocketTransport`` from one name.

Rule 1: a reply is gathered until a deadline; a datagram that is not a message is skipped, never fatal.

scapy is imported only by ``RawTransport`` and ``pytest_bview.discovery_scapy``, so importing this
module stays fast.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import select
import threading
import time
from collections.abc import Callable
from typing import Any

from pytest_bview.multicast import multicast_socket, sender_socket
from pytest_bview.protocol.discovery import *  # noqa: F403  (the messages, read through this module by checks)
from pytest_bview.protocol.discovery import (
    GROUP,
    PORT,
    PROBE,
    SSDP_GROUP,
    SSDP_PORT,
    Auth,
    Body,
    Message,
    ParseError,
    build_request,
    msearch,
    parse_message,
    parse_ssdp,
)

# --------------------------------------------------------------------------- transports


class _Transport:
    """probe/request on top of one primitive: send a datagram, gather the replies until a deadline."""

    def exchange(
        self, datagram: bytes, timeout: float, want: Callable[[Message], bool], stop_after: int | None
    ) -> list[Message]:
        raise NotImplementedError

    def _gather(
        self,
        recv: Callable[[float], tuple[bytes, tuple[str, int]] | None],
        sent_at: float,
        timeout: float,
        want: Callable[[Message], bool],
        stop_after: int | None,
    ) -> list[Message]:
        replies: list[Message] = []
        deadline = sent_at + timeout
        while (left := deadline - time.perf_counter()) > 0:
            got = recv(left)
            if got is None:
                continue
            data, sender = got
            now = time.perf_counter()
            try:
                msg = parse_message(data)
            except ParseError:
                continue
            if msg.root != "Response" or not want(msg):
                continue
            replies.append(dataclasses.replace(msg, sender=sender, elapsed=now - sent_at))
            if stop_after is not None and len(replies) >= stop_after:
                break
        return replies

    def probe(self, timeout: float = 2.0, mac: str | None = None, stop_after: int | None = None) -> list[Message]:
        """Send a 100 probe (to every device, or to ``mac``) and return every reply within ``timeout``."""
        datagram = build_request(PROBE, mac or "")
        return self.exchange(datagram, timeout, lambda m: m.cfg.MainCommand == PROBE, stop_after)

    def request(
        self,
        main_command: int,
        mac: str | None,
        auth: Auth | None = None,
        body: Body | None = None,
        timeout: float = 2.0,
    ) -> Message | None:
        """Send one request and return the first reply to the same MainCommand, or None within ``timeout``."""
        datagram = build_request(main_command, mac, auth, body)
        replies = self.exchange(datagram, timeout, lambda m: m.cfg.MainCommand == main_command, 1)
        return replies[0] if replies else None

    def send_raw(self, datagram: bytes, timeout: float = 1.0) -> list[Message]:
        """Send arbitrary bytes (a malformed request, say) and return whatever Responses come back."""
        return self.exchange(datagram, timeout, lambda m: True, None)


class SocketTransport(_Transport):
    """Plain UDP sockets, no privileges. Requests go to ``group:port`` out of ``interface`` (an address;
    "127.0.0.1" for a simulator on loopback); replies are read on our ephemeral port, where a conformant
    device sends them. With ``listen_group`` replies a device multicasts to the group are read as well.
    """

    def __init__(
        self,
        port: int = PORT,
        interface: str | None = None,
        group: str = GROUP,
        *,
        listen_group: bool = False,
        destination: str | None = None,
    ) -> None:
        self.port, self.group, self.interface = port, group, interface
        self.destination = destination or group  # a unicast address is allowed (a camera behind a router)
        self.listen_group = listen_group

    def exchange(
        self, datagram: bytes, timeout: float, want: Callable[[Message], bool], stop_after: int | None
    ) -> list[Message]:
        socks = [sender_socket(self.interface)]
        if self.listen_group:
            socks.append(multicast_socket(self.port, self.group, self.interface or "0.0.0.0"))
        try:

            def recv(left: float) -> tuple[bytes, tuple[str, int]] | None:
                ready, _, _ = select.select(socks, [], [], left)
                return ready[0].recvfrom(65535) if ready else None

            sent_at = time.perf_counter()
            socks[0].sendto(datagram, (self.destination, self.port))
            return self._gather(recv, sent_at, timeout, want, stop_after)
        finally:
            for s in socks:
                s.close()


class RawTransport(_Transport):
    """Ether/IP/UDP frames built with scapy, sent on ``iface``; replies sniffed there (root needed).

    Reaches a camera whose address is in another subnet: the request leaves as a link-layer multicast
    frame whatever the routing table says, and the reply is read off the wire before any routing
    decision of ours. The camera still needs a way back to ``src_ip`` (an on-link or default route).
    """

    def __init__(self, iface: str, port: int = PORT, src_ip: str | None = None, sport: int | None = None) -> None:
        self.iface, self.port, self.src_ip = iface, port, src_ip
        self.sport = sport

    def exchange(
        self, datagram: bytes, timeout: float, want: Callable[[Message], bool], stop_after: int | None
    ) -> list[Message]:
        import random

        from scapy.arch import get_if_addr, get_if_hwaddr
        from scapy.config import conf
        from scapy.layers.inet import IP, UDP
        from scapy.layers.l2 import Ether
        from scapy.sendrecv import AsyncSniffer

        from pytest_bview.discovery_scapy import DiscoveryV2, multicast_mac

        src_ip = self.src_ip or get_if_addr(self.iface)
        sport = self.sport or random.randint(20000, 60000)
        frame = (
            Ether(src=get_if_hwaddr(self.iface), dst=multicast_mac(GROUP))
            / IP(src=src_ip, dst=GROUP, ttl=1)
            / UDP(sport=sport, dport=self.port)
            / DiscoveryV2(xml=datagram)
        )
        capturing = threading.Event()
        sniffer = AsyncSniffer(
            iface=self.iface,
            # a Python-side filter: a BPF string needs libpcap, which a minimal host lacks
            lfilter=lambda p: UDP in p and p[UDP].dport == sport and p[UDP].sport == self.port,
            started_callback=capturing.set,
        )
        sniffer.start()
        capturing.wait(2.0)
        sock = conf.L2socket(iface=self.iface)
        try:
            sent_at = time.time()  # compared with scapy's capture timestamps, which are wall-clock
            sock.send(frame)
            time.sleep(timeout)
        finally:
            sock.close()
            packets: Any = sniffer.stop() or []
        replies = []
        for pkt in packets:
            if UDP not in pkt:
                continue
            try:
                msg = parse_message(bytes(pkt[UDP].payload))
            except ParseError:
                continue
            if msg.root == "Response" and want(msg):
                replies.append(
                    dataclasses.replace(msg, sender=(pkt[IP].src, pkt[UDP].sport), elapsed=float(pkt.time) - sent_at)
                )
        return replies[:stop_after] if stop_after else replies


def ssdp_search(
    st: str = "ssdp:all",
    timeout: float = 2.0,
    destination: str = SSDP_GROUP,
    port: int = SSDP_PORT,
    interface: str | None = None,
) -> list[tuple[tuple[str, int], str, dict[str, str]]]:
    """Send an M-SEARCH (multicast to the SSDP group, or unicast to ``destination``) and return every
    ``(sender, start line, headers)`` answer received within ``timeout``."""
    sock = sender_socket(interface, ttl=2)
    answers = []
    try:
        sock.sendto(msearch(st, max(1, int(timeout)), destination, port), (destination, port))
        deadline = time.perf_counter() + timeout
        while (left := deadline - time.perf_counter()) > 0:
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                break
            data, sender = sock.recvfrom(65535)
            try:
                start, headers = parse_ssdp(data)
            except ValueError:
                continue
            answers.append((sender, start, headers))
    finally:
        sock.close()
    return answers


def local_interface(host: str) -> str | None:
    """Send the multicast out of the interface that routes to the camera (loopback for a local camera)."""
    return "127.0.0.1" if ipaddress.ip_address(host).is_loopback else None


def transport_for(target: Any) -> SocketTransport | RawTransport:
    """The transport that reaches the camera under test: raw frames on --bview-discovery-iface, else sockets."""
    if target.discovery_iface:
        return RawTransport(target.discovery_iface, port=target.discovery_port)
    return SocketTransport(port=target.discovery_port, interface=local_interface(target.host))
