"""Event recording and the HTTP notify (spec 9.10, 9.10.1-9.10.3).

PUT /Record/HttpEvent/Call makes the camera record PreRecord + DelayRecord seconds into
/download/video/ and then request the Notify URL -- the plugin's HTTP receiver:
    http://<Host>:<Port><Path>?eventfile=H_<YYYYMMDDhhmmss>_<n>.avi&camip=<camera IP>
Everything here runs unattended on a real camera given --bview-callback-host.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator

import pytest

from pytest_bview.checks import check_status, expect
from pytest_bview.receivers import CALLBACK_TIMEOUT_S, HttpReceiver, post_record_s
from pytest_bview.spec.status import Status

pytestmark = [pytest.mark.record]
CALL = "/Record/HttpEvent/Call"
NOTIFY_PATH = "/bview/event.php"
EVENTFILE = re.compile(r"H_(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})_(\d+)\.avi")


@contextlib.contextmanager
def recording_to(bview, receiver: HttpReceiver, *, enable: bool = True) -> Iterator[None]:
    """Notify URL -> the receiver, recording on/off, DelayRecord post_record_s(); restored after."""
    with bview.preserved("/Record", "/Record/HttpEvent/Config", "/Record/Notify/URL"):
        bview.write("/Record", {"PreRecord": "5", "DelayRecord": str(post_record_s(bview))})
        bview.write("/Record/HttpEvent/Config", {"Enable": "true" if enable else "false"})
        bview.write(
            "/Record/Notify/URL",
            {"Protocol": "HTTP", "Host": receiver.host, "Port": str(receiver.port), "Path": NOTIFY_PATH},
        )
        yield


def _deadline(bview) -> float:
    return CALLBACK_TIMEOUT_S + post_record_s(bview) * bview.settings.time_scale


def _camera_ip(bview) -> str:
    doc, _ = bview.read("/Network/Interfaces/1/IPAddress")
    return str(doc.get("ipAddress", ""))


@pytest.mark.reversible
@pytest.mark.bview_rule("notify-request", "notify-eventfile-name")
def test_http_notify_request(bview, bview_http_receiver: HttpReceiver) -> None:
    """9.10.2, 9.10.3: the notify is `<Path>?eventfile=H_<YYYYMMDDhhmmss>_<n>.avi&camip=<camera IP>`."""
    with recording_to(bview, bview_http_receiver):
        ex = bview.client.put(CALL)
        check_status(ex, Status.OK, "9.10.2")
        got = bview_http_receiver.wait(timeout=_deadline(bview))
        expect(
            got,
            f"sent no request to the Notify URL within {_deadline(bview):g} s",
            f"a request to http://{bview_http_receiver.host}:{bview_http_receiver.port}{NOTIFY_PATH} once the "
            "event file is saved",
            "9.10.3",
            ex,
        )
        req = got[0]
        eventfile = (req.query.get("eventfile") or [""])[0]
        camip = (req.query.get("camip") or [""])[0]
        problems = []
        if req.path != NOTIFY_PATH:
            problems.append(f"path {req.path!r} instead of {NOTIFY_PATH!r}")
        if not eventfile:
            problems.append("no eventfile parameter (the video file name in /download/video/)")
        if camip != _camera_ip(bview):
            problems.append(f"camip {camip!r} is not the camera's IP {_camera_ip(bview)!r}")
        expect(
            not problems,
            f"requested {req.method} {req.target}: " + "; ".join(problems),
            "http://<Host>:<Port><Path>?eventfile=H_20160712192233_00006.avi&camip=<camera IP> (9.10.3 example)",
            "9.10.3",
            ex,
        )
        # the name's form is only the spec's example: another name is an advisory (MAY)
        expect(
            EVENTFILE.fullmatch(eventfile),
            f"names the event file {eventfile!r}",
            "H_<YYYYMMDDhhmmss>_<n>.avi, the form of the 9.10.3 example",
            "9.10.3",
            ex,
            rule="notify-eventfile-name",
        )


@pytest.mark.reversible
@pytest.mark.bview_rule("record-pre-and-post")
def test_notify_after_post_record(bview, bview_http_receiver: HttpReceiver) -> None:
    """9.10.2: the file combines pre- and post-event recording, so it is notified DelayRecord seconds after the call."""
    with recording_to(bview, bview_http_receiver):
        started = time.monotonic()
        ex = bview.client.put(CALL)
        check_status(ex, Status.OK, "9.10.2")
        got = bview_http_receiver.wait(timeout=_deadline(bview))
        expect(got, "sent no notify", "a notify once the recording is saved", "9.10.3", ex)
        elapsed = got[0].at - started
        minimum = 0.9 * post_record_s(bview) * bview.settings.time_scale
        expect(
            elapsed >= minimum,
            f"notified {elapsed:.3f} s after the call",
            f"not before the {post_record_s(bview)} s of post-event recording (DelayRecord) are in the file "
            f"({minimum:.3f} s at time scale {bview.settings.time_scale:g})",
            "9.10.2",
            ex,
        )


@pytest.mark.reversible
@pytest.mark.bview_rule("record-file-saved", "record-file-avi")
def test_event_file_saved(bview, bview_http_receiver: HttpReceiver) -> None:
    """9.10.2, 9.10.3: "eventfile is the video file name in the /download/video/ directory" -- an AVI."""
    with recording_to(bview, bview_http_receiver):
        check_status(bview.client.put(CALL), Status.OK, "9.10.2")
        got = bview_http_receiver.wait(timeout=_deadline(bview))
        expect(got, "sent no notify", "a notify naming the event file", "9.10.3", bview.client.exchanges[-1])
        eventfile = (got[0].query.get("eventfile") or [""])[0]
        ex = bview.client.get(f"/download/video/{eventfile}")
        expect(
            ex.status == 200 and ex.body,
            f"answered HTTP {ex.status} with {len(ex.body)} bytes",
            f"the notified file /download/video/{eventfile} exists",
            "9.10.2",
            ex,
        )
        # AVI is only the container of the 9.10.3 example's file name: another one is an advisory (MAY)
        expect(
            ex.body[:4] == b"RIFF" and ex.body[8:12] == b"AVI ",
            f"sent a file beginning {ex.body[:12]!r}",
            "an AVI (RIFF) file, as the .avi of the 9.10.3 example",
            "9.10.3",
            ex,
            rule="record-file-avi",
        )


@pytest.mark.reversible
@pytest.mark.bview_rule("record-disabled")
def test_disabled_recording_does_nothing(bview, bview_http_receiver: HttpReceiver) -> None:
    """9.10.1: with HttpEventConfig Enable false, HttpEvent/Call records nothing and notifies nobody."""
    with recording_to(bview, bview_http_receiver, enable=False):
        ex = bview.client.put(CALL)
        check_status(ex, (Status.OK, Status.INVALID_OPERATION), "9.10.1", "refused or ignored (ERRATA.md L22)")
        got = bview_http_receiver.quiet(2 * post_record_s(bview) * bview.settings.time_scale + 0.5)
        expect(
            not got,
            f"requested {got[0].target if got else ''} although recording is disabled",
            "Enable false disables the recording function, so no event file and no notify",
            "9.10.1",
            ex,
        )
