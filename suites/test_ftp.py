"""FTP upload (spec 9.1.6 /Network/FTP) into the plugin's FTP receiver.

TransferContentTypeMask: "00" disable, "01" only pictures, "10" only video, "11" both; files go into
StorageDirectory; Status tells "connected" or "not connect". The event recording of 9.10.2 is an
event a client can cause, so the video upload runs unattended; pictures need motion (operator).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest

from pytest_bview.checks import check_status, expect
from pytest_bview.receivers import CALLBACK_TIMEOUT_S, FtpReceiver, motion_armed, post_record_s
from pytest_bview.spec.status import Status
from pytest_bview.verdicts import not_supported

pytestmark = [pytest.mark.network, pytest.mark.record]
FTP = "/Network/FTP"
DIRECTORY = "bview-events"


@contextlib.contextmanager
def ftp_to(bview, receiver: FtpReceiver, *, mask: str = "11", password: str | None = None) -> Iterator[None]:
    """FTP client -> the receiver, StorageDirectory DIRECTORY; event recording on; restored after."""
    doc = {
        "Enable": "true",
        "UserName": receiver.user,
        "Password": receiver.password if password is None else password,
        "IPAddress": receiver.host,
        "Port": str(receiver.port),
        "TransferContentTypeMask": mask,
        "StorageDirectory": DIRECTORY,
    }
    with bview.preserved(FTP, "/Record", "/Record/HttpEvent/Config"):
        bview.write("/Record", {"DelayRecord": str(post_record_s(bview))})
        bview.write("/Record/HttpEvent/Config", {"Enable": "true"})
        bview.write(FTP, doc)
        yield


def _status(bview, wanted: str) -> tuple[str, object]:
    """Poll FTP Status until it says `wanted` or the callback deadline passes."""
    deadline = time.monotonic() + CALLBACK_TIMEOUT_S
    while True:
        doc, ex = bview.read(FTP)
        if doc.get("Status") == wanted or time.monotonic() > deadline:
            return str(doc.get("Status")), ex
        time.sleep(0.1)


@pytest.mark.reversible
@pytest.mark.bview_rule("ftp-status")
def test_status_tells_connection(bview, bview_ftp_receiver: FtpReceiver) -> None:
    """9.1.6: Status "connected" with working credentials, "not connect" with a wrong password."""
    with ftp_to(bview, bview_ftp_receiver):
        status, ex = _status(bview, "connected")
        if status == "None":  # <Status> is "opt": a camera may leave it out
            not_supported("the camera does not report the optional FTP <Status> (9.1.6)")
        expect(status == "connected", f"reports Status {status!r} for a reachable server", '"connected"', "9.1.6", ex)
    with ftp_to(bview, bview_ftp_receiver, password="wrong-password"):
        status, ex = _status(bview, "not connect")
        expect(
            status == "not connect",
            f"reports Status {status!r} although the login is refused",
            '"not connect"',
            "9.1.6",
            ex,
        )


def _uploads(receiver: FtpReceiver, bview, quiet: bool) -> list:
    wait = post_record_s(bview) * bview.settings.time_scale
    if quiet:
        return receiver.quiet(2 * wait + 0.5)
    return receiver.wait(timeout=CALLBACK_TIMEOUT_S + wait)


@pytest.mark.reversible
@pytest.mark.bview_rule("ftp-storage-directory", "record-file-avi")
def test_event_recording_uploaded(bview, bview_ftp_receiver: FtpReceiver) -> None:
    """9.1.6, 9.10.2: mask "10" uploads the event recording's video into StorageDirectory."""
    with ftp_to(bview, bview_ftp_receiver, mask="10"):
        ex = bview.client.put("/Record/HttpEvent/Call")
        check_status(ex, Status.OK, "9.10.2")
        got = _uploads(bview_ftp_receiver, bview, quiet=False)
        expect(got, "uploaded nothing after an event recording", "the video is uploaded (mask 10)", "9.1.6", ex)
        paths = [u.path for u in got]
        expect(
            all(p.startswith(DIRECTORY + "/") for p in paths),
            f"uploaded {paths}",
            f"the files in StorageDirectory {DIRECTORY!r}",
            "9.1.6",
            ex,
        )
        # AVI is only the container of the 9.10.3 example's file name: another one is an advisory (MAY)
        expect(
            all(p.lower().endswith(".avi") for p in paths),
            f"uploaded {paths}",
            "video files (.avi, as the 9.10.3 example's event file)",
            "9.10.3",
            ex,
            rule="record-file-avi",
        )


@pytest.mark.reversible
@pytest.mark.needs_operator
@pytest.mark.parametrize("mask", ["00", "01", "10", "11"])
@pytest.mark.bview_rule("ftp-content-mask")
def test_upload_by_mask(bview, bview_motion, bview_ftp_receiver: FtpReceiver, mask: str) -> None:
    """9.1.6: on motion (Trigger Snapshot + Record) the mask decides: 00 none, 01 pictures, 10 video, 11 both."""
    with ftp_to(bview, bview_ftp_receiver, mask=mask), motion_armed(bview, "Snapshot", "Record"):
        wanted = {k for bit, k in zip(mask, ("video", "picture"), strict=True) if bit == "1"}
        post = post_record_s(bview) * bview.settings.time_scale
        bview_motion()
        bview_ftp_receiver.wait(lambda items: len(items) >= len(wanted), CALLBACK_TIMEOUT_S + post)
        got = bview_ftp_receiver.quiet(2 * post + 0.3)  # and nothing more
        kinds = {"video" if u.path.lower().endswith(".avi") else "picture" for u in got}
        expect(
            kinds == wanted,
            f"uploaded {[u.path for u in got] or 'nothing'}",
            f"TransferContentTypeMask {mask}: {', '.join(sorted(wanted)) or 'no upload'}",
            "9.1.6",
            bview.client.exchanges[-1],
        )
