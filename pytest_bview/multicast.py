"""UDP multicast sockets, shared by the kit's discovery transports and the reference camera's responders.

Rule 1: a listener shares its port with other processes (SO_REUSEADDR/SO_REUSEPORT): several cameras and
        clients on one host all hear Discovery V2 (spec 10: 239.239.239.52:5566) and SSDP (239.255.255.250:1900).
Rule 2: a listener joins the group on every interface that can (one down interface is not an error).
"""

from __future__ import annotations

import socket
import struct


def _join_everywhere(sock: socket.socket, group: str, interface: str = "0.0.0.0") -> int:
    """Join ``group`` on every interface (or on the one owning ``interface``); returns how many joins held."""
    joined = 0
    targets = [(0, interface)] if interface != "0.0.0.0" else [(i, "0.0.0.0") for i, _ in socket.if_nameindex()]
    for index, addr in targets:
        mreq = struct.pack("4s4si", socket.inet_aton(group), socket.inet_aton(addr), index)
        try:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            joined += 1
        except OSError:  # an interface that is down or cannot do multicast
            pass
    return joined


def multicast_socket(port: int, group: str, interface: str = "0.0.0.0") -> socket.socket:
    """A UDP socket bound to ``port`` (shared with other processes) that has joined ``group``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("", port))
    _join_everywhere(sock, group, interface)
    return sock


def sender_socket(interface: str | None, ttl: int = 1) -> socket.socket:
    """An ephemeral-port UDP socket that sends multicast out of ``interface`` (an address) and loops it back."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("", 0))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    if interface:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
    return sock
