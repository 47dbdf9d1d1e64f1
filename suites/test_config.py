"""Configuration conformance: round trips, partial updates, ro/wo fields, errors, dependent fields
and collections for every configuration resource of chapter 9 (spec 4.5.4, 6.1, 7, 9).

Network resources (9.1) are not put back after each test: the session's restore (pytest_bview/restore.py)
puts them back in one batched PUT /Network, so each test costs one settle wait, not two.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_bview.checks import check_status, expect, expect_passwords_hidden, status_code
from pytest_bview.documents import comparable, deep_merge, differences, kept, put_back
from pytest_bview.protocol.xmlblocks import to_xml
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.resources import BY_TEMPLATE, Resource, match
from pytest_bview.spec.status import Status
from pytest_bview.verdicts import inconclusive

# path -> (a valid change, a second valid change of other fields or None), dependent fields satisfied.
CHANGES: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {
    # -- 9.1 /Network
    "/Network/DDNS/Config": ({"DomainName": "cam.example.net", "UserName": "bview"}, {"RefreshIntervals": "1800"}),
    "/Network/DDNS": ({"Config": {"DomainName": "cam2.example.net"}}, {"Config": {"RefreshIntervals": "900"}}),
    "/Network/UPNP/Config": ({"ExportHTTPPort": "8080"}, {"WanIPAddress": "203.0.113.7"}),
    "/Network/UPNP": ({"Config": {"ExportMediaPort": "8101"}}, {"Config": {"ExportCommandPort": "8100"}}),
    "/Network/EMail": ({"SMTPServer": "smtp.example.org", "SMTPPort": "587"}, {"AttachedSnapshot": "true"}),
    "/Network/FTP": ({"IPAddress": "192.0.2.21", "StorageDirectory": "/cam"}, {"Port": "2121"}),
    "/Network/Interfaces/1/IPAddress/DNS": ({"SecondaryDNS": "192.0.2.53"}, {"PrimaryDNS": "192.0.2.1"}),
    "/Network/Interfaces/2/Wireless": ({"SSID": "Office", "NetworkType": "Ad-hoc"}, {"WPA": {"EncryptType": "TKIP"}}),
    "/Network/Interfaces/1": (
        {"IPAddress": {"DNS": {"SecondaryDNS": "192.0.2.55"}}},
        {"IPAddress": {"DNS": {"PrimaryDNS": "192.0.2.3"}}},
    ),
    "/Network/Interfaces": (
        {"Interface": [{"ID": "1", "IPAddress": {"DNS": {"SecondaryDNS": "192.0.2.56"}}}]},
        {"Interface": [{"ID": "2", "IPAddress": {"DNS": {"PrimaryDNS": "192.0.2.2"}}}]},
    ),
    "/Network": (
        {"DDNS": {"Config": {"DomainName": "net.example.net"}}, "EMail": {"RefreshIntervals": "120"}},
        {"UPNP": {"Config": {"ExportHTTPPort": "8081"}}},
    ),
    # /Network/Port, /Network/P2P, IPAddress and DHCP restart the device or move it: the disruptive suites'
    # -- 9.2 /System
    "/System/Time": ({"TimeFormat": "12hour"}, {"DateTimeFormat": "DDMMYYYYhhmmss"}),
    "/System/NTP": (
        {"ServerName": "ntp.example.org"},
        {"TimeZone": "CET-1CEST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00"},
    ),
    "/System/DST": (
        {"Mode": "date", "DateModeStart": "20250330T020000", "DateModeStop": "20251026T030000"},
        {"TimeDifference": "1800"},
    ),
    "/System/DeviceInfo": ({"DeviceName": "bview-conformance"}, None),
    "/System/DeviceAutoMaintenance": (
        {"Mode": "everyday", "WeekDayMask": "0101010"},
        {"MaintenanceTime": "20250101T040000"},
    ),
    # -- 9.6 /Images
    "/Images/1/Scene": ({"Mode": "vivid"}, None),
    "/Images/1/Basic": ({"NoiseReduce": "strong", "WDR": "weak"}, {"FlipMode": "updown"}),
    "/Images/1/Color": ({"Mode": "manual", "Brightness": "63", "Contrast": "37"}, {"Saturation": "42"}),
    "/Images/1/Exposure": ({"Gain": "12dB", "shutter": "1/100"}, {"IrisType": "manual"}),
    "/Images/1/WhiteBalance": ({"Mode": "manual", "GainRed": "61"}, {"GainBlue": "39"}),
    "/Images/1/IrCutFilter": (
        {"Mode": "time", "DayStartTime": "06:30:00", "DayEndTime": "19:00:00"},
        {"Sensitivity": "70", "SwitchTime": "9"},
    ),
    "/Images/1": ({"Color": {"Contrast": "44"}}, {"Basic": {"WDR": "strong"}}),
    "/Images": (
        {"Image": [{"ID": "1", "Exposure": {"Gain": "18dB"}}]},
        {"Image": [{"ID": "1", "Scene": {"Mode": "soft"}}]},
    ),
    # -- 9.7 /Pictures
    "/Pictures/1/OSD": ({"DisplayName": {"Name": "Lab door 3"}}, {"DisplayTime": {"PosX": "32"}}),
    "/Pictures/1/Motion": ({"Sensitive": "high"}, {"Enable": "true"}),
    "/Pictures/1/Motion/RegionsV2": ({"RegionX_0": "11110000000000"}, {"RegionX_11": "00000000001111"}),
    "/Pictures/1/Motion/Trigger": ({"Mail": {"Enable": "true"}}, {"PTZ": {"ActionName": "preset", "ActionNum": "3"}}),
    "/Pictures/1/Motion/Schedule": ({"AllDay": "false"}, {"TimeBlock": {"Block_1": "0" * 16 + "1" * 20 + "0" * 12}}),
    "/Pictures/1/Mosaic": (
        {"Enable": "true"},
        {
            "MosaicRegionList": {
                "Region": [{"ID": "1", "TopLeftX": "10", "TopLeftY": "10", "BottomRightX": "100", "BottomRightY": "80"}]
            }
        },
    ),
    "/Pictures/1": ({"OSD": {"DisplayTime": {"PosY": "24"}}}, {"Mosaic": {"Enable": "true"}}),
    "/Pictures": (
        {"Picture": [{"ID": "1", "Motion": {"Sensitive": "low"}}]},
        {"Picture": [{"ID": "1", "OSD": {"DisplayName": {"PosX": "20"}}}]},
    ),
    # -- 9.4 /Streams (the collection; stream parameters are the streams suite's)
    "/Streams": (
        {"Stream": [{"ID": "1", "StreamConfigList": {"StreamConfig": [{"ID": "1", "FixedQuality": "3"}]}}]},
        {"Stream": [{"ID": "1", "StreamConfigList": {"StreamConfig": [{"ID": "1", "StreamType": "VideoAndAudio"}]}}]},
    ),
    # -- 9.9, 9.10
    "/EventsNotification/SubscribedEventTypeList": (
        {"SubscribedEventType": [{"ID": "1", "EventType": "VMD", "EventTypeDescription": "motion"}]},
        None,
    ),
    "/Record": ({"PreRecord": "7", "DelayRecord": "9"}, {"RecordDeleteType": "48"}),
    "/Record/HttpEvent/Config": ({"Enable": "true"}, None),
    "/Record/Notify/URL": ({"Host": "192.0.2.80", "Path": "/hook.php"}, {"Port": "8080"}),
}

# Values outside the spec's domains, each with the rule it breaks (ids name the fault cases of rules.py).
OUT_OF_DOMAIN: list[tuple[str, dict[str, Any], str]] = [
    ("/Images/1/Color", {"Mode": "manual", "Brightness": "101"}, "9.6.1.3 Brightness 0-100"),
    ("/Images/1/Color", {"Hue": "-1"}, "9.6.1.3 Hue 0-100"),
    ("/Images/1/Color", {"Contrast": "high"}, "9.6.1.3 Contrast xs:integer"),
    ("/Images/1/Color", {"Mode": "sepia"}, "9.6.1.3 Mode auto,manual,notsupport"),
    ("/Images/1/Scene", {"Mode": "dreamy"}, "9.6.1.1 Mode list"),
    ("/Images/1/Basic", {"FlipMode": "sideways"}, "9.6.1.2 FlipMode close,leftright,updown,center,notsupport"),
    ("/Images/1/Exposure", {"Gain": "48dB"}, "9.6.1.4 Gain list"),
    ("/Images/1/Exposure", {"shutter": "1/7"}, "9.6.1.4 shutter list"),
    ("/Images/1/WhiteBalance", {"Mode": "manual", "GainRed": "101"}, "9.6.1.5 GainRed 0-100"),
    ("/Images/1/IrCutFilter", {"SwitchTime": "16"}, "9.6.1.6 SwitchTime 3-15"),
    ("/Images/1/IrCutFilter", {"Mode": "time", "DayStartTime": "25:00:00"}, "9.6.1.6 DayStartTime hh:mm:ss"),
    ("/Pictures/1/OSD", {"DisplayTime": {"PosX": "704"}}, "9.7.1.1 PosX 0-703"),
    ("/Pictures/1/OSD", {"DisplayName": {"PosY": "576"}}, "9.7.1.1 PosY 0-575"),
    ("/Pictures/1/Motion", {"Sensitive": "max"}, "9.7.1.2 Sensitive low,middle,high"),
    ("/Pictures/1/Motion/RegionsV2", {"RegionX_5": "0" * 13}, "9.7.1.3 rows of 14 0/1"),
    ("/Pictures/1/Motion/Trigger", {"PTZ": {"ActionName": "zoom"}}, "9.7.1.3.1 ActionName list"),
    ("/Pictures/1/Motion/Schedule", {"TimeBlock": {"Block_2": "1" * 47}}, "9.7.1.3.2 48 half-hour blocks"),
    ("/Pictures/1/Mosaic", {"MosaicRegionList": {"Region": [{"ID": "5"}]}}, "9.7.1.4 Region ID 1-4"),
    ("/Record", {"PreRecord": "121"}, "9.10 PreRecord 1-120"),
    ("/Record", {"DelayRecord": "0"}, "9.10 DelayRecord 1-120"),
    ("/Record", {"RecordDeleteType": "72"}, "9.10 RecordDeleteType 24,48,none"),
    ("/Record/HttpEvent/Config", {"Enable": "maybe"}, "9.10.1 Enable xs:boolean"),
    ("/Record/Notify/URL", {"Protocol": "HTTPS"}, "9.10.3 Protocol HTTP"),
    (
        "/EventsNotification/SubscribedEventTypeList",
        {"SubscribedEventType": [{"ID": "1", "EventType": "Fire"}]},
        "9.9.1 EventType VMD,videolost,AlarmIn",
    ),
    ("/System/Time", {"TimeFormat": "36hour"}, "9.2.1 TimeFormat 12hour,24hour"),
    ("/System/Time", {"DateTimeFormat": "YYYYDDMMhhmmss"}, "9.2.1 DateTimeFormat list"),
    ("/System/Time", {"SystemTime": "yesterday"}, "9.2.1 SystemTime ISO 8601"),
    ("/System/NTP", {"TimeZone": "Europe/Paris"}, "9.2.2 TimeZone POSIX"),
    ("/System/DST", {"WeekModeStart": "13-1-1-2-3-6"}, "9.2.3 WeekModeStart month-week-day-hour-minute-second"),
    ("/System/DST", {"TimeDifference": "1h"}, "9.2.3 TimeDifference seconds"),
    ("/System/DeviceAutoMaintenance", {"WeekDayMask": "01010101"}, "9.2.4 WeekDayMask seven 0/1"),
    ("/System/DeviceAutoMaintenance", {"Mode": "monthly"}, "9.2.4 Mode everyweek,everyday,once"),
    ("/Network/DDNS/Config", {"ServerPort": "80"}, "9.1.1.2 ServerPort must be 0"),
    ("/Network/UPNP/Config", {"ExportHTTPPort": "65536"}, "9.1.2.1 port 0-65535"),
    ("/Network/EMail", {"Schedule": {"TimeBlockList": {"TimeBlock_3": "2" * 48}}}, "9.1.3 48 half-hour blocks"),
    ("/Network/EMail", {"SMTPPort": "smtp"}, "9.1.3 SMTPPort digits"),
    ("/Network/FTP", {"TransferContentTypeMask": "12"}, "9.1.6 TransferContentTypeMask 00,01,10,11"),
    ("/Network/Interfaces/1/IPAddress/DNS", {"PrimaryDNS": "8.8.8"}, "9.1.7.1.1.2 PrimaryDNS IPv4"),
    (
        "/Network/Interfaces/2/Wireless",
        {"WPA": {"Key": {"KeyType": "ASCII", "KeyValue": "short7!"}}},
        "9.1.7.1.3 WPA key 8-63",
    ),
    ("/Network/Interfaces/2/Wireless", {"WEP": {"KeyID": "5"}}, "9.1.7.1.3 WEP KeyID 1-4"),
    ("/Alarm/AMS/2", {"Enable": "1"}, "9.13.1 Enable true,false"),
    ("/Alarm/AMS/2", {"ServerURL": "not base64!"}, "9.13.1 ServerURL Base 64"),
    ("/Alarm/EventCfgList/2", {"motion": {"AlarmInterval": "-1"}}, "9.13.2 AlarmInterval >= 0"),
]

# Dependent fields and cross-field rules: (id, path, set-up change or None, body, why)
DEPENDENT: list[tuple[str, str, dict[str, Any] | None, dict[str, Any], str]] = [
    (
        "WhiteBalance gains outside manual",
        "/Images/1/WhiteBalance",
        {"Mode": "auto"},
        {"GainRed": "12"},
        '9.6.1.5 "<GainRed> and <GainBlue> are applicable only if <Mode> is manual"',
    ),
    (
        "Color Brightness in auto",
        "/Images/1/Color",
        {"Mode": "auto"},
        {"Brightness": "12"},
        '9.6.1.3 "if mode is auto, setting the value of the <Brightness> field is unsuccessful" (ERRATA: -5)',
    ),
    (
        "IrCutFilter times outside time mode",
        "/Images/1/IrCutFilter",
        {"Mode": "day"},
        {"DayStartTime": "05:00:00"},
        '9.6.1.6 "If <Mode> is time, <StartTime> and <EndTime> are effective, other is not effective"',
    ),
    (
        "IrCutFilter day ends before it starts",
        "/Images/1/IrCutFilter",
        None,
        {"Mode": "time", "DayStartTime": "20:00:00", "DayEndTime": "08:00:00"},
        "9.6.1.6 the day runs from <DayStartTime> to <DayEndTime>",
    ),
    (
        "Time SystemTime not a real date",
        "/System/Time",
        None,
        {"SystemTime": "2025-02-30T10:00:00Z"},
        "9.2.1 SystemTime is an ISO 8601 date and time (February has no 30th)",
    ),
    (
        "DST date not a real date",
        "/System/DST",
        None,
        {"DateModeStart": "20251345T020000"},
        "9.2.3 DateModeStart is an ISO 8601 date and time",
    ),
    (
        "AutoMaintenance bad date",
        "/System/DeviceAutoMaintenance",
        None,
        {"MaintenanceTime": "20250230T030000"},
        "9.2.4 MaintenanceTime is an ISO 8601 date and time",
    ),
    (
        "DST date mode stop before start",
        "/System/DST",
        None,
        {"Enable": "true", "Mode": "date", "DateModeStart": "20251026T030000", "DateModeStop": "20250330T020000"},
        '9.2.3 "If <Mode> is date, use <DateModeStart> and <DateModeStop>": a period starts before it stops',
    ),
    (
        "DDNS ProtocolName not in ServerList",
        "/Network/DDNS/Config",
        None,
        {"ProtocolName": "not-a-listed-provider"},
        '9.1.1.2 "<ProtocolName> is the one of <ServerList>"',
    ),
    (
        "Wireless WPA2PSK without a key",
        "/Network/Interfaces/2/Wireless",
        None,
        {
            "Enable": "1",
            "SSID": "Office",
            "AuthMode": "WPA2PSK",
            "WPA": {"EncryptType": "AES", "Key": {"KeyType": "ASCII", "KeyValue": ""}},
        },
        '9.1.7.1.3 "If <AuthMode> is WPAPSK or WPA2PSK, <keyvalue> in <WPA> shall not be empty"',
    ),
    (
        "Wireless KeyValue and KeyValueB64 disagree",
        "/Network/Interfaces/2/Wireless",
        None,
        {
            "WPA": {
                "Key": {
                    "KeyType": "ASCII",
                    "KeyValue": "password123",
                    "KeyValueB64": base64.b64encode(b"different1").decode(),
                }
            }
        },
        '9.1.7.1.3 "The use of <KeyValue> and <KeyValueB64> is alternative"',
    ),
    (
        "Wireless SHARED without the selected WEP key",
        "/Network/Interfaces/2/Wireless",
        None,
        {
            "Enable": "1",
            "SSID": "Office",
            "AuthMode": "SHARED",
            "WEP": {
                "KeyID": "2",
                "keyList": {
                    "Key": [
                        {"ID": "1", "KeyType": "ASCII", "KeyValue": "abcde"},
                        {"ID": "2", "KeyType": "ASCII", "KeyValue": ""},
                    ]
                },
            },
        },
        '9.1.7.1.3 "If <AuthMode> is OPEN or SHARED, <WEP> is applied for the key"',
    ),
    (
        "Mosaic five regions",
        "/Pictures/1/Mosaic",
        None,
        {
            "MosaicRegionList": {
                "Region": [
                    {"ID": str(i % 4 + 1), "TopLeftX": "0", "TopLeftY": "0", "BottomRightX": "9", "BottomRightY": "9"}
                    for i in range(5)
                ]
            }
        },
        '9.7.1.4 "4 masks with ID 1..4 are supported"',
    ),
    (
        "Mosaic same ID",
        "/Pictures/1/Mosaic",
        None,
        {
            "MosaicRegionList": {
                "Region": [
                    {"ID": "2", "TopLeftX": "0", "TopLeftY": "0", "BottomRightX": "9", "BottomRightY": "9"},
                    {"ID": "2", "TopLeftX": "20", "TopLeftY": "20", "BottomRightX": "29", "BottomRightY": "29"},
                ]
            }
        },
        '9.7.1.4 "4 masks with ID 1..4": each ID once',
    ),
    (
        "Mosaic BottomRight before TopLeft",
        "/Pictures/1/Mosaic",
        None,
        {
            "MosaicRegionList": {
                "Region": [{"ID": "1", "TopLeftX": "100", "TopLeftY": "10", "BottomRightX": "10", "BottomRightY": "80"}]
            }
        },
        "9.7.1.4 a region runs from its top-left to its bottom-right corner",
    ),
]

# Write-only fields the device uses elsewhere (outbound channels): (path, field path)
WRITE_ONLY: list[tuple[str, tuple[str, ...]]] = [
    ("/Network/DDNS/Config", ("Password",)),
    ("/Network/FTP", ("Password",)),
    ("/Network/EMail", ("SenderEmailPassword",)),
]


# -- helpers -----------------------------------------------------------------------------------------


def expect_unchanged(bview, path: str, before: dict[str, Any], *exchanges: Any) -> None:
    """7: a refused request changes nothing — the next GET equals the document read before it."""
    after, get = bview.read(path)
    expect(
        comparable(after) == comparable(before),
        f"changed {path}: {'; '.join(differences(comparable(before), comparable(after)))}",
        "a refused request changes nothing",
        "7",
        *exchanges,
        get,
    )


def resource_of(path: str) -> Resource:
    found = match(path)
    assert found is not None and found[0].block, path
    return found[0]


def _tier(path: str) -> str:
    r = resource_of(path)
    return "disruptive" if r.has("disruptive") else "reversible"


def _params(paths: list[str] | dict[str, Any], label: str = "PUT") -> list[Any]:
    out = []
    for path in paths:
        r = resource_of(path)
        marks = [getattr(pytest.mark, _tier(path))] + ([getattr(pytest.mark, r.area)] if r.area else [])
        out.append(pytest.param(path, id=f"{label} {path}", marks=marks))
    return out


def put(bview, path: str, doc: dict[str, Any], **kw: Any):
    """PUT `doc` as the resource's block (write-only fields included: a client's PUT)."""
    return bview.client.put(path, to_xml(BLOCKS[resource_of(path).block], doc, include_wo=True), **kw)


def read(bview, path: str) -> dict[str, Any]:
    return bview.read(path)[0]


def contains(doc: Any, expected: Any) -> bool:
    """`doc` holds every value of `expected` (list items matched by <ID>)."""
    if isinstance(expected, dict):
        return isinstance(doc, dict) and all(contains(doc.get(k), v) for k, v in expected.items())
    if isinstance(expected, list):
        if not isinstance(doc, list):
            return False
        by_id = {str(i.get("ID")): i for i in doc if isinstance(i, dict)}
        return all(contains(by_id.get(str(e.get("ID"))), e) for e in expected)
    return doc == expected


# -- round trip, partial update -------------------------------------------------------------------------


@pytest.mark.parametrize("path", _params(CHANGES))
@pytest.mark.bview_rule("put-configuration")
def test_round_trip(bview, path: str) -> None:
    """4.5.4: a valid PUT answers statusCode 0 and the next GET returns the new values."""
    change, _ = CHANGES[path]
    section = resource_of(path).section
    with kept(bview, path):
        ex = put(bview, path, change)
        check_status(ex, Status.OK, section, f"valid values {change}")
        after, get = bview.read(path)
        expect(
            contains(after, change),
            f"returned {after} after accepting {change}",
            "the next GET returns what the PUT stored (4.5.4: the device answers once it is ready)",
            section,
            ex,
            get,
        )


@pytest.mark.parametrize("path", _params([p for p, (_, second) in CHANGES.items() if second]))
@pytest.mark.bview_rule("partial-update")
def test_partial_update_keeps_other_fields(bview, path: str) -> None:
    """6.1.1: "Generally, if a field is not provided in the inbound XML, then its current values shall not be
    modified" ("generally": a device that resets them gets an advisory)."""
    first, second = CHANGES[path]
    assert second is not None
    section = resource_of(path).section
    with kept(bview, path) as before:
        if not contains(before, first):  # else an earlier PUT (the round trip's) already set them: 9.1 writes are dear
            check_status(put(bview, path, first), Status.OK, section, f"valid values {first}")
        ex = put(bview, path, second)
        check_status(ex, Status.OK, section, f"valid values {second}")
        after, get = bview.read(path)
        wanted = deep_merge(deep_merge(before, first), second)
        diff = differences(comparable(wanted), comparable(after))
        expect(
            not diff,
            f"changed fields the PUT of {second} left out: {'; '.join(diff)}",
            "fields left out of a PUT keep their values, including those set by an earlier PUT",
            "6.1.1",
            ex,
            get,
            rule="partial-update",
        )


# -- read-only and write-only fields ----------------------------------------------------------------------


def _other_value(f: Any, value: str) -> str:
    """A valid value of a read-only leaf other than the current one."""
    if f.values:
        return next((v for v in f.values if v != value), value)
    if f.kind == "bool":
        return "false" if value in ("true", "1") else "true"
    if f.kind == "int":
        return str(int(value or 0) + 1)
    if f.pattern and ":" in f.pattern:  # MAC-48
        return "02:00:5E:00:53:99"
    return f"TAMPERED-{value}"[:32]


def _tampered(spec: Any, doc: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`doc` with every read-only leaf (not in embedded read-only blocks) set to another valid value."""
    out, paths = dict(doc), []
    for name, value in doc.items():
        f = spec.child(name)
        if f is None or f.repeated:
            continue
        if f.kind == "struct" and f.children and isinstance(value, dict) and f.access != "ro":
            out[name], sub = _tampered(f, value)
            paths += [f"{name}/{p}" for p in sub]
        elif f.access == "ro" and f.kind != "struct":
            out[name] = _other_value(f, str(value))
            paths.append(name)
    return out, paths


def _has_ro_leaf(path: str) -> bool:
    block = BLOCKS[resource_of(path).block]
    return any(f.access == "ro" and f.kind != "struct" for _, f in block.leaves())


RO_PATHS = ["/System/DeviceInfo", "/Images/1/Scene", "/Network/FTP", "/Network/Interfaces/2/Wireless"]


@pytest.mark.parametrize("path", _params(RO_PATHS))
@pytest.mark.bview_rule("ro-ignored")
def test_read_only_fields_ignored(bview, path: str) -> None:
    """6.1.2 "ro" (9.2.4: only <DeviceName> is writable): read-only fields in a PUT "should be ignored", never
    applied nor refused."""
    r = resource_of(path)
    block = BLOCKS[r.block]
    change, _ = CHANGES[path]
    with kept(bview, path) as before:
        body, ro_paths = _tampered(block.root, before)
        body = deep_merge(body, change)
        ex = put(bview, path, body)
        refused = status_code(ex)
        expect(
            refused in (None, Status.OK),
            f"refused a PUT carrying read-only fields with statusCode {refused}",
            "read-only fields in a PUT should be ignored, not refused (6.1.2)",
            r.section,
            ex,
            rule="ro-ignored",
        )
        check_status(ex, Status.OK, r.section, "read-only fields are ignored, not refused")
        after, get = bview.read(path)
        stored = [p for p in ro_paths if _at(after, p) != _at(before, p)]
        expect(
            not stored,
            f"stored the read-only field(s) {', '.join(stored)} from the PUT",
            "read-only fields in a PUT are ignored (6.1.2)",
            r.section,
            ex,
            get,
            rule="ro-ignored",
        )
        expect(contains(after, change), f"did not apply {change}", "the writable fields are applied", r.section, get)


def _at(doc: Any, path: str) -> Any:
    for name in path.split("/"):
        doc = doc.get(name) if isinstance(doc, dict) else None
    return doc


def _stored_secret(bview, path: str, field_path: tuple[str, ...]) -> str:
    return str(_at(bview.lab.stored(path), "/".join(field_path)) or "")


def _secret_doc(field_path: tuple[str, ...], value: str) -> dict[str, Any]:
    doc: dict[str, Any] = {field_path[-1]: value}
    for name in reversed(field_path[:-1]):
        doc = {name: doc}
    return doc


@contextlib.contextmanager
def secret_kept(bview, path: str, field_path: tuple[str, ...]) -> Iterator[None]:
    """A password cannot be read back (6.1.2 "wo"): only the reference camera's lab can get it back."""
    original = _stored_secret(bview, path, field_path)
    try:
        yield
    finally:
        if _stored_secret(bview, path, field_path) != original:
            bview.lab.store(path, deep_merge(bview.lab.stored(path), _secret_doc(field_path, original)))


@pytest.mark.bview_lab("a write-only field cannot be read back to put it back (6.1.2)")
@pytest.mark.reversible
@pytest.mark.network
@pytest.mark.parametrize("path,field_path", WRITE_ONLY, ids=[f"PUT {p}" for p, _ in WRITE_ONLY])
@pytest.mark.bview_rule("password-not-retrieved", "wo-never-returned")
def test_write_only_never_returned(bview, path: str, field_path: tuple[str, ...]) -> None:
    """6.1.2 "wo" (9.1.1.2, 9.1.3, 9.1.6): a stored password never appears in a GET. The lab stores it: a
    PUT would cost a 9.1 settle wait, and test_write_only_empty_keeps proves the PUT side."""
    secret = "Wo-Secret-4711"
    with secret_kept(bview, path, field_path):
        bview.lab.store(path, deep_merge(bview.lab.stored(path), _secret_doc(field_path, secret)))
        ex = bview.client.get(path)
        leaked = secret.encode() in ex.body or f"<{field_path[-1]}>".encode() in ex.body
        expect_passwords_hidden(path, ["/".join(field_path)] if leaked else [], ex)


@pytest.mark.bview_lab("a write-only field cannot be read back to put it back (6.1.2)")
@pytest.mark.reversible
@pytest.mark.network
@pytest.mark.parametrize("path,field_path", WRITE_ONLY, ids=[f"PUT {p}" for p, _ in WRITE_ONLY])
@pytest.mark.bview_rule("password-empty-keeps")
def test_write_only_empty_keeps(bview, path: str, field_path: tuple[str, ...]) -> None:
    """9.1.1.2/9.1.3/9.1.6 + 6.1.2: a PUT with the password empty keeps it; a PUT with a value changes it."""
    r = resource_of(path)
    with secret_kept(bview, path, field_path):
        first = _stored_secret(bview, path, field_path)
        if not first:  # a stored password to see kept: the lab stores it, not a PUT (9.1: each waits 5 s)
            first = "First-Secret-1"
            bview.lab.store(path, deep_merge(bview.lab.stored(path), _secret_doc(field_path, first)))
        ex = put(bview, path, deep_merge(_secret_doc(field_path, ""), CHANGES[path][0]))
        check_status(ex, Status.OK, r.section, "an empty password field means: keep the stored one")
        kept_value = _stored_secret(bview, path, field_path)
        expect(
            kept_value == first,
            "erased or changed the stored password on a PUT with the field empty",
            "an empty write-only field keeps the stored value",
            r.section,
            ex,
        )
        second = "Second-Secret-2" if first != "Second-Secret-2" else "Third-Secret-3"
        ex = put(bview, path, _secret_doc(field_path, second))
        check_status(ex, Status.OK, r.section)
        expect(
            _stored_secret(bview, path, field_path) == second,
            "kept the old password after a PUT with a new one",
            "a write-only field with a value replaces the stored one",
            r.section,
            ex,
        )


# -- domains and errors --------------------------------------------------------------------------------


def _domain_params() -> list[Any]:
    out = []
    for path, change, rule in OUT_OF_DOMAIN:
        r = resource_of(path)
        marks = [getattr(pytest.mark, _tier(path))] + ([getattr(pytest.mark, r.area)] if r.area else [])
        out.append(pytest.param(path, change, rule, id=f"PUT {path} {rule}", marks=marks))
    return out


@pytest.mark.parametrize("path,change,rule", _domain_params())
@pytest.mark.bview_rule("domain-value-refused")
def test_out_of_domain_rejected(bview, path: str, change: dict[str, Any], rule: str) -> None:
    """7: a value outside the spec's domain gets statusCode -5 and changes nothing."""
    r = resource_of(path)
    readable = r.op("GET") is not None
    before = read(bview, path) if readable else None
    # a valid change rides along: a device that applies half a refused request is caught too
    valid = {"Sharpness": "13"} if path == "/Images/1/Color" else {}
    ex = put(bview, path, {**valid, **change})
    try:
        check_status(ex, Status.PARAMETER_ERROR, r.section, f"{rule}: the value is outside the domain")
        if readable:
            expect_unchanged(bview, path, before, ex)
    finally:
        if readable and not r.has("network") and comparable(read(bview, path)) != comparable(before):
            put_back(bview, path, before)


@pytest.mark.parametrize("case", DEPENDENT, ids=[c[0] for c in DEPENDENT])
@pytest.mark.bview_rule("dependent-fields-refused")
def test_dependent_fields(bview, case: tuple) -> None:
    """9.6.1.3, 9.6.1.5, 9.6.1.6, 9.2.1-9.2.4, 9.1.1.2, 9.1.7.1.3, 9.7.1.4: cross-field rules; a PUT
    breaking one gets -5 and changes nothing (a dependent field is changed only in its mode)."""
    _, path, setup, body, why = case
    r = resource_of(path)
    if path == "/Network/DDNS/Config":
        listed = {s.get("ServerName") for s in read(bview, "/Network/DDNS/ServerList").get("Server", [])}
        assert body["ProtocolName"] not in listed
    wpa_key = ("WPA", "Key", "KeyValue")
    keyless = _at(body, "/".join(wpa_key)) == ""  # an empty key keeps a stored one (ERRATA S3): valid then
    with kept(bview, path), secret_kept(bview, path, wpa_key) if keyless and bview.lab else contextlib.nullcontext():
        if keyless and bview.lab:  # no stored key, so the empty one is the configuration's key
            bview.lab.store(path, deep_merge(bview.lab.stored(path), _secret_doc(wpa_key, "")))
        if setup:
            check_status(put(bview, path, setup), Status.OK, r.section, f"set-up {setup}")
        before = read(bview, path)
        ex = put(bview, path, body)
        if keyless and not bview.lab and status_code(ex) == Status.OK and not _at(before, "/".join(wpa_key)):
            inconclusive(
                "accepted WPA2PSK with an empty KeyValue: a camera that keeps its key to itself (ERRATA S3) keeps "
                "a stored key on an empty one, and whether one is stored cannot be read"
            )
        check_status(ex, Status.PARAMETER_ERROR, r.section, why)
        expect_unchanged(bview, path, before, ex)


PUTTABLE = [
    p
    for p in dict.fromkeys([*CHANGES, "/Alarm/AMS/2", "/Alarm/EventCfgList/2", "/Network/Interfaces/1/IPAddress/DHCP"])
    if not resource_of(p).has("disruptive")
]


@pytest.mark.parametrize("path", _params(PUTTABLE))
@pytest.mark.bview_rule("xml-malformed-refused", "xml-url-mismatch-refused")
def test_malformed_body_refused(bview, path: str) -> None:
    """7: malformed XML gets a decode error (-1 or -2: both codes are "Decode error, maybe ..."); a block that
    does not match the URL gets -1 ("maybe the XML and URL are not corresponding")."""
    r = resource_of(path)
    before = read(bview, path) if r.op("GET") else None
    element = BLOCKS[r.block].element
    decode_error = (Status.XML_URL_MISMATCH, Status.REQUIRED_TAG_MISSING)
    bodies = [
        (f"<{element}><Unclosed>", "malformed XML", decode_error),
        ("<NotThisBlock/>", "another block", (Status.XML_URL_MISMATCH,)),
    ]
    for body, what, codes in bodies[:1] if r.has("network") else bodies:  # network writes each wait the settle time
        ex = bview.client.put(path, body)
        check_status(ex, codes, "7", f"{what} in the body of PUT {path}")
    if before is not None:
        expect_unchanged(bview, path, before, ex)


@pytest.mark.reversible
@pytest.mark.disk
@pytest.mark.bview_rule("disk-put-unsupported")
def test_disk_put_not_supported(bview) -> None:
    """9.11: "The PUT method is currently not supported" — statusCode -3, nothing changes."""
    before, _ = bview.read("/Disk")
    ex = bview.client.put("/Disk", to_xml(BLOCKS["DiskList"], before, include_wo=True))
    check_status(ex, Status.UNSUPPORTED_OPERATION, "9.11", "PUT /Disk is not supported")
    after, get = bview.read("/Disk")
    expect(after == before, "changed /Disk", "nothing changes", "9.11", ex, get)


# -- collections ---------------------------------------------------------------------------------------

COLLECTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    # collection -> a part changed first, so that a stale copy shows
    "/Images": ("/Images/1/Color", {"Contrast": "29"}),
    "/Pictures": ("/Pictures/1/OSD", {"DisplayName": {"Name": "Collection check"}}),
    "/Streams": ("/Streams/1/1", {"FixedQuality": "1"}),
    "/Network": ("/Network/EMail", {"SMTPServer": "mail.example.net"}),
}


def _mismatches(bview, resource: Resource, doc: dict[str, Any], params: dict[str, str]) -> list[str]:
    """Where the collection document differs from GETs of its parts."""
    out = []
    for element, template in resource.parts:
        child = BY_TEMPLATE[template]
        embedded = _at(doc, element)
        free = [p for p in child.params if p not in resource.params]
        items = embedded if free else [embedded]
        for item in items or []:
            values = {**params, **({free[0]: str(item.get("ID"))} if free else {})}
            url = child.url(**values)
            if child.op("GET") is None or not child.block:
                continue
            part = read(bview, url)
            diff = differences(comparable(part), comparable(item))
            out += [f"{url}: {d}" for d in diff]
    return out


@pytest.mark.parametrize("collection", _params(COLLECTIONS, "GET"))
@pytest.mark.bview_rule("collection-get-parts")
def test_collection_get_equals_parts(bview, collection: str) -> None:
    """9.1, 9.4, 9.6, 9.7: GET of a collection is its parts' documents, as GET of each part returns them."""
    part, change = COLLECTIONS[collection]
    with kept(bview, part):
        check_status(put(bview, part, change), Status.OK, resource_of(part).section)
        doc, get = bview.read(collection)
        diff = _mismatches(bview, resource_of(collection), doc, {})
        expect(
            not diff,
            f"embeds in GET {collection} other values than its parts return: {'; '.join(diff[:6])}",
            "a collection is assembled from its parts",
            resource_of(collection).section,
            get,
        )


@pytest.mark.parametrize("collection", _params(["/Images", "/Pictures", "/Network", "/Images/1"]))
@pytest.mark.bview_rule("collection-put-parts")
def test_collection_put_equals_part_puts(bview, collection: str) -> None:
    """9.1, 9.6, 9.7: a PUT to a collection is the PUTs to its parts (here two parts at once)."""
    first, second = CHANGES[collection]
    change = deep_merge(first, second or {})
    r = resource_of(collection)
    with kept(bview, collection) as before:
        ex = put(bview, collection, change)
        check_status(ex, Status.OK, r.section, f"a valid change of two parts {change}")
        after, get = bview.read(collection)
        wanted = deep_merge(before, change)
        diff = differences(comparable(wanted), comparable(after))
        expect(
            not diff,
            f"did not apply the collection PUT as PUTs to its parts would: {'; '.join(diff[:6])}",
            "a PUT to a collection equals the PUTs to its parts",
            r.section,
            ex,
            get,
        )
