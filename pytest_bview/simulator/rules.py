"""Cross-field rules of the configuration blocks: the spec's notes that tie one field to another.

Rule 1: a rule is a function of (new full document, stored document) registered with `@checked`;
        it returns why the new document breaks the rule, or None. The device refuses such a PUT
        with -5 (Parameter error) and changes nothing (config.py Rule 2).
Rule 2: a dependent field ("applicable only if <Mode> is manual") may be *changed* only while the
        mode is or becomes the one that makes it effective. Sending it unchanged is always fine, so
        a client may PUT back a whole document it read. Decision (9.6.1.3 "if mode is auto,
        setting the value of the <Brightness> field is unsuccessful"): unsuccessful = refused with
        -5, never silently dropped, so that a client learns its value was not applied.
Rule 3: each rule has one fault profile that switches it off (`RULE_FAULTS`), caught by the
        suite case named after the rule; each spec domain the issue lists has one fault that stops
        checking it (`DOMAIN_FAULTS`: decode errors under matching element paths are excused), or
        checks it laxly (`LAX_DOMAIN_FAULTS`: some values outside the domain are let through).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pytest_bview.simulator import faults as F
from pytest_bview.simulator.config import Doc, rule
from pytest_bview.simulator.device import DOMAIN_FAULTS, LAX_DOMAIN_FAULTS, ON_COMMIT, RULE_FAULTS, Device
from pytest_bview.simulator.factory import DDNS_PROVIDERS
from pytest_bview.spec.model import DATETIME_RE

DEPENDENT = "dependent-fields-refused"  # the rule of spec/rules.py every cross-field rule's fault breaks
OUT_OF_DOMAIN = "domain-value-refused"  # the rule every domain fault breaks


def checked(block: str, section: str, fault: str, doc: str, case: str) -> Callable[[Callable], Callable]:
    """Register a cross-field rule with the fault that switches it off and the case (its label) where it shows."""

    def deco(fn: Callable[[Doc, Doc], str | None]) -> Callable[[Doc, Doc], str | None]:
        RULE_FAULTS[fn.__name__] = F.declare(fault, section, doc, DEPENDENT, (case,))
        return rule(block, section)(fn)

    return deco


def _changed(new: Doc, old: Doc, *names: str) -> list[str]:
    return [n for n in names if str(new.get(n, "")) != str(old.get(n, ""))]


# -- 9.6.1 /Images ---------------------------------------------------------------------------------


@checked(
    "WhiteBalance",
    "9.6.1.5",
    "rule-whitebalance-gains-outside-manual",
    "GainRed/GainBlue are changed while <Mode> is auto",
    "WhiteBalance gains outside manual",
)
def white_balance_gains_only_in_manual(new: Doc, old: Doc) -> str | None:
    """9.6.1.5 "<GainRed> and <GainBlue> are applicable only if <Mode> is manual"."""
    changed = _changed(new, old, "GainRed", "GainBlue")
    if changed and "manual" not in (new.get("Mode"), old.get("Mode")):
        return f"<{'>, <'.join(changed)}> can only be set when <Mode> is manual (it is {new.get('Mode')!r})"
    return None


@checked(
    "Color",
    "9.6.1.3",
    "rule-color-brightness-in-auto",
    "Brightness is changed while <Mode> is auto",
    "Color Brightness in auto",
)
def color_brightness_only_in_manual(new: Doc, old: Doc) -> str | None:
    """9.6.1.3 "If mode is auto, setting the value of the <Brightness> field is unsuccessful"; notsupport: always valid."""
    if _changed(new, old, "Brightness") and new.get("Mode") == "auto" and old.get("Mode") == "auto":
        return "<Brightness> cannot be set while <Mode> is auto"
    return None


def _seconds(text: str) -> int:
    parts = [int(p) for p in text.split(":")]
    return parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0)


@checked(
    "IrCutFilter",
    "9.6.1.6",
    "rule-ircut-times-outside-time-mode",
    "DayStartTime/DayEndTime are changed while <Mode> is not time",
    "IrCutFilter times outside time mode",
)
def ir_cut_times_only_in_time_mode(new: Doc, old: Doc) -> str | None:
    """9.6.1.6 "If <Mode> is time, <StartTime> and <EndTime> are effective, other is not effective"."""
    changed = _changed(new, old, "DayStartTime", "DayEndTime")
    if changed and "time" not in (new.get("Mode"), old.get("Mode")):
        return f"<{'>, <'.join(changed)}> can only be set when <Mode> is time (it is {new.get('Mode')!r})"
    return None


@checked(
    "IrCutFilter",
    "9.6.1.6",
    "rule-ircut-empty-day",
    "time mode accepts a day that ends before it starts",
    "IrCutFilter day ends before it starts",
)
def ir_cut_day_has_length(new: Doc, old: Doc) -> str | None:
    """9.6.1.6: in "time" mode the day runs from <DayStartTime> to <DayEndTime>: the start comes first."""
    if new.get("Mode") != "time":
        return None
    start, end = str(new.get("DayStartTime", "")), str(new.get("DayEndTime", ""))
    if start and end and _seconds(start) >= _seconds(end):
        return f"<DayStartTime> {start} is not before <DayEndTime> {end}"
    return None


# -- 9.2 /System: dates, DST ------------------------------------------------------------------------


def calendar_problem(text: str) -> str | None:
    """An ISO 8601 string whose digits are no real date or time (2024-02-30, 25:00)."""
    m = DATETIME_RE.fullmatch(text.strip())
    if not m:
        return None  # the block's own check reports the shape
    core = m.group(1).replace("-", "").replace(":", "")
    try:
        datetime.strptime(core, "%Y%m%dT%H%M%S")
    except ValueError:
        return f"{text!r} is not a real date and time"
    return None


def _instant(text: str) -> datetime:
    from pytest_bview.simulator.device import parse_iso8601

    return parse_iso8601(text)


def _calendar_rule(block: str, section: str, names: tuple[str, ...], case: str) -> None:
    def fn(new: Doc, old: Doc) -> str | None:
        for name in names:
            problem = calendar_problem(str(new.get(name, "")))
            if problem and str(new.get(name)) != str(old.get(name)):
                return f"<{name}>: {problem}"
        return None

    fn.__name__ = f"{block.lower()}_dates_are_real"
    checked(
        block,
        section,
        f"rule-{block.lower()}-calendar-unchecked",
        f"<{block}> accepts an ISO 8601 date that does not exist (month 13, February 30)",
        case,
    )(fn)


_calendar_rule("Time", "9.2.1", ("SystemTime",), "Time SystemTime not a real date")
_calendar_rule("DST", "9.2.3", ("DateModeStart", "DateModeStop"), "DST date not a real date")
_calendar_rule("AutoMaintenance", "9.2.4 DeviceAutoMaintenance", ("MaintenanceTime",), "AutoMaintenance bad date")


@checked(
    "DST",
    "9.2.3",
    "rule-dst-date-order",
    "date mode accepts a DST period that ends before it starts",
    "DST date mode stop before start",
)
def dst_date_period(new: Doc, old: Doc) -> str | None:
    """9.2.3 "If <Mode> is date, use <DateModeStart> and <DateModeStop>": the period starts before it stops."""
    if new.get("Mode") != "date" or str(new.get("Enable")) not in ("true", "1"):
        return None
    try:
        start, stop = _instant(str(new.get("DateModeStart"))), _instant(str(new.get("DateModeStop")))
    except Exception:  # the calendar rule reports it
        return None
    if start >= stop:
        return f"<DateModeStart> {new.get('DateModeStart')} is not before <DateModeStop> {new.get('DateModeStop')}"
    return None


# -- 9.1.1.2 DDNS ----------------------------------------------------------------------------------


@checked(
    "DDNSConfig",
    "9.1.1.2",
    "rule-ddns-protocol-unknown",
    "<ProtocolName> outside the <ServerList> is accepted",
    "DDNS ProtocolName not in ServerList",
)
def ddns_protocol_from_server_list(new: Doc, old: Doc) -> str | None:
    """9.1.1.2 "<ProtocolName> is the one of <ServerList>" (the reference camera's list is fixed)."""
    name = str(new.get("ProtocolName", ""))
    if name not in DDNS_PROVIDERS:
        return f"<ProtocolName> {name!r} is not in the <ServerList> ({', '.join(DDNS_PROVIDERS)})"
    return None


# -- 9.1.7.1.3 Wireless ----------------------------------------------------------------------------

WPA_MODES = ("WPAPSK", "WPA2PSK")
WEP_SHARED = ("SHARED", "SHRED")


def _key_text(key: Doc) -> tuple[str | None, str | None]:
    """The key a Key element carries: (text, problem); KeyValue and KeyValueB64 are alternatives."""
    plain = str(key.get("KeyValue") or "")
    b64 = str(key.get("KeyValueB64") or "")
    decoded = None
    if b64:
        try:
            decoded = base64.b64decode(b64, validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None, f"<KeyValueB64> {b64!r} is not a Base 64 encoded ASCII key"
    if plain and decoded is not None and plain != decoded:
        return None, "<KeyValue> and <KeyValueB64> carry different keys"
    return (plain or decoded or None), None


def _connecting(doc: Doc) -> bool:
    return str(doc.get("Enable", "0")) == "1"


@checked(
    "ConnectionConfig",
    "9.1.7.1.3",
    "rule-wifi-wpa-key-missing",
    "a WPA/WPA2-PSK connection without a key is accepted",
    "Wireless WPA2PSK without a key",
)
def wifi_wpa_needs_key(new: Doc, old: Doc) -> str | None:
    """9.1.7.1.3 "If <AuthMode> is WPAPSK or WPA2PSK, <keyvalue> in <WPA> shall not be empty" (8-63 characters)."""
    if new.get("AuthMode") not in WPA_MODES or not _connecting(new):
        return None
    key, problem = _key_text((new.get("WPA") or {}).get("Key") or {})
    if problem:
        return problem
    if key is None:
        return f"<AuthMode> {new.get('AuthMode')} needs <WPA>/<Key>/<KeyValue> or <KeyValueB64>"
    if not 8 <= len(key) <= 63:
        return f"the WPA key has {len(key)} characters (8-63)"
    return None


@checked(
    "ConnectionConfig",
    "9.1.7.1.3",
    "rule-wifi-key-alternatives-disagree",
    "<KeyValue> and <KeyValueB64> with different keys are accepted",
    "Wireless KeyValue and KeyValueB64 disagree",
)
def wifi_key_alternatives_agree(new: Doc, old: Doc) -> str | None:
    """9.1.7.1.3 "The use of <KeyValue> and <KeyValueB64> is alternative": both given must be the same key."""
    keys = [(new.get("WPA") or {}).get("Key") or {}]
    keys += list(((new.get("WEP") or {}).get("keyList") or {}).get("Key") or [])
    for key in keys:
        _, problem = _key_text(key)
        if problem and "different" in problem:
            return problem
    return None


@checked(
    "ConnectionConfig",
    "9.1.7.1.3",
    "rule-wifi-wep-key-missing",
    "a shared-key WEP connection whose selected key is empty is accepted",
    "Wireless SHARED without the selected WEP key",
)
def wifi_wep_needs_selected_key(new: Doc, old: Doc) -> str | None:
    """9.1.7.1.3 "If <AuthMode> is OPEN or SHARED, <WEP> is applied": shared-key WEP needs the key <KeyID> selects."""
    wep = new.get("WEP") or {}
    keys = list((wep.get("keyList") or {}).get("Key") or [])
    ids = [str(k.get("ID")) for k in keys]
    if len(set(ids)) != len(ids):
        return f"WEP key IDs repeat: {', '.join(ids)}"
    if new.get("AuthMode") not in WEP_SHARED or not _connecting(new):
        return None
    selected = next((k for k in keys if str(k.get("ID")) == str(wep.get("KeyID"))), None)
    text, problem = _key_text(selected or {})
    if problem:
        return problem
    if not text:
        return f"<AuthMode> {new.get('AuthMode')} uses WEP key {wep.get('KeyID')}, which is empty"
    if selected is not None and selected.get("KeyType") == "HEX" and not re.fullmatch(r"[0-9A-Fa-f]+", text):
        return f"WEP key {wep.get('KeyID')} is KeyType HEX but not hexadecimal"
    return None


# -- 9.7.1.4 Mosaic --------------------------------------------------------------------------------

MAX_MOSAIC_REGIONS = 4  # "4 masks with ID 1..4 are supported"


def _regions(doc: Doc) -> list[dict[str, Any]]:
    return list((doc.get("MosaicRegionList") or {}).get("Region") or [])


def _mosaic_regions_problem(new: Doc, old: Doc) -> str | None:
    regions = _regions(new)
    if len(regions) > MAX_MOSAIC_REGIONS:
        return f"{len(regions)} mosaic regions (at most {MAX_MOSAIC_REGIONS})"
    ids = [str(r.get("ID")) for r in regions]
    if len(set(ids)) != len(ids):
        return f"mosaic region IDs repeat: {', '.join(ids)}"
    return None


def mosaic_at_most_four_unique(new: Doc, old: Doc) -> str | None:
    """9.7.1.4 "4 masks with ID 1..4 are supported": at most four regions, each ID once."""
    return _mosaic_regions_problem(new, old)


RULE_FAULTS["mosaic_at_most_four_unique"] = F.declare(
    "rule-mosaic-regions-unchecked",
    "9.7.1.4",
    "a fifth mosaic region, or two regions with one ID, are accepted",
    "dependent-fields-refused",
    ("Mosaic five regions", "Mosaic same ID"),
)
rule("Mosaic", "9.7.1.4")(mosaic_at_most_four_unique)


@checked(
    "Mosaic",
    "9.7.1.4",
    "rule-mosaic-inverted",
    "a mosaic region whose bottom-right corner is above or left of its top-left is accepted",
    "Mosaic BottomRight before TopLeft",
)
def mosaic_corners_ordered(new: Doc, old: Doc) -> str | None:
    """9.7.1.4: a region runs from <TopLeftX/Y> to <BottomRightX/Y>, so the top-left corner comes first."""
    for r in _regions(new):
        try:
            if int(r["TopLeftX"]) >= int(r["BottomRightX"]) or int(r["TopLeftY"]) >= int(r["BottomRightY"]):
                return f"mosaic region {r.get('ID')}: the top-left corner is not above and left of the bottom-right"
        except (KeyError, ValueError):
            return f"mosaic region {r.get('ID')} lacks a corner"
    return None


# -- domains the issue names: one fault each stops the device checking it --------------------------


def _domain(name: str, section: str, doc: str, paths: str, *cases: str) -> str:
    """A fault that lets values outside one spec domain through (element paths matching `paths`)."""
    fault = F.declare(name, section, doc, OUT_OF_DOMAIN, cases)
    DOMAIN_FAULTS[fault] = re.compile(paths)
    return fault


_domain(
    "domain-color-range",
    "9.6.1.3",
    "Color values outside 0-100 are accepted",
    r"^Color/",
    "PUT /Images/1/Color 9.6.1.3 Hue 0-100",
)
_domain(
    "domain-osd-position",
    "9.7.1.1",
    "OSD positions outside 0-703 / 0-575 are accepted",
    r"^OSD/.*/Pos[XY]$",
    "PUT /Pictures/1/OSD 9.7.1.1 PosX 0-703",
    "PUT /Pictures/1/OSD 9.7.1.1 PosY 0-575",
)
_domain(
    "domain-record-seconds",
    "9.10",
    "PreRecord/DelayRecord outside 1-120 are accepted",
    r"^Record/(PreRecord|DelayRecord)$",
    "PUT /Record 9.10 PreRecord 1-120",
    "PUT /Record 9.10 DelayRecord 1-120",
)
_domain(
    "domain-weekday-mask",
    "9.2.4 DeviceAutoMaintenance",
    "a WeekDayMask that is not seven 0/1 characters is accepted",
    r"WeekDayMask$",
    "PUT /System/DeviceAutoMaintenance 9.2.4 WeekDayMask seven 0/1",
)
_domain(
    "domain-schedule-blocks",
    "9.7.1.3.2",
    "a day schedule that is not 48 half-hour blocks of 0/1 is accepted",
    r"/(Block|TimeBlock)_\d$",
    "PUT /Pictures/1/Motion/Schedule 9.7.1.3.2 48 half-hour blocks",
    "PUT /Network/EMail 9.1.3 48 half-hour blocks",
)
_domain(
    "domain-exposure-lists",
    "9.6.1.4",
    "shutter and gain values outside the spec's lists are accepted",
    r"^Exposure/(shutter|Gain)$",
    "PUT /Images/1/Exposure 9.6.1.4 Gain list",
    "PUT /Images/1/Exposure 9.6.1.4 shutter list",
)
_domain(
    "domain-wpa-key-length",
    "9.1.7.1.3",
    "a WPA key outside 8-63 characters is accepted",
    r"WPA/Key/KeyValue$",
    "PUT /Network/Interfaces/2/Wireless 9.1.7.1.3 WPA key 8-63",
)
_domain(
    "domain-ddns-server-port",
    "9.1.1.2",
    "a DDNS ServerPort other than 0 is accepted",
    r"ServerPort$",
    "PUT /Network/DDNS/Config 9.1.1.2 ServerPort must be 0",
)
_domain(
    "domain-motion-rows",
    "9.7.1.3",
    "a motion region row that is not 14 cells of 0/1 is accepted",
    r"RegionX_\d+$",
    "PUT /Pictures/1/Motion/RegionsV2 9.7.1.3 rows of 14 0/1",
)
_domain(
    "domain-time-formats",
    "9.2.1",
    "TimeFormat/DateTimeFormat outside their lists are accepted",
    r"^Time/(TimeFormat|DateTimeFormat)$",
    "PUT /System/Time 9.2.1 TimeFormat 12hour,24hour",
    "PUT /System/Time 9.2.1 DateTimeFormat list",
)
_domain(
    "domain-ntp-timezone",
    "9.2.2",
    "a TimeZone that is not a POSIX 1003.1 time zone string is accepted",
    r"^NTP/TimeZone$",
    "PUT /System/NTP 9.2.2 TimeZone POSIX",
)
_domain(
    "domain-dst-week-format",
    "9.2.3",
    "WeekModeStart/Stop not in month-week-day-hour-minute-second are accepted",
    r"^DST/WeekMode(Start|Stop)$",
    "PUT /System/DST 9.2.3 WeekModeStart month-week-day-hour-minute-second",
)


def _lax_domain(name: str, section: str, doc: str, paths: str, values: str, breaks: str) -> str:
    """A fault that lets some values outside one spec domain through: those matching `values` under `paths`."""
    fault = F.declare(name, section, doc, breaks)
    LAX_DOMAIN_FAULTS[fault] = (re.compile(paths), re.compile(values))
    return fault


_lax_domain(
    "ntp-timezone-offset-optional",
    "9.2.2",
    "a TimeZone without its UTC offset (a bare name such as EST) is accepted: the parser takes the offset as optional",
    r"^NTP/TimeZone$",
    r"[A-Za-z]{3,}",
    "ntp-timezone-non-posix-refused",
)
_lax_domain(
    "dst-week-ranges-unchecked",
    "9.2.3",
    "WeekModeStart/Stop of six numbers are accepted whatever their ranges (month 13, week 6, day 8, hour 24)",
    r"^DST/WeekMode(Start|Stop)$",
    r"[0-9]{1,2}(-[0-9]{1,2}){5}",
    "dst-week-format",
)


# -- 9.2.2 NTP, 9.2.3 DST: what the firmware stores -------------------------------------------------

NTP_TIMEZONE_BYTES = 32  # the faulty firmware's buffer, NUL included
NTP_TIMEZONE_TRUNCATED = F.declare(
    "ntp-timezone-truncated",
    "9.2.2",
    f"TimeZone is kept in a {NTP_TIMEZONE_BYTES}-byte buffer: longer POSIX strings (the spec's EST and CET "
    f"examples with their DST rules) are accepted but come back cut to {NTP_TIMEZONE_BYTES - 1} characters",
    "ntp-timezone-stored",
)
DST_WEEK_NOT_STORED = F.declare(
    "dst-week-mode-not-stored",
    "9.2.3",
    "WeekModeStart/WeekModeStop are answered 0 but not stored (the firmware keeps only the date mode fields)",
    "dst-modes-stored",
)


def _on_commit(key: str, fn: Callable[[Device, Doc], None]) -> None:
    """Run `fn` on the document about to be stored under `key`, after any hook registered before."""
    previous = ON_COMMIT.get(key)

    def hook(device: Device, doc: Doc) -> None:
        if previous is not None:
            previous(device, doc)
        fn(device, doc)

    ON_COMMIT[key] = hook


def _ntp_stored(device: Device, doc: Doc) -> None:
    if device.faults.on(NTP_TIMEZONE_TRUNCATED):
        doc["TimeZone"] = str(doc.get("TimeZone", ""))[: NTP_TIMEZONE_BYTES - 1]


def _dst_stored(device: Device, doc: Doc) -> None:
    if device.faults.on(DST_WEEK_NOT_STORED):
        old = device.store.get("/System/DST") or {}
        for name in ("WeekModeStart", "WeekModeStop"):
            if name in old:
                doc[name] = old[name]


_on_commit("/System/NTP", _ntp_stored)
_on_commit("/System/DST", _dst_stored)
