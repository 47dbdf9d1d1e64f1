"""Finding a camera after its network identity changed, and bringing it back: the rollback watchdog.

A camera told to move (a new static address, DHCP on or off) is looked for until a deadline, by its MAC:
it counts as found at an address where GET /Network/Interfaces/1/IPAddress answers with the same
<MacAddress>. The places looked at, in order:

1. the addresses it was told to go to (none for DHCP: the server decides);
2. once it has gone away from the address it had, or after a grace period (a camera that has not gone
   away by then did not apply the change): the address it had;
3. from the same moment, every few seconds: Discovery V2 (chapter 10, a 100 probe by MAC; raw
   frames with --bview-discovery-iface reach a camera in another subnet), at the DeviceIP it claims.

The look at an address carries the admin's credentials, so it goes only to addresses the run named (where
it was told to go, where it was) or to one that first proved without credentials to be this camera: any host
can send a Discovery V2 reply with our MAC in it. The proof: a unicast SSDP M-SEARCH to that address gives a
LOCATION on it whose UPnP description (spec 5) names the serial number DeviceInfo gave at the session's start;
the MAC is the one the Discovery V2 reply named. A camera without that proof is not looked at there.

Over https the look checks the certificate as the session does (its CA, --bview-ca), but a camera that moved
may still show the certificate naming its old address: so the certificate it showed at the old address when the
watch began, checked there with its name, is pinned (SHA-256), and where the name check fails the same
certificate, chained to the same CA, stands for the name. Without a pin (the camera was not reachable then) names are
checked as usual; --bview-insecure checks nothing, as the session does.

When it is found nowhere, `rescue` uses the last path left: Discovery V2 103 (Detect Set Network
Configuration, by MAC, authenticated) to put the old address back. Every step is written to `steps`, so
a failure can say what the watchdog did and which path still reached the camera.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import socket
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import requests
from urllib3.exceptions import InsecureRequestWarning

from pytest_bview import discovery as d
from pytest_bview.client import DeviceError, fetch_supplied, ssl_context, urlhost

WIRED = "/Network/Interfaces/1/IPAddress"
RESCUE_TRIES = 3  # Discovery V2 102 requests (2 s each) before the watchdog gives up on 103
DISCOVERY_EVERY_S = 2.0  # between two probes while looking (a probe waits up to 1 s for its answers)


@dataclass
class Sighting:
    address: str
    how: str  # "given": where it was told to go; "old": where it was; "discovery": where Discovery V2 said
    seconds: float  # from the request that moved it


class _Pinned(requests.adapters.HTTPAdapter):
    """urllib3 checks the chain against the CA, then the certificate's fingerprint instead of its name."""

    def __init__(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["assert_fingerprint"] = self.fingerprint
        super().init_poolmanager(*args, **kwargs)


@dataclass
class Watch:
    """One camera (by MAC) on `port`, looked for with the session's credentials and discovery transport."""

    target: Any  # the session's Target (settings, discovery port and interface)
    mac: str
    port: int
    old: str  # the address it had
    probe_s: float = 1.0  # how long one look at an address may take (connect and answer)
    steps: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    trusted: set[str] = field(default_factory=set)  # where credentials may go: the old address, the given ones
    proven: set[str] = field(default_factory=set)  # Discovery V2's addresses where the camera proved it is there
    tried: dict[str, float] = field(default_factory=dict)  # and when a proof last failed (tried again later)
    pin: str = ""  # https: SHA-256 of the certificate the camera showed at `old`, name and CA checked

    def __post_init__(self) -> None:
        self.trust(self.old)
        if self.target.settings.scheme == "https" and self.verify() is not False and not self.pin:
            try:
                self.pin = self.certificate_at(self.old)
            except (OSError, ValueError):  # (ssl.SSLError is an OSError) not there, or not the session's CA
                self.pin = ""

    def verify(self) -> bool | str:
        """The session's certificate checks, as requests' `verify`: False (--bview-insecure), a CA file or True."""
        verify = getattr(getattr(getattr(self.target, "client", None), "session", None), "verify", None)
        if verify is None:
            s = self.target.settings
            verify = False if getattr(s, "insecure", False) else (getattr(s, "ca", None) or True)
        return verify

    def certificate_at(self, address: str, port: int | None = None) -> str:
        """SHA-256 (hex) of the certificate at `address`, checked as the session checks it: CA and name."""
        context = ssl_context(self.verify())
        with socket.create_connection((address, port or self.port), timeout=self.probe_s) as raw:
            with context.wrap_socket(raw, server_hostname=address) as tls:
                der = tls.getpeercert(binary_form=True)
        return hashlib.sha256(der).hexdigest() if der else ""

    def trust(self, *addresses: str) -> None:
        """Addresses the run named itself: credentials may go there without an identity check."""
        self.trusted.update(addresses)

    def note(self, text: str) -> None:
        """A step of the story, stamped with the seconds since the watch began."""
        self.steps.append(f"[{time.monotonic() - self.started:.1f} s] {text}")

    def answers_at(self, address: str, timeout: float | None = None, port: int | None = None) -> bool:
        """The camera with our MAC answers GET IPAddress at `address` (on our port unless told another; a fresh
        connection each time). Never with credentials to an address neither trusted nor proven (see above)."""
        s = self.target.settings
        if not self.may_log_in(address):
            return False
        verify = self.verify() if s.scheme == "https" else True
        # as the session checks; when that fails (the name: it moved), the pinned certificate under the same CA
        for pinned in ("", *([self.pin] if verify is not False and self.pin else [])):
            try:
                with requests.Session() as session, warnings.catch_warnings():
                    warnings.simplefilter("ignore", InsecureRequestWarning)  # --bview-insecure: the operator's choice
                    if pinned:
                        session.mount("https://", _Pinned(pinned))
                    r = session.get(
                        f"{s.scheme}://{urlhost(address)}:{port or self.port}{WIRED}",
                        auth=(s.user, s.password),
                        timeout=timeout or self.probe_s,
                        headers={"Connection": "close"},
                        verify=verify,
                        allow_redirects=False,
                    )
                break
            except requests.exceptions.SSLError:
                continue
            except requests.RequestException:
                return False
        else:
            return False
        found = re.search(r"<MacAddress>\s*([0-9A-Fa-f:.-]+)\s*</MacAddress>", r.text)
        return r.status_code == 200 and found is not None and _same_mac(found.group(1), self.mac)

    def may_log_in(self, address: str) -> bool:
        """The credentials may go to `address`: a trusted one, or the camera proved it is there (cached)."""
        if address in self.trusted or address in self.proven:
            return True
        if time.monotonic() - self.tried.get(address, -DISCOVERY_EVERY_S) < DISCOVERY_EVERY_S:
            return False  # (a camera still starting its services may prove it a moment later)
        quiet = address in self.tried
        self.tried[address] = time.monotonic()
        if self.identity_at(address, quiet):
            self.proven.add(address)
        return address in self.proven

    def identity_at(self, address: str, quiet: bool = False) -> bool:
        """Without credentials: the UPnP description that SSDP at `address` points to names our serial."""
        serial = str((getattr(self.target, "identity", None) or {}).get("SerialNum") or "")
        if serial in ("", "unknown"):
            if not quiet:
                self.note(f"{address} is named by Discovery V2 only, and no serial number is known to check it: "
                          "no credentials sent there")  # fmt: skip
            return False
        port = getattr(self.target, "ssdp_port", d.SSDP_PORT)
        said: list[str] = []
        try:
            answers = d.ssdp_search("upnp:rootdevice", timeout=self.probe_s, destination=address, port=port)
        except OSError as exc:
            answers, said = [], [f"SSDP could not be sent: {exc}"]
        for _, _, headers in answers:
            location = headers.get("LOCATION", "")
            try:
                ex = fetch_supplied(location, address, timeout=max(1.0, self.probe_s), max_body=64 * 1024)
            except DeviceError as err:
                said.append(str(err))
                continue
            device = d.upnp_device(ex.body) if ex.status == 200 and not ex.truncated else None
            if device is not None and device.get("serialNumber") == serial:
                self.note(f"{address}: its UPnP description names serial {serial}: the camera, credentials may go")
                return True
            said.append(f"{location}: HTTP {ex.status}, serialNumber {(device or {}).get('serialNumber')!r}")
        if not quiet:
            self.note(
                f"{address} is named by Discovery V2 but did not prove to be serial {serial} without credentials "
                f"({'; '.join(said) or f'no SSDP answer on port {port}'}): no credentials sent there"
            )
        return False

    def discovered(self, timeout: float | None = None) -> list[str]:
        """The DeviceIP of every Discovery V2 probe reply from our MAC."""
        try:
            replies = d.transport_for(self.target).probe(timeout=timeout or self.probe_s, mac=self.mac, stop_after=1)
        except OSError as exc:
            self.note(f"Discovery V2 probe could not be sent: {exc}")
            return []
        out = [
            str(m.fields().get("DeviceIP"))
            for m in replies
            if _same_mac(str(m.fields().get("DeviceMac", "")), self.mac) and m.fields().get("DeviceIP")
        ]
        return list(dict.fromkeys(out))

    def find(self, t0: float, given: list[str], deadline_s: float, grace_s: float, poll_s: float) -> Sighting | None:
        """Look for the camera until `t0 + deadline_s` (see the module's order)."""
        self.trust(*given)
        next_probe = t0 + grace_s
        claimed: list[str] = []
        left = False  # seen gone from the old address: the change is under way, look everywhere at once
        while True:
            if not left and self.old not in given and not self.answers_at(self.old):
                left = True  # (Discovery V2 only after the grace when it was told where to go: it may be on its way)
                next_probe = time.monotonic() + (grace_s if given else 0.0)
            late = left or time.monotonic() - t0 >= grace_s
            places = {a: "given" for a in given}
            if late:
                places.setdefault(self.old, "old")
                places.update({a: "discovery" for a in claimed if a not in places})
            for address, how in places.items():
                if self.answers_at(address):
                    return Sighting(address, how, time.monotonic() - t0)
            if time.monotonic() - t0 >= deadline_s:
                return None
            if late and time.monotonic() >= next_probe:
                for address in self.discovered():
                    if address not in claimed:
                        self.note(f"Discovery V2: MAC {self.mac} says DeviceIP {address}")
                        claimed.append(address)
                next_probe = time.monotonic() + DISCOVERY_EVERY_S
                continue  # look at what it said at once
            time.sleep(poll_s)

    def gone(self, address: str, within_s: float, poll_s: float) -> bool:
        """Wait until the camera stops answering at `address` (a restart begins), at most `within_s`."""
        end = time.monotonic() + within_s
        while time.monotonic() < end:
            if not self.answers_at(address, timeout=min(1.0, within_s)):
                return True
            time.sleep(poll_s)
        return False

    def rescue(self, address: str, mask: str, gateway: str, dhcp: bool = False) -> bool:
        """Discovery V2 103: set card 1 back to `address` (and DHCP as it was). True when the camera answered
        ReplyMsg 0."""
        auth = d.Auth(self.target.settings.user, self.target.settings.password)
        transport = d.transport_for(self.target)
        body = None
        for _ in range(RESCUE_TRIES):  # (a camera in the middle of a restart answers nothing for a while)
            current = transport.request(d.GET_NET_CONFIG, self.mac, auth, timeout=2.0)
            if current is not None and current.head.ReplyMsg != 0:
                self.note(f"Discovery V2 102 to {self.mac}: ReplyMsg {current.head.ReplyMsg} (refused)")
                return False
            body = current.body if current is not None else None
            if isinstance(body, d.DeviceProbeNetConfig):
                break
        if not isinstance(body, d.DeviceProbeNetConfig):
            self.note(f"Discovery V2 102 to {self.mac}: no answer; nothing left that reaches the camera")
            return False
        nics = tuple(
            dataclasses.replace(
                n, IPAddress=address, Netmask=mask, Gateway=gateway, DhcpEnable="true" if dhcp else "false"
            )
            if n.ID in ("1", None)
            else n
            for n in body.NetworkInterfaceList
        )
        reply = transport.request(
            d.SET_NET_CONFIG, self.mac, auth, dataclasses.replace(body, NetworkInterfaceList=nics), timeout=2.0
        )
        ok = reply is not None and reply.head.ReplyMsg == 0
        self.note(
            f"Discovery V2 103 to {self.mac}: IPAddress {address}/{mask} gateway {gateway}, "
            f"DHCP {'on' if dhcp else 'off'}: "
            + ("accepted" if ok else f"ReplyMsg {reply.head.ReplyMsg}" if reply is not None else "no answer")
        )
        return ok

    def story(self) -> str:
        return "; ".join(self.steps) if self.steps else "nothing else was tried"


def _same_mac(a: str, b: str) -> bool:
    def norm(mac: str) -> str:
        return re.sub(r"[^0-9a-f]", "", mac.lower())

    return bool(a) and norm(a) == norm(b)
