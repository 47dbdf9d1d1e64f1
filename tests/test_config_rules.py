"""The reference camera's cross-field rules (simulator/rules.py) as functions, and as the device applies them."""

from __future__ import annotations

import base64

import pytest

from pytest_bview.simulator import rules
from pytest_bview.simulator.camera import CameraThread
from pytest_bview.simulator.config import RULES
from pytest_bview.simulator.device import DOMAIN_FAULTS, RULE_FAULTS
from pytest_bview.simulator.faults import REGISTRY

RULE_IDS = ("dependent-fields-refused", "ip-unusable-refused")


def test_every_rule_has_a_fault_caught_by_a_suite_case() -> None:
    names = {fn.__name__ for rows in RULES.values() for _, fn in rows}
    mine = {n for n in names if n in RULE_FAULTS}
    assert mine >= {"white_balance_gains_only_in_manual", "color_brightness_only_in_manual", "mosaic_corners_ordered"}
    for name in mine:
        fault = REGISTRY[RULE_FAULTS[name]]
        # the reversible tier's dependent-field cases; the address rule (a camera that takes a bad address
        # moves) is checked by the disruptive tier under its watchdog (netif.py, ERRATA.md L31)
        assert fault.rule in RULE_IDS and (fault.cases or fault.rule != "dependent-fields-refused"), fault
    for fault in DOMAIN_FAULTS:
        assert REGISTRY[fault].rule == "domain-value-refused" and REGISTRY[fault].cases


@pytest.mark.parametrize(
    "new,old,refused",
    [
        ({"Mode": "auto", "GainRed": "10"}, {"Mode": "auto", "GainRed": "50"}, True),
        ({"Mode": "manual", "GainRed": "10"}, {"Mode": "auto", "GainRed": "50"}, False),
        ({"Mode": "auto", "GainRed": "10"}, {"Mode": "manual", "GainRed": "50"}, False),  # put back a whole document
        ({"Mode": "auto", "GainRed": "50"}, {"Mode": "auto", "GainRed": "50"}, False),  # unchanged is no "setting"
    ],
)
def test_white_balance_gains(new, old, refused) -> None:
    assert (rules.white_balance_gains_only_in_manual(new, old) is not None) == refused


def test_color_brightness_notsupport_always_valid() -> None:
    assert rules.color_brightness_only_in_manual({"Mode": "notsupport", "Brightness": "1"}, {"Mode": "auto"}) is None
    assert rules.color_brightness_only_in_manual({"Mode": "auto", "Brightness": "1"}, {"Mode": "auto"}) is not None


def test_wifi_keys() -> None:
    wpa = {"Enable": "1", "AuthMode": "WPA2PSK", "WPA": {"Key": {"KeyValue": ""}}}
    assert rules.wifi_wpa_needs_key(wpa, {}) is not None
    wpa["WPA"]["Key"] = {"KeyValueB64": base64.b64encode(b"correct horse").decode()}
    assert rules.wifi_wpa_needs_key(wpa, {}) is None
    wpa["WPA"]["Key"]["KeyValue"] = "other key"
    assert rules.wifi_key_alternatives_agree(wpa, {}) is not None
    assert rules.wifi_wpa_needs_key({**wpa, "Enable": "0"}, {}) is None  # not connecting: inactive section


def test_calendar_and_mosaic() -> None:
    assert rules.calendar_problem("2024-02-30T10:00:00Z")
    assert rules.calendar_problem("20240229T100000") is None
    region = {"ID": "1", "TopLeftX": "5", "TopLeftY": "5", "BottomRightX": "5", "BottomRightY": "9"}
    assert rules.mosaic_corners_ordered({"MosaicRegionList": {"Region": [region]}}, {}) is not None
    many = [{**region, "ID": str(i)} for i in range(1, 6)]
    assert rules.mosaic_at_most_four_unique({"MosaicRegionList": {"Region": many}}, {}) is not None


def test_posix_time_zones_of_the_spec() -> None:
    from pytest_bview.spec.blocks import BLOCKS

    tz = BLOCKS["NTP"].root.child("TimeZone")
    for ok in (
        "EST+5EDT01:00:00,M3.2.0/02:00:00,M11.1.0/02:00:00",
        "CET-1CEST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00",
    ):
        assert tz.check(ok) is None, ok
    assert tz.check("Europe/Paris") is not None


def test_device_refuses_and_changes_nothing() -> None:
    from pytest_bview.checks import status_code
    from pytest_bview.client import Client

    with CameraThread(time_scale=0.01) as cam:
        client = Client(f"http://127.0.0.1:{cam.ports['http']}", "admin", "admin", settle=0.05)
        before = cam.camera.device.store.get("/Images/1/WhiteBalance")
        ex = client.put("/Images/1/WhiteBalance", "<WhiteBalance><GainRed>3</GainRed></WhiteBalance>")
        assert status_code(ex) == -5 and "manual" in ex.headers.get("X-BView-Detail", "")
        assert cam.camera.device.store.get("/Images/1/WhiteBalance") == before
        # a PUT of <TimeFormat> alone keeps the clock (it once reset to the factory placeholder)
        offset = cam.camera.device.store.extra("clock_offset_s", 0.0)
        assert status_code(client.put("/System/Time", "<Time><TimeFormat>12hour</TimeFormat></Time>")) == 0
        assert cam.camera.device.store.extra("clock_offset_s", 0.0) == offset
        client.close()
