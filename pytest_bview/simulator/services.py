"""The camera's services beside HTTP: Discovery V2, SSDP/UPnP and (when present) RTSP media.

Each service is started by a hook in `camera.STARTUP_HOOKS` and reads and changes the same
`Device` state that REST shows, so discovery and REST can never disagree on a conformant camera.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from pytest_bview.simulator import discovery as _discovery  # noqa: F401  (declares the discovery faults)
from pytest_bview.simulator.device import ADMIN_LEVEL, Caller, Device
from pytest_bview.simulator.extensions import SIM_ROUTES, STARTUP_HOOKS

if TYPE_CHECKING:
    from pytest_bview.simulator.camera import Camera

log = logging.getLogger("bview.sim.services")

WIRED = "/Network/Interfaces/1/IPAddress"


class DiscoveryFacts:
    """The `DiscoveryCamera` protocol of simulator/discovery.py, over the device's REST state."""

    def __init__(self, camera: Camera) -> None:
        self.camera = camera

    @property
    def device(self) -> Device:
        assert self.camera.device is not None
        return self.camera.device

    def _get(self, path: str) -> dict[str, Any]:
        """A resource as GET shows it (parts embedded), so discovery and REST read the same values."""
        from pytest_bview.spec.resources import match

        found = match(path)
        if found is None:
            return {}
        resource, params = found
        try:
            return self.device.read(resource, {k: int(v) for k, v in params.items()}, Caller("discovery", "", ""))
        except Exception:  # a resource the device lacks (no such card) reads as empty
            return {}

    def _interfaces(self) -> list[dict[str, Any]]:
        out = []
        for card in self.device.instances.NetworkCardID:
            ip = self._get(f"/Network/Interfaces/{card}/IPAddress")
            if not ip.get("MacAddress"):
                continue
            dhcp = (ip.get("DHCP") or {}).get("Enable", "false") == "true"
            out.append(
                {
                    "ID": str(card),
                    "Enable": "open",
                    "DhcpEnable": dhcp,
                    "MAC": ip.get("MacAddress", ""),
                    "IPAddress": ip.get("ipAddress", ""),
                    "Netmask": ip.get("SubnetMask", ""),
                    "Gateway": ip.get("Gateway", ""),
                    "EnableAutoGenerateIP": False,
                    "NetworkState": "get ip success",
                }
            )
        return out

    def discovery_facts(self) -> dict[str, Any]:
        info, ip, port = self._get("/System/DeviceInfo"), self._get(WIRED), self._get("/Network/Port")
        reg = self.device.store.extra(
            "discovery_register", {"enable": False, "interval": 60, "host": "0.0.0.0", "port": 7000}
        )
        return {
            "DeviceType": "IPC",
            "DeviceVersion": info.get("SoftWareVersion", ""),
            "DeviceChannelCount": int(info.get("VideoInputChannels", "1") or 1),
            "DeviceEnableRegister": bool(reg["enable"]),
            "DeviceRegisterInterval": int(reg["interval"]),
            "DeviceMac": ip.get("MacAddress", ""),
            "DeviceIP": ip.get("ipAddress", ""),
            "DeviceMask": ip.get("SubnetMask", ""),
            "DeviceGateway": ip.get("Gateway", ""),
            "DhcpEnable": (ip.get("DHCP") or {}).get("Enable", "false") == "true",
            "DeviceManagerHost": reg["host"],
            "DeviceDetectPort": int(port.get("Discovery", "5566") or 5566),
            "ManagerHostPort": int(reg["port"]),
            "CommandPort": int(port.get("Command", "0") or 0),
            "MediaPort": int(port.get("Media", "0") or 0),
            "HttpPort": int(port.get("HTTP", "0") or 0),
            "RtspPort": int(port.get("RTP", "0") or 0),
            "TutkUID": "0",
            "UlUID": "0",
            "interfaces": self._interfaces(),
        }

    def check_credentials(self, user: str, password: str) -> bool:
        """102 and 103 read and change the network identity: the administrator's credentials (ERRATA S1)."""
        record = self.device.authenticate(user, password)
        return record is not None and record.get("UserLevel") == ADMIN_LEVEL

    def discovery_apply(self, command: int, fields: dict[str, Any]) -> int:
        """101/103 change the state REST shows; a bad value changes nothing (ReplyMsg 1)."""
        from pytest_bview.protocol.discovery import REPLY_FAILED, REPLY_OK, SET_NET_CONFIG
        from pytest_bview.simulator.config import ApiError
        from pytest_bview.spec.resources import BY_TEMPLATE

        iface = BY_TEMPLATE["/Network/Interfaces/{NetworkCardID}/IPAddress"]
        updates = []
        nics = fields.get("interfaces") or []
        if command != SET_NET_CONFIG:
            nics = [
                {
                    "ID": "1",
                    "IPAddress": fields.get("DeviceIP"),
                    "Netmask": fields.get("DeviceMask"),
                    "Gateway": fields.get("DeviceGateway"),
                }
            ]
        for nic in nics:
            card = str(nic.get("ID", ""))
            key = f"/Network/Interfaces/{card}/IPAddress"
            if self.device.store.get(key) is None:
                return REPLY_FAILED
            doc: dict[str, Any] = {
                k: str(v)
                for k, v in (
                    ("ipAddress", nic.get("IPAddress")),
                    ("SubnetMask", nic.get("Netmask")),
                    ("Gateway", nic.get("Gateway")),
                )
                if v not in (None, "")
            }
            if "DhcpEnable" in nic:
                doc["DHCP"] = {"Enable": "true" if str(nic["DhcpEnable"]).lower() in ("true", "1") else "false"}
            blk = iface.block
            assert blk
            from pytest_bview.spec.blocks import BLOCKS

            root = BLOCKS[blk].root
            problems = [
                f"{k}: {p}"
                for k, v in doc.items()
                if k != "DHCP" and (f := root.child(k)) is not None and (p := f.check(v))
            ]
            if problems:
                return REPLY_FAILED
            updates.append((iface, key, {k: v for k, v in doc.items() if k != "DHCP"}))
            if "DHCP" in doc:
                updates.append((BY_TEMPLATE[iface.template + "/DHCP"], key + "/DHCP", doc["DHCP"]))
        try:
            self.device.commit_updates(updates, Caller("discovery", "Adminstrator", "", ""))
        except ApiError:
            return REPLY_FAILED
        if command != SET_NET_CONFIG and "DeviceEnableRegister" in fields:
            self.device.store.commit(
                extra={
                    "discovery_register": {
                        "enable": str(fields.get("DeviceEnableRegister")).lower() in ("true", "1"),
                        "interval": int(fields.get("DeviceRegisterInterval") or 60),
                        "host": str(fields.get("DeviceManagerHost") or "0.0.0.0"),
                        "port": int(fields.get("ManagerHostPort") or 7000),
                    }
                }
            )
        self.device.log_event(2, 104, Caller("discovery", "Adminstrator", "", ""))
        restart = self.camera.extensions.get("restart_if_saved")
        if restart is not None:  # a new address or DHCP restarts the network services, as after REST (netif.py)
            restart(self.camera)
        return REPLY_OK

    def upnp_facts(self) -> dict[str, Any]:
        info, ip = self._get("/System/DeviceInfo"), self._get(WIRED)
        return {
            "DeviceName": info.get("DeviceName", ""),
            "DeviceTypeName": info.get("DeviceTypeName", ""),
            "SerialNum": info.get("SerialNum", ""),
            "SoftWareVersion": info.get("SoftWareVersion", ""),
            "MacAddress": ip.get("MacAddress", ""),
            "IPAddress": self.camera.options.bind
            if self.camera.options.bind not in ("0.0.0.0", "")
            else ip.get("ipAddress", ""),
            "HttpPort": self.camera.http_port,
            "Manufacturer": "B-View",
        }


async def start_discovery(camera: Camera) -> Any:
    if not camera.options.discovery:
        return None
    from pytest_bview.simulator.discovery import DiscoveryResponder

    facts = camera.extensions.setdefault("facts", DiscoveryFacts(camera))
    responder = DiscoveryResponder(facts, port=camera.discovery_port, bind=camera.options.bind, faults=camera.faults)
    await responder.start()
    camera.discovery_port = responder.port
    return responder


async def start_ssdp(camera: Camera) -> Any:
    if not camera.options.discovery:
        return None
    from pytest_bview.simulator.discovery import SsdpResponder

    facts = camera.extensions.setdefault("facts", DiscoveryFacts(camera))
    # the standard port 1900 is shared with every UPnP device of the host; ephemeral ports answer unicast only
    ssdp = SsdpResponder(
        facts,
        bind=camera.options.bind,
        port=camera.options.ssdp_port,
        multicast=camera.options.ssdp_port != 0,
        faults=camera.faults,
        time_scale=camera.options.time_scale,
    )
    await ssdp.start()
    camera.ssdp_port = ssdp.port
    return ssdp


async def upnp_description(camera: Camera, request: web.Request) -> web.StreamResponse:
    from pytest_bview.simulator.discovery import description_xml

    facts = camera.extensions.setdefault("facts", DiscoveryFacts(camera))
    return web.Response(body=description_xml(facts), content_type="text/xml", charset="utf-8")


STARTUP_HOOKS.extend([start_discovery, start_ssdp])
SIM_ROUTES[("GET", "/upnp/description.xml")] = upnp_description


async def upnp_presentation(camera: Camera, request: web.Request) -> web.StreamResponse:
    from pytest_bview.simulator.discovery import presentation_html

    facts = camera.extensions.setdefault("facts", DiscoveryFacts(camera))
    return web.Response(body=presentation_html(facts), content_type="text/html", charset="utf-8")


SIM_ROUTES[("GET", "/upnp/")] = upnp_presentation
