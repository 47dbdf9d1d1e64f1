"""PTZ focus and zoom (spec 9.12): form bodies, speed 1-10, the calibration busy window."""

from __future__ import annotations

import time

import pytest

from pytest_bview.checks import check_status
from pytest_bview.spec.facts import CALIBRATION_MAX_S
from pytest_bview.spec.status import Status

pytestmark = [pytest.mark.ptz]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.reversible
@pytest.mark.parametrize("action", ["FocusFar", "FocusNear", "ZoomIn", "ZoomOut"])
@pytest.mark.bview_rule("ptz-start-stop")
def test_start_stop(bview, action: str) -> None:
    """9.12.2-9.12.5: Param1=1 starts and Param1=2 stops the operation; Param2 is the speed 1-10."""
    start = bview.client.put(f"/PTZ/1/{action}", "Param1=1&Param2=3", headers=FORM)
    check_status(start, Status.OK, "9.12")
    stop = bview.client.put(f"/PTZ/1/{action}", "Param1=2&Param2=3", headers=FORM)
    check_status(stop, Status.OK, "9.12")


@pytest.mark.reversible
@pytest.mark.parametrize("speed", ["0", "11", "fast"])
@pytest.mark.bview_rule("ptz-speed-range")
def test_speed_out_of_range(bview, speed: str) -> None:
    """9.12.2: "Valid values are from 1 to 10" — others get -5."""
    ex = bview.client.put("/PTZ/1/ZoomIn", f"Param1=1&Param2={speed}", headers=FORM)
    try:
        check_status(ex, Status.PARAMETER_ERROR, "9.12.2", f"speed {speed!r} is outside 1-10")
    finally:
        bview.client.put("/PTZ/1/ZoomIn", "Param1=2&Param2=1", headers=FORM)


@pytest.mark.disruptive
@pytest.mark.bview_rule("ptz-calibration-busy")
def test_calibration_busy_window(bview) -> None:
    """9.12.1: during the 3-5 minute calibration "do not send other image or PTZ setting commands" (-14). The words
    bind the client; how the camera answers such a command is left to it, so a camera that accepts it gets an
    advisory (rule ptz-calibration-busy, MAY)."""
    ex = bview.client.put("/PTZ/1/Presets/Goto", "Param1=85", headers=FORM)
    check_status(ex, Status.OK, "9.12.1")
    try:
        busy = bview.client.put("/PTZ/1/FocusFar", "Param1=1&Param2=2", headers=FORM)
        check_status(busy, Status.BUSY, "9.12.1", "a PTZ command during calibration", rule="ptz-calibration-busy")
    finally:
        time.sleep(CALIBRATION_MAX_S * bview.settings.time_scale)


@pytest.mark.reversible
@pytest.mark.parametrize("action", ["FocusFar", "FocusNear", "ZoomIn", "ZoomOut"])
@pytest.mark.bview_rule("ptz-wrong-channel")
def test_wrong_channel(bview, action: str) -> None:
    """9.12.2-9.12.5: "The camera only supports <ChannelID> 1" -- another channel gets -4."""
    ex = bview.client.put(f"/PTZ/2/{action}", "Param1=2&Param2=1", headers=FORM)
    check_status(ex, Status.WRONG_CHANNEL, "9.12", "ChannelID 2 does not exist")
