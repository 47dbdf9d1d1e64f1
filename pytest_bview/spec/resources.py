"""Chapter 9 of the B-View 2 spec as a table: every resource, its methods, levels, blocks and flags.

This one table drives the reference camera's routing, the suites' parametrization and the
coverage count. A row is a URI template; `{ChannelID}`, `{StreamID}`, `{NetworkCardID}` and
`{N}` are filled from `Instances` (what the device offers) when concrete URLs are needed.

Rule 1: a resource that stores configuration of its own has `block` set and no `parts`;
        a collection (`parts`) stores nothing and is assembled from its parts, so GET of a
        collection equals the GETs of its parts and a PUT equals the PUTs to its parts.
Rule 2: flags carry the notes that change how a client must treat the resource:
        network  - "leave at least 5 seconds between 2 configuration requests" (9.1)
        restart  - "the device will be restarted after saving" (9.1.4, 9.1.5)
        disruptive - only in the disruptive tier (reboot, factory default, upgrade, format)
        channel  - "the camera only supports <ChannelID> 1"
        wireless - only on the wireless interface (NetworkCardID 2)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

Method = Literal["GET", "PUT", "POST", "DELETE"]
Level = Literal["Viewer", "Operator"]

# Inbound/outbound payloads that are not XML blocks
FORM = "form"  # application/x-www-form-urlencoded ("Username=...&Password=...", "Param1=1")
OPAQUE = "opaque"  # "Opaque Data": the body is ignored
BINARY = "binary"  # configuration file
MULTIPART = "multipart"  # firmware package as multipart/form-data, field setting_file
AUDIO = "audio"  # audio/basic
JPEG = "jpeg"
MJPEG = "mjpeg"  # multipart/x-mixed-replace
STATUS = "ResponseStatus"


@dataclass(frozen=True)
class Op:
    """One method of a resource, as its table in chapter 9 gives it."""

    method: Method
    level: Level = "Viewer"
    inbound: str | None = None
    outbound: str = STATUS
    doc: str = ""


@dataclass(frozen=True)
class Resource:
    template: str
    section: str
    line: int  # line of the resource table in the spec text
    ops: tuple[Op, ...]
    block: str | None = None  # block of GET/PUT (None for actions and collections)
    parts: tuple[tuple[str, str], ...] = ()  # (element in this block, template of the part)
    flags: frozenset[str] = field(default_factory=frozenset)
    area: str = ""  # marker: network, system, security, streams, media, images, ...

    def op(self, method: str) -> Op | None:
        for o in self.ops:
            if o.method == method:
                return o
        return None

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(o.method for o in self.ops)

    @functools.cached_property  # computed once per row: routing asks on every request
    def params(self) -> tuple[str, ...]:
        return tuple(re.findall(r"{(\w+)}", self.template))

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        return re.compile(pattern + r"/?", re.IGNORECASE)

    def url(self, **params: object) -> str:
        return self.template.format(**params)

    def has(self, flag: str) -> bool:
        return flag in self.flags


def _r(
    template: str,
    section: str,
    line: int,
    *ops: Op,
    block: str | None = None,
    parts: tuple[tuple[str, str], ...] = (),
    flags: str = "",
    area: str = "",
) -> Resource:
    return Resource(template, section, line, tuple(ops), block, parts, frozenset(flags.split()), area)


def _getput(block: str, put_level: Level = "Viewer", get_out: str | None = None) -> tuple[Op, Op]:
    return Op("GET", outbound=get_out or block), Op("PUT", put_level, inbound=block)


GET = Op("GET")
NET = "network"
IFACE = "/Network/Interfaces/{NetworkCardID}"
CH = "channel"

RESOURCES: tuple[Resource, ...] = (
    # -- 9.1 /Network --------------------------------------------------------------------
    _r(
        "/Network",
        "9.1",
        442,
        *_getput("Network"),
        block="Network",
        flags=NET,
        area="network",
        parts=(
            ("DDNS", "/Network/DDNS"),
            ("UPNP", "/Network/UPNP"),
            ("EMail", "/Network/EMail"),
            ("Port", "/Network/Port"),
            ("P2P", "/Network/P2P"),
            ("Interfaces", "/Network/Interfaces"),
        ),
    ),
    _r(
        "/Network/DDNS",
        "9.1.1",
        474,
        *_getput("DDNS"),
        block="DDNS",
        flags=NET,
        area="network",
        parts=(
            ("ServerList", "/Network/DDNS/ServerList"),
            ("Config", "/Network/DDNS/Config"),
            ("Status", "/Network/DDNS/Status"),
        ),
    ),
    _r(
        "/Network/DDNS/ServerList", "9.1.1.1", 501, Op("GET", outbound="ServerList"), block="ServerList", area="network"
    ),
    _r("/Network/DDNS/Config", "9.1.1.2", 522, *_getput("DDNSConfig"), block="DDNSConfig", flags=NET, area="network"),
    _r("/Network/DDNS/Status", "9.1.1.3", 558, Op("GET", outbound="DDNSStatus"), block="DDNSStatus", area="network"),
    _r(
        "/Network/UPNP",
        "9.1.2",
        579,
        *_getput("UPNP"),
        block="UPNP",
        flags=NET,
        area="network",
        parts=(("Config", "/Network/UPNP/Config"), ("Status", "/Network/UPNP/Status")),
    ),
    _r("/Network/UPNP/Config", "9.1.2.1", 605, *_getput("UPNPConfig"), block="UPNPConfig", flags=NET, area="network"),
    _r("/Network/UPNP/Status", "9.1.2.2", 639, Op("GET", outbound="UPNPStatus"), block="UPNPStatus", area="network"),
    _r("/Network/EMail", "9.1.3", 661, *_getput("Email"), block="Email", flags=NET, area="network"),
    _r(
        "/Network/Port", "9.1.4", 716, *_getput("Port"), block="Port", flags=f"{NET} restart disruptive", area="network"
    ),
    _r("/Network/P2P", "9.1.5", 747, *_getput("P2P"), block="P2P", flags=f"{NET} restart disruptive", area="network"),
    _r("/Network/FTP", "9.1.6", 774, *_getput("FTP"), block="FTP", flags=NET, area="network"),
    _r(
        "/Network/Interfaces",
        "9.1.7",
        805,
        *_getput("InterfaceList"),
        block="InterfaceList",
        flags=NET,
        area="network",
        parts=(("Interface", IFACE),),
    ),
    _r(
        IFACE,
        "9.1.7.1",
        830,
        *_getput("Interface"),
        block="Interface",
        flags=NET,
        area="network",
        parts=(("IPAddress", IFACE + "/IPAddress"),),
    ),
    _r(
        IFACE + "/IPAddress",
        "9.1.7.1.1",
        855,
        *_getput("IPAddress"),
        block="IPAddress",
        flags=f"{NET} disruptive",
        area="network",
        parts=(("DHCP", IFACE + "/IPAddress/DHCP"), ("DNS", IFACE + "/IPAddress/DNS")),
    ),
    _r(
        IFACE + "/IPAddress/DHCP",
        "9.1.7.1.1.1",
        889,
        *_getput("DHCP"),
        block="DHCP",
        flags=f"{NET} disruptive",
        area="network",
    ),
    _r(IFACE + "/IPAddress/DNS", "9.1.7.1.1.2", 916, *_getput("DNS"), block="DNS", flags=NET, area="network"),
    _r(
        IFACE + "/WIFIAccessPointList",
        "9.1.7.1.2",
        943,
        Op("GET", outbound="WiFiAccessPointList"),
        block="WiFiAccessPointList",
        flags="wireless",
        area="network",
    ),
    _r(
        IFACE + "/Wireless",
        "9.1.7.1.3",
        981,
        *_getput("ConnectionConfig"),
        block="ConnectionConfig",
        flags=f"{NET} wireless",
        area="network",
    ),
    _r(
        IFACE + "/WIFIStatus",
        "9.1.7.1.4",
        1045,
        Op("GET", outbound="WIFIStatus"),
        block="WIFIStatus",
        flags="wireless",
        area="network",
    ),
    _r("/Network/WifiParamTest", "9.1.8", 1064, Op("PUT", inbound="ConnectionConfig"), area="network"),
    _r(
        "/Network/WifiParamTestStatus",
        "9.1.9",
        1150,
        Op("GET", outbound="WIFIStatusForTest"),
        block="WIFIStatusForTest",
        area="network",
    ),
    # -- 9.2 /System ---------------------------------------------------------------------
    _r("/System/Time", "9.2.1", 1175, *_getput("Time"), block="Time", area="system"),
    _r("/System/NTP", "9.2.2", 1208, *_getput("NTP"), block="NTP", area="system"),
    _r("/System/DST", "9.2.3", 1235, *_getput("DST"), block="DST", area="system"),
    _r("/System/DeviceInfo", "9.2.4", 1272, *_getput("DeviceInfo"), block="DeviceInfo", area="system"),
    _r(
        "/System/DeviceStatus",
        "9.2.5",
        1314,
        Op("GET", outbound="DeviceStatusList"),
        block="DeviceStatusList",
        area="system",
        parts=(("DeviceStatus", "/System/DeviceStatus/{ChannelID}"),),
    ),
    _r(
        "/System/DeviceStatus/{ChannelID}",
        "9.2.5.1",
        1335,
        Op("GET", outbound="DeviceStatus"),
        block="DeviceStatus",
        flags=CH,
        area="system",
    ),
    _r("/System/FirmwareUpgrade", "9.2.6", 1368, Op("PUT", inbound=MULTIPART), flags="disruptive", area="system"),
    _r("/System/Reboot", "9.2.7", 1387, Op("PUT", inbound=OPAQUE), flags="disruptive", area="system"),
    _r("/System/FactoryDefault", "9.2.8", 1399, Op("PUT", inbound=OPAQUE), flags="disruptive", area="system"),
    _r("/System/SendTestEmail", "9.2.9", 1409, Op("PUT", inbound=OPAQUE), area="system"),
    _r("/System/Logging", "9.2.10", 1419, Op("GET", outbound="LogList"), block="LogList", area="system"),
    _r(
        "/System/Users",
        "9.2.11",
        1500,
        Op("GET", outbound="UserList"),
        block="UserList",
        area="system",
        parts=(("User", "/System/Users/{N}"),),
    ),
    # 9.2.12 (GET of user N, N = ID + 1) and the second 9.2.1 (PUT/POST/DELETE at /System/Users/1)
    _r(
        "/System/Users/{N}",
        "9.2.12",
        1519,
        Op("GET", outbound="User"),
        Op("PUT", inbound="User"),
        Op("POST", inbound="User"),
        Op("DELETE", inbound="User"),
        block="User",
        area="system",
    ),
    _r("/System/{ChannelID}/RemoteForceFrame", "9.2.2", 1580, Op("PUT"), flags=CH, area="media"),
    _r(
        "/System/DeviceConfigFile",
        "9.2.3",
        1591,
        Op("GET", outbound=BINARY),
        Op("PUT", inbound=BINARY),
        flags="disruptive",
        area="system",
    ),
    _r(
        "/System/DeviceAutoMaintenance",
        "9.2.4",
        1607,
        *_getput("AutoMaintenance", "Operator"),
        block="AutoMaintenance",
        area="system",
    ),
    # -- 9.3 /Security -------------------------------------------------------------------
    _r("/Security/UserAuth", "9.3.1", 1640, Op("PUT", inbound=FORM), area="security"),
    # -- 9.4 /Streams --------------------------------------------------------------------
    _r(
        "/Streams",
        "9.4",
        1650,
        *_getput("StreamList"),
        block="StreamList",
        area="streams",
        parts=(("Stream", "/Streams/{ChannelID}"),),
    ),
    _r(
        "/Streams/{ChannelID}",
        "9.4.1",
        1674,
        *_getput("Stream"),
        block="Stream",
        flags=CH,
        area="streams",
        parts=(("StreamConfigList/StreamConfig", "/Streams/{ChannelID}/{StreamID}"),),
    ),
    _r(
        "/Streams/{ChannelID}/CapabilityV2",
        "9.4.1.1",
        1708,
        Op("GET", outbound="StreamCapability"),
        block="StreamCapability",
        flags=CH,
        area="streams",
    ),
    _r(
        "/Streams/{ChannelID}/{StreamID}",
        "9.4.1.2",
        1758,
        *_getput("StreamConfig"),
        block="StreamConfig",
        flags=CH,
        area="streams",
        parts=(("Transport", "/Streams/{ChannelID}/{StreamID}/Transport"),),
    ),
    _r(
        "/Streams/{ChannelID}/{StreamID}/Transport",
        "9.4.1.2.1",
        1803,
        Op("GET", outbound="Transport"),
        block="Transport",
        flags=CH,
        area="streams",
    ),
    _r("/Streams/{ChannelID}/4/ReceiveData", "9.4.1.2.2", 1826, Op("GET", outbound=MJPEG), flags=CH, area="media"),
    # -- 9.5 /Snapshot -------------------------------------------------------------------
    _r("/Snapshot/{ChannelID}/RemoteImageCapture", "9.5.1", 1838, Op("GET", outbound=JPEG), flags=CH, area="media"),
    # -- 9.6 /Images ---------------------------------------------------------------------
    _r(
        "/Images",
        "9.6",
        1848,
        *_getput("ImageList"),
        block="ImageList",
        area="images",
        parts=(("Image", "/Images/{ChannelID}"),),
    ),
    _r(
        "/Images/{ChannelID}",
        "9.6.1",
        1872,
        *_getput("Image"),
        block="Image",
        flags=CH,
        area="images",
        parts=(
            ("Scene", "/Images/{ChannelID}/Scene"),
            ("Basic", "/Images/{ChannelID}/Basic"),
            ("Color", "/Images/{ChannelID}/Color"),
            ("Exposure", "/Images/{ChannelID}/Exposure"),
            ("WhiteBalance", "/Images/{ChannelID}/WhiteBalance"),
            ("IrCutFilter", "/Images/{ChannelID}/IrCutFilter"),
        ),
    ),
    _r("/Images/{ChannelID}/Scene", "9.6.1.1", 1908, *_getput("Scene"), block="Scene", flags=CH, area="images"),
    _r("/Images/{ChannelID}/Basic", "9.6.1.2", 1936, *_getput("Basic"), block="Basic", flags=CH, area="images"),
    _r("/Images/{ChannelID}/Color", "9.6.1.3", 1966, *_getput("Color"), block="Color", flags=CH, area="images"),
    _r(
        "/Images/{ChannelID}/Exposure", "9.6.1.4", 1996, *_getput("Exposure"), block="Exposure", flags=CH, area="images"
    ),
    _r(
        "/Images/{ChannelID}/WhiteBalance",
        "9.6.1.5",
        2032,
        *_getput("WhiteBalance"),
        block="WhiteBalance",
        flags=CH,
        area="images",
    ),
    _r(
        "/Images/{ChannelID}/IrCutFilter",
        "9.6.1.6",
        2065,
        *_getput("IrCutFilter"),
        block="IrCutFilter",
        flags=CH,
        area="images",
    ),
    # -- 9.7 /Pictures -------------------------------------------------------------------
    _r(
        "/Pictures",
        "9.7",
        2100,
        *_getput("PictureList"),
        block="PictureList",
        area="pictures",
        parts=(("Picture", "/Pictures/{ChannelID}"),),
    ),
    _r(
        "/Pictures/{ChannelID}",
        "9.7.1",
        2124,
        *_getput("Picture"),
        block="Picture",
        flags=CH,
        area="pictures",
        parts=(
            ("OSD", "/Pictures/{ChannelID}/OSD"),
            ("Motion", "/Pictures/{ChannelID}/Motion"),
            ("Mosaic", "/Pictures/{ChannelID}/Mosaic"),
        ),
    ),
    _r("/Pictures/{ChannelID}/OSD", "9.7.1.1", 2158, *_getput("OSD"), block="OSD", flags=CH, area="pictures"),
    _r(
        "/Pictures/{ChannelID}/Motion",
        "9.7.1.2",
        2196,
        *_getput("Motion"),
        block="Motion",
        flags=CH,
        area="pictures",
        parts=(
            ("Trigger", "/Pictures/{ChannelID}/Motion/Trigger"),
            ("Schedule", "/Pictures/{ChannelID}/Motion/Schedule"),
            ("MotionRegionListV2", "/Pictures/{ChannelID}/Motion/RegionsV2"),
        ),
    ),
    _r(
        "/Pictures/{ChannelID}/Motion/RegionsV2",
        "9.7.1.3",
        2224,
        *_getput("MotionRegionListV2"),
        block="MotionRegionListV2",
        flags=CH,
        area="pictures",
    ),
    _r(
        "/Pictures/{ChannelID}/Motion/Trigger",
        "9.7.1.3.1",
        2260,
        *_getput("Trigger"),
        block="Trigger",
        flags=CH,
        area="pictures",
    ),
    _r(
        "/Pictures/{ChannelID}/Motion/Schedule",
        "9.7.1.3.2",
        2319,
        *_getput("Schedule"),
        block="Schedule",
        flags=CH,
        area="pictures",
    ),
    _r("/Pictures/{ChannelID}/Mosaic", "9.7.1.4", 2353, *_getput("Mosaic"), block="Mosaic", flags=CH, area="pictures"),
    # -- 9.8 /TwowayAudio ----------------------------------------------------------------
    _r("/TwowayAudio/Open", "9.8.1", 2391, Op("PUT", inbound="TwoWayAudio"), area="audio"),
    _r("/TwowayAudio/Close", "9.8.2", 2409, Op("PUT", inbound=OPAQUE), area="audio"),
    _r("/TwowayAudio/SendData", "9.8.3", 2419, Op("PUT", inbound=AUDIO), area="audio"),
    _r("/TwowayAudio/ReceiveData", "9.8.4", 2442, Op("GET", outbound=AUDIO), area="audio"),
    # -- 9.9 /EventsNotification ---------------------------------------------------------
    _r(
        "/EventsNotification/SubscribedEventTypeList",
        "9.9.1",
        2472,
        Op("GET", outbound="SubscribedEventTypeList"),
        Op("PUT", "Operator", inbound="SubscribedEventTypeList"),
        Op("DELETE", "Operator", inbound="SubscribedEventTypeList"),
        block="SubscribedEventTypeList",
        area="events",
    ),
    _r(
        "/EventsNotification/EventList",
        "9.9.2",
        2506,
        Op("GET", outbound="EventList"),
        block="EventList",
        area="events",
    ),
    # -- 9.10 /Record --------------------------------------------------------------------
    _r("/Record", "9.10", 2534, *_getput("Record", "Operator"), block="Record", area="record"),
    _r(
        "/Record/HttpEvent/Config",
        "9.10.1",
        2565,
        *_getput("HttpEventConfig", "Operator"),
        block="HttpEventConfig",
        area="record",
    ),
    _r("/Record/HttpEvent/Call", "9.10.2", 2590, Op("PUT", inbound=OPAQUE), area="record"),
    _r("/Record/Notify/URL", "9.10.3", 2601, *_getput("URL"), block="URL", area="record"),
    _r("/Record/Format/Call", "9.10.4", 2631, Op("PUT", inbound=OPAQUE), flags="disruptive", area="record"),
    # -- 9.11 /Disk ----------------------------------------------------------------------
    _r("/Disk", "9.11", 2641, *_getput("DiskList", "Operator"), block="DiskList", area="disk"),
    # -- 9.12 /PTZ -----------------------------------------------------------------------
    _r("/PTZ/{ChannelID}/Presets/Goto", "9.12.1", 2682, Op("PUT", inbound=FORM), flags=CH, area="ptz"),
    _r("/PTZ/{ChannelID}/FocusFar", "9.12.2", 2692, Op("PUT", inbound=FORM), flags=CH, area="ptz"),
    _r("/PTZ/{ChannelID}/FocusNear", "9.12.3", 2702, Op("PUT", inbound=FORM), flags=CH, area="ptz"),
    _r("/PTZ/{ChannelID}/ZoomIn", "9.12.4", 2712, Op("PUT", inbound=FORM), flags=CH, area="ptz"),
    _r("/PTZ/{ChannelID}/ZoomOut", "9.12.5", 2722, Op("PUT", inbound=FORM), flags=CH, area="ptz"),
    # -- 9.13 /Alarm ---------------------------------------------------------------------
    _r("/Alarm/AMS/2", "9.13.1", 2737, Op("PUT", inbound="AMS"), block="AMS", area="alarm"),
    _r("/Alarm/EventCfgList/2", "9.13.2", 2760, Op("PUT", inbound="EventCfgList"), block="EventCfgList", area="alarm"),
)

BY_TEMPLATE: dict[str, Resource] = {r.template: r for r in RESOURCES}


def resource_methods() -> list[tuple[Resource, Op]]:
    """Every (resource, method) pair of chapter 9: the denominator of the coverage count."""
    return [(r, o) for r in RESOURCES for o in r.ops]


@dataclass(frozen=True)
class Instances:
    """What a device offers for each template parameter (channels, streams, cards, users)."""

    ChannelID: tuple[int, ...] = (1,)
    StreamID: tuple[int, ...] = (1, 2, 4)
    NetworkCardID: tuple[int, ...] = (1, 2)
    N: tuple[int, ...] = (1,)

    def choices(self, resource: Resource, param: str) -> tuple[int, ...]:
        """The values `param` takes for `resource` (wireless only on card 2, RTSP only on streams 1-2)."""
        values: tuple[int, ...] = getattr(self, param)
        if param == "NetworkCardID" and resource.has("wireless"):
            values = tuple(c for c in values if c == 2)
        if param == "StreamID" and resource.template.endswith("/Transport"):
            values = tuple(c for c in values if c in (1, 2))  # RTSP streams only (chapter 8)
        return values

    def has(self, resource: Resource, params: dict[str, int]) -> bool:
        return all(params[p] in self.choices(resource, p) for p in resource.params if p != "N")

    def expand(self, resource: Resource) -> Iterator[str]:
        """Concrete URLs of a resource."""
        values: list[dict[str, int]] = [{}]
        for p in resource.params:
            values = [{**v, p: c} for v in values for c in self.choices(resource, p)]
        for v in values:
            yield resource.url(**v)


def match(path: str) -> tuple[Resource, dict[str, str]] | None:
    """The resource a request path addresses, with its template parameters; most specific first."""
    found = _match(path)
    return None if found is None else (found[0], dict(found[1]))


@functools.lru_cache(maxsize=4096)  # the table is constant; a camera sees few distinct paths (fuzzing: bounded)
def _match(path: str) -> tuple[Resource, tuple[tuple[str, str], ...]] | None:
    best: tuple[Resource, dict[str, str]] | None = None
    for r in RESOURCES:
        m = r.regex.fullmatch(path)
        if m is None:
            continue
        # a literal segment beats a parameter ("/Streams/1/4/ReceiveData" over "{StreamID}/...")
        if best is None or len(r.params) < len(best[0].params):
            best = (r, m.groupdict())
    return None if best is None else (best[0], tuple(best[1].items()))
