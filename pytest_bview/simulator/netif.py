"""The camera's wired network identity: its address and DHCP (9.1.7.1.1, 9.1.7.1.1.1).

Rule 1: a saved change of /Network/Interfaces/1/IPAddress or of its DHCP is answered first; then the
        network services restart on the new address (maintenance.py Rule 1; ERRATA.md L30). Discovery V2
        103 saves the same state and restarts the same way.
Rule 2: where the camera lives decides how an address is applied.
        - On the host (the default, the built-in camera): the camera's network is the loopback net, so a
          new address in 127.0.0.0/8 is applied by binding every service there. An address this host
          cannot bind is stored but the camera stays where it is, and says so in the log: it cannot leave
          the host.
        - On an interface (`bview-sim --interface IFACE`, with CAP_NET_ADMIN: the network-namespace rig of
          tests/test_network_identity_netns.py): the address is set on the interface with iproute2, and
          DHCP is a real client (DISCOVER, OFFER, REQUEST, ACK in scapy frames, broadcast flag).
Rule 3: a camera waiting for a lease keeps the address it had (a careful vendor does not drop off the
        network because no DHCP server answers); DHCP Status says "obtaining" until a lease arrives, and
        a lease found later restarts the network services on it. A lease is renewed at T1 (RENEWING,
        scaled); renewed to another address, or expired unrenewed, it restarts the network services.
        With a lease, GET IPAddress shows the leased address, mask and gateway; the static ones stay
        stored for the day DHCP is switched off.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
import socket
import subprocess
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pytest_bview.simulator import faults as F
from pytest_bview.simulator.config import rule
from pytest_bview.simulator.device import RULE_FAULTS, Caller, Device, computed
from pytest_bview.simulator.extensions import BEFORE_RESTART, RESTART_ON_SAVE, STARTUP_HOOKS

if TYPE_CHECKING:
    from pytest_bview.simulator.camera import Camera

log = logging.getLogger("bview.sim.netif")

WIRED = "/Network/Interfaces/1/IPAddress"
DHCP = WIRED + "/DHCP"
LEASE = "dhcp_lease"  # the store's extra: the current lease (DhcpClient.lease: address, mask, gateway, timers)
DHCP_TRIES, DHCP_WAIT_S = 2, 2.0  # per boot: a DHCP server answers in milliseconds or not at all
DHCP_RETRY_S = 30.0  # then, while DHCP is on and no lease came, ask again this often (scaled)
WILDCARD = ("", "0.0.0.0", "::")

IP_NOT_APPLIED = F.declare(
    "ip-change-not-applied",
    "9.1.7.1.1",
    "after a new static address is saved the camera keeps answering at the old one while IPAddress names the new one",
    "ip-address-change",
)
IP_ELSEWHERE = F.declare(
    "ip-change-elsewhere",
    "9.1.7.1.1",
    "after a new static address is saved the camera comes back one address higher and says nothing of it",
    "ip-address-change",
)
RULE_FAULTS["usable_address"] = F.declare(
    "ip-unusable-accepted",
    "9.1.7.1.1",
    "an address no host can have (its subnet's broadcast address, a non-contiguous mask) is accepted and applied",
    "ip-unusable-refused",
)
DHCP_FORGOTTEN = F.declare(
    "dhcp-enable-forgotten",
    "9.1.7.1.1.1",
    "DHCP Enable true is answered 0, but after the network restart DHCP reads Enable false",
    "dhcp-enable-kept",
)
DHCP_LEASE_HIDDEN = F.declare(
    "dhcp-lease-not-reported",
    "9.1.7.1.1",
    "with a DHCP lease the camera answers at the leased address while IPAddress still shows the static one",
    "dhcp-lease-reported",
    rig="netns",
)
DHCP_OFF_KEEPS_LEASE = F.declare(
    "dhcp-off-keeps-lease",
    "9.1.7.1.1.1",
    "after DHCP is switched off the camera stays at its leased address instead of going back to its static one",
    "dhcp-off-static-address",
    rig="netns",
)


# -- what GET shows ------------------------------------------------------------------------------------------


def _dhcp_on(device: Device) -> bool:
    return (device.store.get(DHCP) or {}).get("Enable") == "true"


@computed("IPAddress")
def _leased_address(device: Device, key: str, doc: dict[str, Any], caller: Caller) -> dict[str, Any]:
    lease = device.store.extra(LEASE) if key == WIRED and _dhcp_on(device) else None
    if lease and not device.faults.on(DHCP_LEASE_HIDDEN):
        doc = {**doc, "ipAddress": lease["address"], "SubnetMask": lease["mask"], "Gateway": lease["gateway"]}
    return doc


@computed("DHCP")
def _dhcp_status(device: Device, key: str, doc: dict[str, Any], caller: Caller) -> dict[str, Any]:
    if key == DHCP and doc.get("Enable") == "true":
        doc = {**doc, "Status": "obtained" if device.store.extra(LEASE) else "obtaining"}
    return doc


@rule("IPAddress", "9.1.7.1.1")
def usable_address(new: Mapping[str, Any], old: Mapping[str, Any]) -> str | None:
    """A careful vendor refuses an address that would take the camera off any network (-5, ERRATA.md L31).
    0.0.0.0 with mask 0.0.0.0 is the "no address" of a card that is not connected (the wireless card's
    default) and stays valid."""
    if new.get("ipAddress") == "0.0.0.0" and new.get("SubnetMask") == "0.0.0.0":
        return None
    try:
        address = ipaddress.IPv4Address(str(new.get("ipAddress", "")))
        net = ipaddress.IPv4Network(f"{address}/{new.get('SubnetMask', '')}", strict=False)
    except ValueError as exc:
        return f"not an IPv4 address with a contiguous subnet mask: {exc}"
    if address.is_multicast or address.is_unspecified or address == ipaddress.IPv4Address("255.255.255.255"):
        return f"{address} cannot be a host's address"
    if net.prefixlen < 31 and address in (net.network_address, net.broadcast_address):
        return f"{address} is the network or broadcast address of {net}"
    gateway = str(new.get("Gateway", "0.0.0.0"))
    try:
        if gateway != "0.0.0.0" and ipaddress.IPv4Address(gateway) not in net:
            return f"the gateway {gateway} is outside {net}"
    except ValueError:
        return f"the gateway {gateway!r} is not an IPv4 address"
    return None


# -- applying it (Rule 1, Rule 2) ----------------------------------------------------------------------------


def _current(camera: Camera) -> str:
    return str(camera.extensions.get("address") or camera.options.bind)


def _bindable(address: str) -> bool:
    with socket.socket() as s:
        try:
            s.bind((address, 0))
        except OSError:
            return False
    return True


def _iproute(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        raise OSError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def _place(camera: Camera, address: str, mask: str, gateway: str) -> None:
    """Put the camera's services at `address` (Rule 2)."""
    iface = camera.options.interface
    if iface:
        prefix = ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen
        _iproute("-4", "addr", "flush", "dev", iface)
        _iproute("addr", "add", f"{address}/{prefix}", "dev", iface)
        if gateway != "0.0.0.0" and ipaddress.IPv4Address(gateway) in ipaddress.IPv4Network(
            f"{address}/{prefix}", strict=False
        ):
            _iproute("route", "replace", "default", "via", gateway, "dev", iface)
    if camera.options.bind in WILDCARD or address == camera.options.bind:
        camera.extensions["address"] = address
    elif _bindable(address):
        camera.options.bind = address
        camera.extensions["address"] = address
    else:
        log.error("cannot bind %s on this host: the camera stays at %s", address, camera.options.bind)


async def apply(camera: Camera) -> None:
    """Before every restart: obtain a lease if DHCP is on, then place the services (maintenance.BEFORE_RESTART)."""
    device = camera.device
    assert device is not None
    static = device.store.get(WIRED) or {}
    lease = device.store.extra(LEASE)
    if _dhcp_on(device):
        if camera.options.interface:
            lease = await camera.run_blocking(obtain_lease, camera.options.interface, device, lease)
            device.store.commit(extra={LEASE: lease})
        if device.faults.on(DHCP_FORGOTTEN):
            device.store.commit(resources={DHCP: {"Enable": "false"}}, extra={LEASE: None})
            return
        if not lease:
            return  # Rule 3: keep the address it has
        address, mask, gateway = lease["address"], lease["mask"], lease["gateway"]
    elif lease and device.faults.on(DHCP_OFF_KEEPS_LEASE):
        return
    else:
        if lease:
            device.store.commit(extra={LEASE: None})
        address = str(static.get("ipAddress", ""))
        mask, gateway = str(static.get("SubnetMask", "")), str(static.get("Gateway", "0.0.0.0"))
        if address == _current(camera) or device.faults.on(IP_NOT_APPLIED):
            return
        if device.faults.on(IP_ELSEWHERE) and address != device.identity.ip:  # (its power-on address it finds)
            address = str(ipaddress.IPv4Address(address) + 1)
    if address:
        try:
            await camera.run_blocking(_place, camera, address, mask, gateway)
        except (OSError, ValueError) as exc:  # the interface refused it: stay where we are, and say so
            log.error("cannot move to %s: %s", address, exc)


BEFORE_RESTART.append(apply)
RESTART_ON_SAVE.extend((WIRED, DHCP))


# -- the DHCP client (interface mode) ------------------------------------------------------------------------


class DhcpClient:
    """One DHCP transaction on `iface` (RFC 2131) in scapy frames, broadcast flag set (answers must reach us
    before we have an address). `ask` sends one message and returns the server's answer of this xid."""

    def __init__(self, iface: str, device: Device) -> None:
        from scapy.all import conf, get_if_hwaddr

        conf.verb = 0
        conf.checkIPaddr = False  # the answer comes from the server's address, not from the broadcast we asked
        self.iface, self.device = iface, device
        self.hw = get_if_hwaddr(iface)
        self.chaddr = bytes.fromhex(str(device.identity.mac).replace(":", "")) + b"\0" * 10
        self.xid = secrets.randbits(32)

    def ask(self, options: list[Any], ciaddr: str = "0.0.0.0") -> Any:
        from scapy.all import srp1
        from scapy.layers.dhcp import BOOTP
        from scapy.layers.dhcp import DHCP as DHCPLayer
        from scapy.layers.inet import IP, UDP
        from scapy.layers.l2 import Ether

        frame = (
            Ether(dst="ff:ff:ff:ff:ff:ff", src=self.hw)
            / IP(src=ciaddr, dst="255.255.255.255")
            / UDP(sport=68, dport=67)
            / BOOTP(chaddr=self.chaddr, xid=self.xid, flags=0x8000, ciaddr=ciaddr)
            / DHCPLayer(options=[*options, ("hostname", self.device.identity.serial), "end"])
        )
        for _ in range(DHCP_TRIES):
            answer = srp1(frame, iface=self.iface, timeout=DHCP_WAIT_S, filter=None)
            if answer is not None and BOOTP in answer and answer[BOOTP].xid == self.xid:
                return answer
        return None

    @staticmethod
    def option(packet: Any, name: str) -> Any:
        from scapy.layers.dhcp import DHCP as DHCPLayer

        return next((o[1] for o in packet[DHCPLayer].options if isinstance(o, tuple) and o[0] == name), None)

    def lease(self, ack: Any, server: str) -> dict[str, Any] | None:
        """The lease an ACK grants (None for a NAK or anything else)."""
        from scapy.layers.dhcp import BOOTP

        if ack is None or self.option(ack, "message-type") != 5:
            return None
        lease_s = float(self.option(ack, "lease_time") or 86400)
        return {
            "address": str(ack[BOOTP].yiaddr),
            "mask": str(self.option(ack, "subnet_mask") or "255.255.255.0"),
            "gateway": str(self.option(ack, "router") or "0.0.0.0"),
            "server": str(self.option(ack, "server_id") or server),
            "lease_s": lease_s,
            "renew_s": float(self.option(ack, "renewal_time") or lease_s / 2),  # T1
            "at": time.time(),
        }


def obtain_lease(iface: str, device: Device, previous: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """DISCOVER, OFFER, REQUEST, ACK (asking for the previous address again, when there was one)."""
    from scapy.layers.dhcp import BOOTP
    from scapy.layers.inet import IP

    client = DhcpClient(iface, device)
    wish = [("requested_addr", previous["address"])] if previous else []
    offer = client.ask([("message-type", "discover"), *wish])
    if offer is None or client.option(offer, "message-type") != 2:
        log.info("DHCP: no offer on %s", iface)
        return None
    server = str(client.option(offer, "server_id") or offer[IP].src)
    requested = [("requested_addr", offer[BOOTP].yiaddr), ("server_id", server)]
    lease = client.lease(client.ask([("message-type", "request"), *requested]), server)
    log.info("DHCP: lease %s from %s", lease or "refused", server)
    return lease


def renew_lease(iface: str, device: Device, lease: Mapping[str, Any]) -> dict[str, Any] | None:
    """RENEWING (RFC 2131 4.3.2): a REQUEST with our address in ciaddr, no server id, no requested address."""
    client = DhcpClient(iface, device)
    fresh = client.lease(client.ask([("message-type", "request")], ciaddr=str(lease["address"])), lease["server"])
    log.info("DHCP: renewal of %s: %s", lease["address"], fresh or "refused or unanswered")
    return fresh


class LeaseWatch:
    """Rule 3 and the lease's life (interface mode): without a lease ask again every scaled DHCP_RETRY_S;
    with one, renew it at T1 (scaled); one renewed to another address, or expired unrenewed, restarts the
    network services (an expired lease is given up, and asked for from scratch)."""

    def __init__(self, camera: Camera) -> None:
        self.camera = camera
        self.next_ask = 0.0  # (monotonic) when to ask again for a lease after none came
        self.task = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        from pytest_bview.simulator import maintenance  # (it imports the camera, which imports this module)

        camera = self.camera
        while True:
            device = camera.device
            assert device is not None and camera.options.interface
            await asyncio.sleep(min(1.0, max(0.1, device.scaled(DHCP_RETRY_S))))
            lease = device.store.extra(LEASE)
            if not _dhcp_on(device) or maintenance.restarting(camera):
                continue
            if not lease:
                if time.monotonic() < self.next_ask:
                    continue
                self.next_ask = time.monotonic() + max(1.0, device.scaled(DHCP_RETRY_S))
                lease = await camera.run_blocking(obtain_lease, camera.options.interface, device, None)
                if lease:
                    device.store.commit(extra={LEASE: lease})
                    maintenance.schedule_restart(camera, f"DHCP lease {lease['address']} obtained")
                continue
            age = time.time() - float(lease.get("at", 0))
            if age < device.scaled(float(lease.get("renew_s", DHCP_RETRY_S))):
                continue
            fresh = await camera.run_blocking(renew_lease, camera.options.interface, device, lease)
            if fresh is not None:
                device.store.commit(extra={LEASE: fresh})
                if fresh["address"] != lease["address"]:
                    maintenance.schedule_restart(camera, f"DHCP renewal moved the lease to {fresh['address']}")
            elif age >= device.scaled(float(lease.get("lease_s", 86400))):
                device.store.commit(extra={LEASE: None})
                maintenance.schedule_restart(camera, f"DHCP lease {lease['address']} expired unrenewed")

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def start_lease_watch(camera: Camera) -> Any:
    camera.extensions.setdefault("address", camera.options.bind)
    return LeaseWatch(camera) if camera.options.interface else None


STARTUP_HOOKS.append(start_lease_watch)
