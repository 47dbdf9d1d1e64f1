"""Section titles of the B-View 2 REST API spec (SPT907000SERIES2 v1.8), so a report can say
"9.1.7.1.1 /Network/Interfaces/NetworkCardID/IPAddress" instead of a bare number.

Rule 1: taken once from the spec's INDEX and its section headings (a heading wins over the INDEX, which
        numbers Mosaic 9.7.1.3 where the text says 9.7.1.4); nothing reads the spec at run time.
Rule 2: the spec numbers 9.2.1 to 9.2.4 twice (/System/Time ... and /System/Users/1 ...): those
        sections keep both titles, in the spec's order.
"""

from __future__ import annotations

SECTIONS: dict[str, tuple[str, ...]] = {
    "1": ("Scope",),
    "2": ("References",),
    "3": ("Definitions and abbreviations",),
    "3.1": ("Definitions",),
    "3.2": ("Abbreviations",),
    "4": ("Architecture and Transmission Mechanism",),
    "4.1": ("REST and HTTP Methods",),
    "4.2": ("XML",),
    "4.3": ("Resources overview",),
    "4.4": ("Protocol URL",),
    "4.5": ("Messages",),
    "4.5.1": ("Connection Header Field",),
    "4.5.2": ("Authorization and WWW-Authenticate Header Fields",),
    "4.5.3": ("Entity Body",),
    "4.5.4": ("Operations",),
    "5": ("Device discovery",),
    "6": ("Resource Description",),
    "6.1.1": ("Resource Description Outline",),
    "6.1.2": ("Annotation",),
    "7": ("Error Handling",),
    "8": ("Video Streams and Stream Access",),
    "9": ("Services and General Resources",),
    "9.1": ("/Network",),
    "9.1.1": ("/Network/DDNS",),
    "9.1.1.1": ("/Network/DDNS/ServerList",),
    "9.1.1.2": ("/Network/DDNS/Config",),
    "9.1.1.3": ("/Network/DDNS/Status",),
    "9.1.2": ("/Network/UPNP",),
    "9.1.2.1": ("/Network/UPNP/Config",),
    "9.1.2.2": ("/Network/UPNP/Status",),
    "9.1.3": ("/Network/EMail",),
    "9.1.4": ("/Network/Port",),
    "9.1.5": ("/Network/P2P",),
    "9.1.6": ("/Network/FTP",),
    "9.1.7": ("/Network/Interfaces",),
    "9.1.7.1": ("/Network/Interfaces/NetworkCardID",),
    "9.1.7.1.1": ("/Network/Interfaces/NetworkCardID/IPAddress",),
    "9.1.7.1.1.1": ("/Network/Interfaces/NetworkCardID/IPAddress/DHCP",),
    "9.1.7.1.1.2": ("/Network/Interfaces/NetworkCardID/IPAddress/DNS",),
    "9.1.7.1.2": ("/Network/Interfaces/NetworkCardID/WIFIAccessPointList",),
    "9.1.7.1.3": ("/Network/Interfaces/NetworkCardID/Wireless",),
    "9.1.7.1.4": ("/Network/Interfaces/NetworkCardID/WIFIStatus",),
    "9.1.8": ("/Network/WifiParamTest",),
    "9.1.9": ("/Network/WifiParamTestStatus",),
    "9.2": ("/System",),
    "9.2.1": ("/System/Time", "/System/Users/1"),
    "9.2.2": ("/System/NTP", "/System/ChannelID/RemoteForceFrame"),
    "9.2.3": ("/System/DST", "/System/DeviceConfigFile"),
    "9.2.4": ("/System/DeviceInfo", "/System/DeviceAutoMaintenance"),
    "9.2.5": ("/System/DeviceStatus",),
    "9.2.5.1": ("/System/DeviceStatus/ChannelID",),
    "9.2.6": ("/System/FirmwareUpgrade",),
    "9.2.7": ("/System/Reboot",),
    "9.2.8": ("/System/FactoryDefault",),
    "9.2.9": ("/System/SendTestEmail",),
    "9.2.10": ("/System/Logging",),
    "9.2.11": ("/System/Users",),
    "9.2.12": ("/System/Users/N",),
    "9.3": ("/Security",),
    "9.3.1": ("/Security/UserAuth",),
    "9.4": ("/Streams",),
    "9.4.1": ("/Streams/ChannelID",),
    "9.4.1.1": ("/Streams/ChannelID/CapabilityV2",),
    "9.4.1.2": ("/Streams/ChannelID/StreamID",),
    "9.4.1.2.1": ("/Streams/ChannelID/StreamID/Transport",),
    "9.4.1.2.2": ("/Streams/ChannelID/StreamID/ReceiveData",),
    "9.5": ("/Snapshot",),
    "9.5.1": ("/Snapshot/ChannelID/RemoteImageCapture",),
    "9.6": ("/Images",),
    "9.6.1": ("/Images/ChannelID",),
    "9.6.1.1": ("/Images/ChannelID/Scene",),
    "9.6.1.2": ("/Images/ChannelID/Basic",),
    "9.6.1.3": ("/Images/ChannelID/Color",),
    "9.6.1.4": ("/Images/ChannelID/Exposure",),
    "9.6.1.5": ("/Images/ChannelID/WhiteBalance",),
    "9.6.1.6": ("/Images/ChannelID/IrCutFilter",),
    "9.7": ("/Pictures",),
    "9.7.1": ("/Pictures/ChannelID",),
    "9.7.1.1": ("/Pictures/ChannelID/OSD",),
    "9.7.1.2": ("/Pictures/ChannelID/Motion",),
    "9.7.1.3": ("/Pictures/ChannelID/Motion/RegionsV2",),
    "9.7.1.3.1": ("/Pictures/ChannelID/Motion/Trigger",),
    "9.7.1.3.2": ("/Pictures/ChannelID/Motion/Schedule",),
    "9.7.1.4": ("/Pictures/ChannelID/Mosaic",),
    "9.8": ("/TwowayAudio",),
    "9.8.1": ("/TwowayAudio/Open",),
    "9.8.2": ("/TwowayAudio/Close",),
    "9.8.3": ("/TwowayAudio/SendData",),
    "9.8.4": ("/TwowayAudio/ReceiveData",),
    "9.9": ("/EventsNotification",),
    "9.9.1": ("/EventsNotification/SubscribedEventTypeList",),
    "9.9.2": ("/EventsNotification/EventList",),
    "9.10": ("/Record",),
    "9.10.1": ("/Record/HttpEvent/Config",),
    "9.10.2": ("/Record/HttpEvent/Call",),
    "9.10.3": ("/Record/Notify/URL",),
    "9.10.4": ("/Record/Format/Call",),
    "9.11": ("/Disk",),
    "9.12": ("/PTZ",),
    "9.12.1": ("/PTZ/ChannelID/Presets/Goto",),
    "9.12.2": ("/PTZ/ChannelID/FocusFar",),
    "9.12.3": ("/PTZ/ChannelID/FocusNear",),
    "9.12.4": ("/PTZ/ChannelID/ZoomIn",),
    "9.12.5": ("/PTZ/ChannelID/ZoomOut",),
    "9.13": ("/Alarm",),
    "9.13.1": ("/Alarm/AMS/2",),
    "9.13.2": ("/Alarm/EventCfgList/2",),
    "10": ("Device discovery V2",),
}


def title(section: str, resource: str = "") -> str:
    """The spec's title of `section` ("" when the spec has no such heading). Where the spec gives the number two
    titles (Rule 2), the one naming `resource` ("/System/Users/{N}" names "/System/Users/N"), else both."""
    titles = SECTIONS.get(section.strip(), ())
    plain = resource.replace("{", "").replace("}", "")
    return next((t for t in titles if t == plain), " or ".join(titles))


def titled(section: str, resource: str = "") -> str:
    """ "9.6.1.3 /Images/ChannelID/Color": the number and its title, or the number alone."""
    name = title(section, resource)
    return f"{section} {name}" if name else section
