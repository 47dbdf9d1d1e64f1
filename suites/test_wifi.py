"""WiFi (spec 9.1.7.1.2-9.1.7.1.4, 9.1.8, 9.1.9): the parameter test and the wireless-only resources.

The wireless resources exist only on NetworkCardID 2; on the wired card 1 the camera answers -3
"Unsupported operation" (ERRATA.md L8). WifiParamTest is checked with WifiParamTestStatus 30 s later
(scaled by --bview-time-scale). Everything here runs unattended on a real camera.
"""

from __future__ import annotations

import time

import pytest

from pytest_bview.checks import check_status, expect, read_block
from pytest_bview.protocol.xmlblocks import to_xml
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.facts import WIFI_TEST_S
from pytest_bview.spec.status import Status

pytestmark = [pytest.mark.network, pytest.mark.wireless]
WIRELESS = ("WIFIAccessPointList", "Wireless", "WIFIStatus")
UNKNOWN_SSID = "bview-no-such-network-7f3a"


def _access_points(bview) -> list[dict]:
    doc, _ = bview.read("/Network/Interfaces/2/WIFIAccessPointList")
    items = doc.get("AccessPoint") or []
    return [items] if isinstance(items, dict) else list(items)


def _run_test(bview, ssid: str, key: str) -> tuple[str, object]:
    """PUT WifiParamTest, wait the (scaled) 30 s, GET WifiParamTestStatus; return Status and the exchange."""
    config = {
        "SSID": ssid,
        "NetworkType": "managed",
        "AuthMode": "WPA2PSK",
        "WPA": {"EncryptType": "AES", "Key": {"KeyType": "ASCII", "KeyValue": key}},
    }
    ex = bview.client.put("/Network/WifiParamTest", to_xml(BLOCKS["ConnectionConfig"], config))
    check_status(ex, Status.OK, "9.1.8")
    time.sleep(WIFI_TEST_S * bview.settings.time_scale * 1.05)
    got = bview.client.get("/Network/WifiParamTestStatus")
    if got.status != 200:
        check_status(got, Status.OK, "9.1.9", f"the test result {WIFI_TEST_S:g} s after WifiParamTest")
    doc = read_block(got, "WIFIStatusForTest", "9.1.9")
    return str(doc.get("Status")), got


@pytest.mark.reversible
@pytest.mark.bview_rule("wifi-test-result")
def test_wifi_param_test_result(bview) -> None:
    """9.1.8, 9.1.9: 30 s after WifiParamTest, WifiParamTestStatus answers "disconnect" or "connected"."""
    aps = _access_points(bview)
    status, ex = _run_test(bview, aps[0]["SSID"] if aps else UNKNOWN_SSID, "bview-test-key")
    expect(
        status in ("disconnect", "connected"),
        f"answered Status {status!r}",
        '"disconnect" or "connected"',
        "9.1.9",
        ex,
    )


@pytest.mark.reversible
@pytest.mark.bview_rule("wifi-test-unknown-ssid")
def test_wifi_param_test_unknown_ssid(bview) -> None:
    """9.1.8: a network no access point offers cannot be connected: the test says "disconnect"."""
    status, ex = _run_test(bview, UNKNOWN_SSID, "bview-test-key")
    expect(status == "disconnect", f"answered Status {status!r} for SSID {UNKNOWN_SSID!r}", '"disconnect"', "9.1.9", ex)


@pytest.mark.readonly
@pytest.mark.parametrize("name", WIRELESS)
@pytest.mark.bview_rule("wireless-only-card-2")
def test_wireless_resources_only_on_card_2(bview, name: str) -> None:
    """9.1.7.1.2-9.1.7.1.4: "Only applicable on wireless network interfaces" -- card 1 answers -3 (ERRATA.md L8)."""
    ex = bview.client.get(f"/Network/Interfaces/1/{name}")
    check_status(ex, Status.UNSUPPORTED_OPERATION, "9.1.7.1.2", "a wireless resource on the wired card 1 (L8)")


@pytest.mark.readonly
@pytest.mark.bview_rule("wifi-ap-list-values")
def test_access_point_list_valid(bview) -> None:
    """9.1.7.1.2: every AccessPoint has a unique ID, an SSID, SignalValue 0-100 and WirelessMode 1-9."""
    aps = _access_points(bview)
    ex = bview.client.exchanges[-1]
    problems = []
    ids = [ap.get("ID") for ap in aps]
    if len(set(ids)) != len(ids):
        problems.append(f"IDs {ids} are not unique")
    for ap in aps:
        signal, mode = str(ap.get("SignalValue", "")), str(ap.get("WirelessMode", ""))
        if not (signal.isdigit() and 0 <= int(signal) <= 100):
            problems.append(f"AccessPoint {ap.get('ID')}: SignalValue {signal!r} is not 0-100")
        if not (mode.isdigit() and 1 <= int(mode) <= 9):
            problems.append(f"AccessPoint {ap.get('ID')}: WirelessMode {mode!r} is not 1-9")
    expect(not problems, "; ".join(problems), "SignalValue 0-100, WirelessMode 1-9 (9.1.7.1.2 notes)", "9.1.7.1.2", ex)
