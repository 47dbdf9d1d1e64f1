"""Configuration conformance: round trips, partial updates, ro fields, domains (spec 4.5.4, 6.1, 9)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_bview.checks import check_status, expect
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.resources import match
from pytest_bview.spec.status import Status
from pytest_bview.xmlblocks import to_xml

# A valid change per resource (the spec's domains, dependent fields satisfied).
CHANGES: dict[str, dict[str, Any]] = {
    "/Images/1/Scene": {"Mode": "vivid"},
    "/Images/1/Basic": {"NoiseReduce": "strong", "WDR": "weak"},
    "/Images/1/Color": {"Mode": "manual", "Brightness": "63", "Contrast": "37"},
    "/Images/1/Exposure": {"Gain": "12dB", "shutter": "1/100"},
    "/Images/1/WhiteBalance": {"Mode": "manual", "GainRed": "61", "GainBlue": "39"},
    "/Images/1/IrCutFilter": {"Mode": "time", "DayStartTime": "06:30:00", "DayEndTime": "19:00:00"},
    "/Pictures/1/OSD": {"DisplayName": {"Name": "Lab door 3"}},
    "/System/DeviceInfo": {"DeviceName": "bview-conformance"},
    "/System/NTP": {"ServerName": "ntp.example.org"},
    "/Record": {"PreRecord": "7", "DelayRecord": "9"},
    "/Network/Interfaces/1/IPAddress/DNS": {"SecondaryDNS": "192.0.2.53"},
}

# Values outside the spec's domains, each with the rule it breaks.
OUT_OF_DOMAIN: list[tuple[str, dict[str, Any], str]] = [
    ("/Images/1/Color", {"Mode": "manual", "Brightness": "101"}, "9.6.1.3 Brightness 0-100"),
    ("/Images/1/Color", {"Hue": "-1"}, "9.6.1.3 Hue 0-100"),
    ("/Images/1/Color", {"Contrast": "high"}, "9.6.1.3 Contrast xs:integer"),
    ("/Images/1/Basic", {"FlipMode": "sideways"}, "9.6.1.2 FlipMode close,leftright,updown,center,notsupport"),
    ("/Images/1/Exposure", {"Gain": "48dB"}, "9.6.1.4 Gain list"),
    ("/Pictures/1/OSD", {"DisplayTime": {"PosX": "704"}}, "9.7.1.1 PosX 0-703"),
    ("/Record", {"PreRecord": "121"}, "9.10 PreRecord 1-120"),
]


def _section(path: str) -> str:
    found = match(path)
    assert found is not None
    return found[0].section


def _contains(doc: Any, expected: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(doc, dict) and all(_contains(doc.get(k), v) for k, v in expected.items())
    return doc == expected


def _put(bview, path: str, doc: dict[str, Any]):
    found = match(path)
    assert found is not None and found[0].block
    return bview.client.put(path, to_xml(BLOCKS[found[0].block], doc, include_wo=True))


@pytest.mark.reversible
@pytest.mark.parametrize("path", list(CHANGES), ids=[f"PUT {p}" for p in CHANGES])
def test_round_trip(bview, path: str) -> None:
    """4.5.4: a valid PUT answers statusCode 0 and the next GET returns the new values."""
    change = CHANGES[path]
    with bview.preserved(path):
        ex = _put(bview, path, change)
        check_status(ex, Status.OK, _section(path), f"valid values {change}")
        after, get = bview.read(path)
        expect(
            _contains(after, change),
            f"returned {after} after accepting {change}",
            "the next GET returns what the PUT stored (4.5.4: the device answers once it is ready)",
            _section(path),
            ex,
            get,
        )


@pytest.mark.reversible
def test_partial_update_keeps_other_fields(bview) -> None:
    """6.1.1: "if a field is not provided in the inbound XML, then its current values shall not be modified"."""
    path = "/Images/1/Color"
    with bview.preserved(path):
        check_status(_put(bview, path, {"Mode": "manual", "Contrast": "41", "Sharpness": "58"}), Status.OK, "9.6.1.3")
        ex = _put(bview, path, {"Saturation": "42"})
        check_status(ex, Status.OK, "9.6.1.3")
        after, get = bview.read(path)
        expect(
            after.get("Contrast") == "41" and after.get("Sharpness") == "58" and after.get("Saturation") == "42",
            f"holds Contrast {after.get('Contrast')}, Sharpness {after.get('Sharpness')}, Saturation "
            f"{after.get('Saturation')} after a PUT of Saturation alone",
            "fields left out of a PUT keep their values (Contrast 41, Sharpness 58)",
            "6.1.1",
            ex,
            get,
        )


@pytest.mark.reversible
def test_read_only_fields_ignored(bview) -> None:
    """6.1.2 "ro" and 9.2.4: read-only fields in a PUT are ignored; only DeviceName is writable."""
    path = "/System/DeviceInfo"
    with bview.preserved(path) as before:
        original = before[path]
        tampered = {
            **original,
            "DeviceName": "bview-ro-check",
            "SerialNum": "TAMPERED-0000",
            "SoftWareVersion": "9.9.9",
            "DeviceTypeName": "TAMPERED",
        }
        ex = _put(bview, path, tampered)
        check_status(ex, Status.OK, "9.2.4", "read-only fields are ignored, not refused")
        after, get = bview.read(path)
        changed = [k for k in ("SerialNum", "SoftWareVersion", "DeviceTypeName") if after.get(k) != original.get(k)]
        expect(
            not changed,
            f"stored the read-only field(s) {', '.join(changed)} from the PUT",
            "only <DeviceName> can be set, all other parameters are read-only",
            "9.2.4",
            ex,
            get,
        )
        expect(
            after.get("DeviceName") == "bview-ro-check",
            f"kept DeviceName {after.get('DeviceName')!r}",
            "<DeviceName> is writable",
            "9.2.4",
            ex,
            get,
        )


@pytest.mark.reversible
@pytest.mark.parametrize("path,change,rule", OUT_OF_DOMAIN, ids=[f"PUT {p} {r}" for p, _, r in OUT_OF_DOMAIN])
def test_out_of_domain_rejected(bview, path: str, change: dict[str, Any], rule: str) -> None:
    """7: a value outside the spec's domain gets statusCode -5 and changes nothing."""
    before, _ = bview.read(path)
    # a valid change rides along: a device that applies half a refused request is caught too
    valid = {"Sharpness": "13"} if path == "/Images/1/Color" else {}
    ex = _put(bview, path, {**valid, **change})
    try:
        check_status(ex, Status.PARAMETER_ERROR, _section(path), f"{rule}: the value is outside the domain")
        after, get = bview.read(path)
        expect(
            after == before,
            f"changed {path} from {before} to {after} although it refused the request",
            "a refused request changes nothing",
            "7",
            ex,
            get,
        )
    finally:
        after, _ = bview.read(path)
        if after != before:
            bview.write(path, before)


@pytest.mark.reversible
@pytest.mark.disk
def test_disk_put_not_supported(bview) -> None:
    """9.11: "The PUT method is currently not supported" — statusCode -3, nothing changes."""
    before, _ = bview.read("/Disk")
    ex = bview.client.put("/Disk", to_xml(BLOCKS["DiskList"], before, include_wo=True))
    check_status(ex, Status.UNSUPPORTED_OPERATION, "9.11", "PUT /Disk is not supported")
    after, get = bview.read("/Disk")
    expect(after == before, "changed /Disk", "nothing changes", "9.11", ex, get)
