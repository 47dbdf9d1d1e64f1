"""The alarm server (spec 9.13.1 AMS, 9.13.2 EventCfgList) called on motion (Trigger NotifyAMS, 9.7.1.3.1).

ServerURL and Message are base64 ("Text: 192.168.31.1 Base64: MTkyLjE2OC4zMS4x"); the camera calls
http://<decoded ServerURL>/<decoded Message>, with Basic credentials when UserName is set, and not
again within AlarmInterval seconds of continuous motion (default 300). Both blocks are PUT-only:
they cannot be read back, so the checks leave AMS disabled afterwards. Motion needs an operator on
a real camera, so every check here is `needs_operator`.
"""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import Iterator

import pytest

from pytest_bview.checks import expect
from pytest_bview.receivers import CALLBACK_TIMEOUT_S, HttpReceiver, motion_armed
from pytest_bview.spec.facts import ALARM_INTERVAL_DEFAULT_S

pytestmark = [pytest.mark.alarm, pytest.mark.needs_operator]
MESSAGE = "motion/test.asp"  # the spec's example path (9.13.2)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@contextlib.contextmanager
def alarm_server(
    bview, receiver: HttpReceiver, *, user: str = "", password: str = "", interval: int = 1
) -> Iterator[None]:
    """AMS -> the receiver; EventCfgList motion Message MESSAGE, AlarmInterval `interval` s (1: an earlier
    check's call does not hold this one back); AMS disabled again afterwards."""
    ams = {
        "Enable": "true",
        "ServerName": "motionEvent",
        "UserName": user,
        "Password": password,
        "ServerURL": b64(f"{receiver.host}:{receiver.port}"),
    }
    section = {"PreRecordTime": "0", "AlarmInterval": str(interval), "Message": b64(MESSAGE)}
    bview.write("/Alarm/EventCfgList/2", {"motion": section, "http": dict(section)})
    bview.write("/Alarm/AMS/2", ams)
    try:
        yield
    finally:
        bview.write("/Alarm/AMS/2", {**ams, "Enable": "false", "UserName": "", "Password": "", "ServerURL": ""})
        default = {"PreRecordTime": "0", "AlarmInterval": str(ALARM_INTERVAL_DEFAULT_S), "Message": ""}
        bview.write("/Alarm/EventCfgList/2", {"motion": default, "http": dict(default)})


def first_call(bview, bview_motion, receiver: HttpReceiver, interval_s: float = 1) -> list:
    """Motion, repeated until the alarm server is called: 9.13.2 lets a camera hold a repeat back for
    AlarmInterval seconds "in case of continuous motion", and the previous check's motion and call may be less
    than that ago (at real timing, 1 s is more than the gap between two checks)."""
    interval = interval_s * bview.settings.time_scale
    deadline = time.monotonic() + interval * 1.2 + CALLBACK_TIMEOUT_S
    got: list = []
    while not got and time.monotonic() < deadline:
        bview_motion()
        got = receiver.wait(timeout=min(1.0, max(0.2, interval / 4)))
    return got


# The interval the check sets: any value shows the rule, and the default (300 s) would keep a run at real
# timing waiting 5.5 minutes. It lasts at least this long in wall time (60 s at the suites' 0.01, 1 s at real
# timing: Settings.device_seconds), wide enough to tell "again" from "once". It is the module's first check, so
# no earlier check's call holds its first call back (9.13.2).
ALARM_INTERVAL_WALL_S = 0.6


@pytest.mark.reversible
@pytest.mark.bview_rule("alarm-interval")
def test_alarm_interval(bview, bview_motion, bview_http_receiver: HttpReceiver) -> None:
    """9.13.2: no repeat sooner than AlarmInterval (the check sets a short one) in continuous motion; then again."""
    interval_s = bview.settings.device_seconds(ALARM_INTERVAL_WALL_S)
    interval = interval_s * bview.settings.time_scale
    with motion_armed(bview, "NotifyAMS"), alarm_server(bview, bview_http_receiver, interval=interval_s):
        # the camera may measure the new interval from the previous check's call
        first = first_call(bview, bview_motion, bview_http_receiver, interval_s)
        ex = bview.client.exchanges[-1]
        expect(first, "called no alarm server", "motion calls the AMS server", "9.13.1", ex)
        bview_motion()
        early = bview_http_receiver.quiet(min(0.5, interval / 4))
        expect(
            len(early) == 1,
            f"called the alarm server {len(early)} times for motion {time.monotonic() - first[0].at:.2f} s apart",
            f"one call per AlarmInterval ({interval_s} s, {interval:g} s at this time scale)",
            "9.13.2",
            ex,
        )
        time.sleep(max(0.0, first[0].at + interval * 1.1 - time.monotonic()))
        bview_motion()
        later = bview_http_receiver.wait(lambda items: len(items) >= 2)
        expect(
            len(later) >= 2,
            "did not call again after AlarmInterval",
            "motion after the interval is reported again",
            "9.13.2",
            ex,
        )


@pytest.mark.reversible
@pytest.mark.bview_rule("alarm-server-called", "alarm-message-base64")
def test_alarm_server_called(bview, bview_motion, bview_http_receiver: HttpReceiver) -> None:
    """9.13.1, 9.13.2: motion calls the decoded ServerURL with the decoded Message as path."""
    with motion_armed(bview, "NotifyAMS"), alarm_server(bview, bview_http_receiver):
        got = first_call(bview, bview_motion, bview_http_receiver)
        ex = bview.client.exchanges[-1]
        expect(
            got,
            f"called no alarm server within {CALLBACK_TIMEOUT_S:g} s of motion",
            "motion with NotifyAMS calls the AMS server",
            "9.13.1",
            ex,
        )
        expect(
            got[0].path == "/" + MESSAGE,
            f"requested {got[0].target!r}",
            f"the path decoded from Message {b64(MESSAGE)!r}: /{MESSAGE} (Message is base64, 9.13.2)",
            "9.13.2",
            ex,
        )


@pytest.mark.reversible
@pytest.mark.bview_rule("alarm-basic-credentials")
def test_alarm_basic_credentials(bview, bview_motion, bview_http_receiver: HttpReceiver) -> None:
    """9.13.1: "UserName, Password: optional values for HTTP authentication with alarm server"."""
    with motion_armed(bview, "NotifyAMS"), alarm_server(bview, bview_http_receiver, user="alarm", password="s3cret"):
        got = first_call(bview, bview_motion, bview_http_receiver)
        ex = bview.client.exchanges[-1]
        expect(got, "called no alarm server", "motion calls the AMS server", "9.13.1", ex)
        header = got[0].headers.get("Authorization", "")
        expected = "Basic " + b64("alarm:s3cret")
        expect(
            header == expected,
            f"sent Authorization {header.split(' ')[0] + ' ...' if header else 'none'}",
            "HTTP Basic credentials alarm:s3cret (RFC 7617)",
            "9.13.1",
            ex,
        )


@pytest.mark.reversible
@pytest.mark.bview_rule("motion-trigger-notify-ams")
def test_alarm_needs_trigger(bview, bview_motion, bview_http_receiver: HttpReceiver) -> None:
    """9.7.1.3.1: without Trigger NotifyAMS, motion does not call the alarm server."""
    with motion_armed(bview), alarm_server(bview, bview_http_receiver):
        bview_motion()
        got = bview_http_receiver.quiet(max(0.5, 2.0 * bview.settings.time_scale))
        expect(
            not got,
            f"requested {got[0].target if got else ''}",
            "NotifyAMS disabled: no alarm call",
            "9.7.1.3.1",
            bview.client.exchanges[-1],
        )
