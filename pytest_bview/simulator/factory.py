"""The factory state of the reference camera: what a conformant device holds after /System/FactoryDefault.

Rule 1: one document per concrete path of a resource that stores configuration (chapter 9 table,
        `Instances()` expansion): a resource without parts stores its whole block; a collection
        stores only its own fields (IPAddress: the address; StreamConfig: the encoder settings;
        Motion: Enable/Sensitive), its parts live under their own paths. <ID>s of collections
        come from the URL, so they are not stored.
Rule 2: users live in one list under "/System/Users" (N = ID + 1 is derived from it).
Rule 3: run-time blocks are not stored: DeviceStatus, LogList, EventList (computed on GET).
        Computed fields that the block requires (SystemTime, RTSPURI) get a realistic placeholder.
Rule 4: write-only fields (passwords) are stored; `config.strip_wo` keeps them off the wire.
Every document validates against its block's XSD once its parts are embedded (tests/test_spec_blocks.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pytest_bview.spec.facts import ALARM_INTERVAL_DEFAULT_S, GRID_COLUMNS, GRID_ROWS, RUNTIME_BLOCKS
from pytest_bview.spec.resources import RESOURCES, Instances, Resource
from pytest_bview.spec.streams import MAIN, MJPEG, STREAMS, SUB, StreamSpec

Doc = dict[str, Any]

# computed on every GET from the device's run-time state (spec/facts.py); the reference camera stores what its
# simulated radio finds (WIFIAccessPointList): the surroundings a scan reports
NOT_STORED = RUNTIME_BLOCKS - {"WiFiAccessPointList"}
USERS = "/System/Users"
DDNS_PROVIDERS = ("dyndns", "no-ip")
# TCP ports of the proprietary services named by /Network/Port (9.1.4) and Discovery V2 (10)
COMMAND_PORT, MEDIA_PORT, MOBILE_PORT, DISCOVERY_PORT = 8000, 8001, 8002, 5566
ALL_DAY = "1" * 48  # 48 half hours, all active
NO_MOTION_ROW = "0" * GRID_COLUMNS


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _bump_mac(mac: str, by: int) -> str:
    """The wireless card's MAC: the wired one + `by` (a common vendor allocation)."""
    value = (int(mac.replace(":", "").replace("-", ""), 16) + by) % (1 << 48)
    raw = f"{value:012X}"
    return ":".join(raw[i : i + 2] for i in range(0, 12, 2))


def _gateway(ip: str) -> str:
    parts = ip.split(".")
    return ".".join([*parts[:3], "1"]) if len(parts) == 4 else "0.0.0.0"


def _stream_config(spec: StreamSpec) -> Doc:
    """Chapter 8 defaults; FrameRate is the rate x100 (9.4.1.2)."""
    width, height = spec.default_resolution
    doc: Doc = {
        "ID": str(spec.stream_id),
        "StreamType": "Video",
        "ResolutionWidth": str(width),
        "ResolutionHeigth": str(height),
        "FrameRate": str(spec.default_frame_rate_field),
        # sub-streams and the snapshot stream are always CBR (9.4.1.2)
        "BitrateType": "CBR",
        "FixedQuality": "2",
    }
    if spec is not MJPEG:
        doc["VideoCodecType"] = "H.264"  # ro; for the MJPEG stream "invalid", so left out
    if spec.default_bitrate_kbps is not None:
        doc["Bitrate"] = str(spec.default_bitrate_kbps)
    return doc


def _capability(channel: int) -> Doc:
    """9.4.1.1: per main-stream resolution, what the first and second sub-streams can do."""

    def entries(spec: StreamSpec) -> list[Doc]:
        return [
            {
                "ID": str(spec.stream_id),
                "ResolutionWidth": str(w),
                "ResolutionHeigth": str(h),
                "MaxFrameRate": str(spec.fps[1] * 100),
            }
            for w, h in spec.resolutions
        ]

    return {
        "ID": str(channel),
        "MainStreamCapabilityList": {
            "MainStreamCapability": [
                {
                    "ID": str(MAIN.stream_id),
                    "ResolutionWidth": str(w),
                    "ResolutionHeight": str(h),
                    "MaxFrameRate": str(MAIN.fps[1] * 100),
                    "SubStreamCapabilityList": {"StreamCapability": entries(SUB)},
                    # the second sub-stream is the one the MJPEG stream 4 shares (chapter 8)
                    "SecondStreamCapabilityList": {"StreamCapability": entries(MJPEG)},
                }
                for w, h in MAIN.resolutions
            ]
        },
    }


def _ip_address(ip: str, mac: str, *, wired: bool) -> Doc:
    return {
        "ipVersion": "V4",
        "ipAddress": ip if wired else "0.0.0.0",
        "MacAddress": mac,
        "SubnetMask": "255.255.255.0" if wired else "0.0.0.0",
        "Gateway": _gateway(ip) if wired else "0.0.0.0",
    }


def _wireless(mac: str) -> Doc:
    """Not connected; "inactive sections will be shown in any case" (9.1.7.1.3)."""
    return {
        "Enable": "0",
        "SSID": "",
        "MACAddress": mac,
        "NetworkType": "managed",
        "AuthMode": "WPA2PSK",
        "WEP": {
            "KeyID": "1",
            "keyList": {"Key": [{"ID": str(i), "KeyType": "HEX", "KeyValue": ""} for i in range(1, 5)]},
        },
        "WPA": {"EncryptType": "AES", "Key": {"KeyType": "ASCII", "KeyValue": ""}},
    }


def _access_points() -> Doc:
    return {
        "AccessPoint": [
            {
                "ID": "1",
                "SSID": "Office",
                "MACAddress": "02:11:22:33:44:01",
                "SignalValue": "78",
                "Authentication": "WPA2PSK",
                "EncryptType": "AES",
                "WirelessMode": "9",
            },
            {
                "ID": "2",
                "SSID": "Guest",
                "MACAddress": "02:11:22:33:44:02",
                "SignalValue": "41",
                "Authentication": "None",
                "EncryptType": "NONE",
                "WirelessMode": "5",
            },
        ]
    }


def _week(blocks: str, name: str) -> dict[str, str]:
    return {f"{name}_{d}": blocks for d in range(7)}


def _defaults_by_template(identity: Mapping[str, str]) -> dict[str, Callable[[dict[str, int]], Doc]]:
    """Template -> the factory document of one concrete instance (given its URL parameters)."""
    ip, mac = identity["ip"], identity["mac"]
    http_port, rtsp_port = identity["http_port"], identity["rtsp_port"]
    wifi_mac = _bump_mac(mac, 1)
    macs = {1: mac, 2: wifi_mac}
    disabled = {"Enable": "false"}
    rtsp_paths = {s.stream_id: s.rtsp_path for s in STREAMS.values() if s.rtsp_path}

    return {
        # -- 9.1 /Network --------------------------------------------------------------------
        "/Network/DDNS/ServerList": lambda p: {"Server": [{"ServerName": n} for n in DDNS_PROVIDERS]},
        "/Network/DDNS/Config": lambda p: {
            "Enable": "false",
            "ProtocolName": DDNS_PROVIDERS[0],
            "ServerPort": "0",
            "DomainName": "",
            "UserName": "",
            "Password": "",
            "RefreshIntervals": "3600",
        },
        "/Network/DDNS/Status": lambda p: {"State": "stopped"},
        "/Network/UPNP/Config": lambda p: {
            "Enable": "false",
            "WanIPAddress": "0.0.0.0",
            "LocalHTTPPort": http_port,
            "ExportHTTPPort": http_port,
            "LocalMobllePort": str(MOBILE_PORT),
            "ExportMobllePort": str(MOBILE_PORT),
            "LocalCommandPort": str(COMMAND_PORT),
            "ExportCommandPort": str(COMMAND_PORT),
            "LocalMediaPort": str(MEDIA_PORT),
            "ExportMediaPort": str(MEDIA_PORT),
        },
        "/Network/UPNP/Status": lambda p: {
            "HTTPPortState": "failed",
            "MobliePortState": "failed",
            "CommandPortState": "failed",
            "MediaPortState": "failed",
        },
        "/Network/EMail": lambda p: {
            "Enable": "false",
            "SMTPServer": "",
            "SMTPPort": "25",
            "SMTPAuthMethod": "None",
            "SMTPTLSConfig": {"SMTPTLS": "off"},
            "SenderEmailAddress": "",
            "SenderEmailPassword": "",
            "ReceiverList": {"Receiver": [{"ID": str(i), "EmailAddress": ""} for i in (1, 2, 3)]},
            "AttachedSnapshot": "false",
            "RefreshIntervals": "60",
            "Schedule": {"AllDay": "true", "TimeBlockList": _week(ALL_DAY, "TimeBlock")},
        },
        "/Network/Port": lambda p: {
            "HTTP": http_port,
            "Command": str(COMMAND_PORT),
            "Media": str(MEDIA_PORT),
            "Mobile": str(MOBILE_PORT),
            "RTP": rtsp_port,
            "Discovery": str(DISCOVERY_PORT),
        },
        "/Network/P2P": lambda p: {"Enable": "false", "UUID": f"BV2-{identity['serial']}", "Status": "offline"},
        "/Network/FTP": lambda p: {
            "Enable": "false",
            "UserName": "",
            "Password": "",
            "IPAddress": "",
            "Port": "21",
            "TransferContentTypeMask": "00",
            "StorageDirectory": "/",
            "Status": "not connect",
        },
        "/Network/Interfaces/{NetworkCardID}/IPAddress": lambda p: _ip_address(
            ip, macs[p["NetworkCardID"]], wired=p["NetworkCardID"] == 1
        ),
        # wired: static address; wireless: DHCP once it connects
        "/Network/Interfaces/{NetworkCardID}/IPAddress/DHCP": lambda p: {"Enable": _flag(p["NetworkCardID"] == 2)},
        "/Network/Interfaces/{NetworkCardID}/IPAddress/DNS": lambda p: {
            "Enable": _flag(p["NetworkCardID"] == 2),
            "PrimaryDNS": "8.8.8.8" if p["NetworkCardID"] == 1 else "",
            "SecondaryDNS": "8.8.4.4" if p["NetworkCardID"] == 1 else "",
        },
        "/Network/Interfaces/{NetworkCardID}/WIFIAccessPointList": lambda p: _access_points(),
        "/Network/Interfaces/{NetworkCardID}/Wireless": lambda p: _wireless(wifi_mac),
        "/Network/Interfaces/{NetworkCardID}/WIFIStatus": lambda p: {"State": "close"},
        "/Network/WifiParamTestStatus": lambda p: {"Status": "disconnect"},
        # -- 9.2 /System ---------------------------------------------------------------------
        "/System/Time": lambda p: {
            "DateTimeFormat": "YYYYMMDDhhmmss",
            "TimeFormat": "24hour",
            "SystemTime": "20240101T000000+00",  # placeholder: the clock is computed on GET
        },
        "/System/NTP": lambda p: {"Enable": "false", "ServerName": "time.windows.com", "TimeZone": "UTC0"},
        "/System/DST": lambda p: {
            "Enable": "false",
            "Mode": "week",
            "TimeDifference": "3600",
            "DateModeStart": "20240331T020000",
            "DateModeStop": "20241027T030000",
            # last Sunday of March 02:00:00 to last Sunday of October 03:00:00
            "WeekModeStart": "3-5-0-2-0-0",
            "WeekModeStop": "10-5-0-3-0-0",
        },
        "/System/DeviceInfo": lambda p: {
            "DeviceName": "IP Camera",
            "BoardType": "1",
            "DeviceTypeName": identity["model"],
            "SerialNum": identity["serial"],
            "HardWareVersion": identity["hardware"],
            "SoftWareVersion": identity["firmware"],
            "VideoInputChannels": "1",
            "AudioChannels": "1",
            "AlarmInputChannels": "0",
            "AlarmOutputChannels": "0",
            "MonitorCount": "0",
            "SpotOutChannels": "0",
            "TwoWayAudio": "true",
        },
        USERS: lambda p: {
            "User": [
                {
                    "ID": "0",  # "There is only one admin user with ID 0"
                    "UserName": identity.get("user", "admin"),
                    "Password": identity.get("password", "admin"),
                    "UserLevel": "Adminstrator",  # the spec's spelling, which devices copy (ERRATA.md)
                }
            ]
        },
        "/System/DeviceAutoMaintenance": lambda p: {
            "Enable": "false",
            "Mode": "everyweek",
            "WeekDayMask": "1000000",
            "MaintenanceTime": "20240101T030000",
        },
        # -- 9.4 /Streams --------------------------------------------------------------------
        "/Streams/{ChannelID}/CapabilityV2": lambda p: _capability(p["ChannelID"]),
        "/Streams/{ChannelID}/{StreamID}": lambda p: _stream_config(STREAMS[p["StreamID"]]),
        # placeholder: RTSPURI is computed from the address the client used (9.4.1.2.1)
        "/Streams/{ChannelID}/{StreamID}/Transport": lambda p: {
            "RTSPURI": f"rtsp://{ip}:{rtsp_port}{rtsp_paths[p['StreamID']]}"
        },
        # -- 9.6 /Images ---------------------------------------------------------------------
        "/Images/{ChannelID}/Scene": lambda p: {"Support": "true", "Mode": "standard"},
        "/Images/{ChannelID}/Basic": lambda p: {
            "powerLineFrequencyMode": "50HZ",
            "NoiseReduce": "normal",
            "BLC": "close",
            "WDR": "close",
            "FlipMode": "close",
        },
        "/Images/{ChannelID}/Color": lambda p: {
            "Mode": "manual",
            "Brightness": "50",
            "Contrast": "50",
            "Saturation": "50",
            "Hue": "50",
            "Sharpness": "50",
        },
        "/Images/{ChannelID}/Exposure": lambda p: {"IrisType": "DC-Iris", "shutter": "auto", "Gain": "auto"},
        "/Images/{ChannelID}/WhiteBalance": lambda p: {"Mode": "auto", "GainRed": "50", "GainBlue": "50"},
        "/Images/{ChannelID}/IrCutFilter": lambda p: {
            "Mode": "initiative",
            "DayStartTime": "06:00:00",
            "DayEndTime": "18:00:00",
            "Sensitivity": "50",
            "SwitchTime": "5",
        },
        # -- 9.7 /Pictures -------------------------------------------------------------------
        "/Pictures/{ChannelID}/OSD": lambda p: {
            # time top left, name bottom left: "make sure time and name do not overlap"
            "DisplayTime": {"Enable": "true", "PosX": "16", "PosY": "16"},
            "DisplayName": {"Enable": "true", "PosX": "16", "PosY": "540", "Name": "IP Camera"},
        },
        "/Pictures/{ChannelID}/Motion": lambda p: {"Enable": "false", "Sensitive": "middle"},
        "/Pictures/{ChannelID}/Motion/RegionsV2": lambda p: {f"RegionX_{r}": NO_MOTION_ROW for r in range(GRID_ROWS)},
        "/Pictures/{ChannelID}/Motion/Trigger": lambda p: {
            "NotifyAMS": dict(disabled),
            "BeepAlert": dict(disabled),
            "FullScreen": dict(disabled),
            "Mail": dict(disabled),
            "AlarmOut": {"Enable": "false", "AlarmOutMask": "0" * 14},
            "Snapshot": {"Enable": "false", "SnapshotMask": "0" * 14},
            "Record": {"Enable": "false", "RecordMask": "0" * 14},
            "PTZ": {"Enable": "false", "ptzChannelID": str(p["ChannelID"]), "ActionName": "none", "ActionNum": "0"},
        },
        "/Pictures/{ChannelID}/Motion/Schedule": lambda p: {"AllDay": "true", "TimeBlock": _week(ALL_DAY, "Block")},
        "/Pictures/{ChannelID}/Mosaic": lambda p: {"Enable": "false", "MosaicRegionList": {"Region": []}},
        # -- 9.9 /EventsNotification ---------------------------------------------------------
        # "You need to subscribe to at least one event type first" (9.9.2): nothing subscribed
        "/EventsNotification/SubscribedEventTypeList": lambda p: {"SubscribedEventType": []},
        # -- 9.10 /Record, 9.11 /Disk --------------------------------------------------------
        "/Record": lambda p: {
            "RecordWriteCircleType": "writecircle",
            "RecordDeleteType": "none",
            "RecordStreamType": "main",
            "PreRecord": "5",
            "DelayRecord": "10",
        },
        "/Record/HttpEvent/Config": lambda p: {"Enable": "false"},
        "/Record/Notify/URL": lambda p: {"Protocol": "HTTP", "Host": "", "Port": "80", "Path": "/"},
        "/Disk": lambda p: {
            "Disk": [
                {
                    "DiskID": "0",
                    "TotalCapacity": "30436",  # a 32 GB SD card
                    "AvailableCapacity": "30436",
                    "DiskStorageType": "SD",
                    "DiskStorageAttribute": "idle",
                    "PictureCapacityPercent": "20",
                    "RecordCapacityPercent": "80",
                    "DiskFormatStatus": "formatted",
                }
            ]
        },
        # -- 9.13 /Alarm ---------------------------------------------------------------------
        "/Alarm/AMS/2": lambda p: {
            "Enable": "false",
            "ServerName": "motionEvent",
            "UserName": "",
            "Password": "",
            "ServerURL": "",
        },
        "/Alarm/EventCfgList/2": lambda p: {
            "motion": {"PreRecordTime": "0", "AlarmInterval": str(ALARM_INTERVAL_DEFAULT_S), "Message": ""},
            "http": {"PreRecordTime": "0", "AlarmInterval": str(ALARM_INTERVAL_DEFAULT_S), "Message": ""},
        },
    }


def stored_resources() -> list[Resource]:
    """The resources whose state is stored (Rule 1 and 3), in chapter 9 order."""
    return [
        r for r in RESOURCES if r.block is not None and r.block not in NOT_STORED and r.template != "/System/Users/{N}"
    ]


def _expansions(resource: Resource, instances: Instances) -> list[tuple[str, dict[str, int]]]:
    """Concrete paths with their parameters (the same expansion as `Instances.expand`)."""
    out = []
    for path in instances.expand(resource):
        match = resource.regex.fullmatch(path)
        assert match is not None
        out.append((path, {k: int(v) for k, v in match.groupdict().items()}))
    return out


def factory_defaults(identity: Mapping[str, str]) -> dict[str, Doc]:
    """Concrete path -> stored document of a conformant camera after a factory reset."""
    builders = _defaults_by_template(identity)
    instances = Instances()
    out: dict[str, Doc] = {}
    for resource in stored_resources():
        build = builders.get(resource.template)
        if build is None:
            # a collection that stores nothing of its own (its <ID> comes from the URL)
            continue
        for path, params in _expansions(resource, instances):
            out[path] = build(params)
    return out
