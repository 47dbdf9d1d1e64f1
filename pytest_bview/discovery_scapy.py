"""Discovery V2 (spec 10) as a scapy layer: ``Ether()/IP()/UDP(dport=5566)/DiscoveryV2(xml=...)``.

Kept apart from ``pytest_bview.discovery`` because importing scapy takes a second; only the raw-frame
transport and tools that dissect captures import this module.
"""

from __future__ import annotations

import socket

from scapy.fields import StrField
from scapy.layers.inet import UDP
from scapy.packet import Packet, bind_layers

from pytest_bview.protocol.discovery import GROUP, PORT, Message, ParseError, parse_message


class DiscoveryV2(Packet):
    """The whole UDP payload: one XML message (spec 10). ``message()`` reads it leniently."""

    name = "Discovery V2"
    fields_desc = [StrField("xml", b"")]

    def message(self) -> Message:
        """The payload read by ``pytest_bview.protocol.discovery.parse_message`` (deviations recorded)."""
        return parse_message(self.xml)

    def mysummary(self) -> str:
        try:
            msg = self.message()
        except ParseError as exc:
            return f"Discovery V2 unreadable ({exc})"
        return self.sprintf(
            f"Discovery V2 {msg.root} MainCommand={msg.cfg.MainCommand} CommandID={msg.head.CommandID}"
            f" ReplyMsg={msg.head.ReplyMsg}"
        )


def multicast_mac(group: str = GROUP) -> str:
    """The Ethernet address of an IPv4 multicast group (RFC 1112: 01:00:5e + the low 23 bits)."""
    low = int.from_bytes(socket.inet_aton(group), "big") & 0x7FFFFF
    return "01:00:5e:" + ":".join(f"{b:02x}" for b in low.to_bytes(3, "big"))


bind_layers(UDP, DiscoveryV2, dport=PORT)
bind_layers(UDP, DiscoveryV2, sport=PORT)
