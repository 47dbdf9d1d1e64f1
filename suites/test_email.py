"""Email (spec 9.1.3 /Network/EMail, 9.2.9 /System/SendTestEmail) into the plugin's SMTP receiver.

The test message and the SMTP login run unattended on any camera given --bview-callback-host;
event mail (snapshot attachment, TimeBlock schedule) needs motion, so an operator on a real camera.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest

from pytest_bview.checks import check_status, expect
from pytest_bview.receivers import CALLBACK_TIMEOUT_S, SmtpReceiver, free_port, motion_armed, week_around_now
from pytest_bview.spec.status import Status

pytestmark = [pytest.mark.network, pytest.mark.system]
EMAIL = "/Network/EMail"
SENDER = "camera@bview.test"
RECEIVERS = ("one@bview.test", "two@bview.test")


@contextlib.contextmanager
def mail_to(bview, host: str, port: int, **fields: object) -> Iterator[None]:
    """Email client -> host:port, SENDER to RECEIVERS, no TLS; `fields` override; restored after."""
    doc = {
        "Enable": "true",
        "SMTPServer": host,
        "SMTPPort": str(port),
        "SMTPAuthMethod": "None",
        "SMTPTLSConfig": {"SMTPTLS": "off"},
        "SenderEmailAddress": SENDER,
        "ReceiverList": {"Receiver": [{"ID": str(i), "EmailAddress": a} for i, a in enumerate(RECEIVERS, 1)]},
        "AttachedSnapshot": "false",
        "Schedule": {"AllDay": "true", "TimeBlockList": {f"TimeBlock_{d}": "1" * 48 for d in range(7)}},
        **fields,
    }
    with bview.preserved(EMAIL) as before:
        count = len((before[EMAIL].get("ReceiverList") or {}).get("Receiver") or [])
        extra = [{"ID": str(i), "EmailAddress": ""} for i in range(len(RECEIVERS) + 1, count + 1)]
        doc["ReceiverList"]["Receiver"] += extra  # type: ignore[index]
        bview.write(EMAIL, doc)
        yield


@pytest.mark.reversible
@pytest.mark.bview_rule("email-test-message")
def test_send_test_email(bview, bview_smtp_receiver: SmtpReceiver) -> None:
    """9.2.9: one message from SenderEmailAddress to every Receiver."""
    r = bview_smtp_receiver
    with mail_to(bview, r.host, r.port):
        ex = bview.client.put("/System/SendTestEmail")
        check_status(ex, Status.OK, "9.2.9")
        got = r.wait()
        expect(got, f"delivered no message within {CALLBACK_TIMEOUT_S:g} s", "a test message", "9.2.9", ex)
        mail = got[0]
        expect(
            mail.mail_from == SENDER and sorted(mail.rcpt_tos) == sorted(RECEIVERS),
            f"sent from {mail.mail_from!r} to {sorted(mail.rcpt_tos)}",
            f"from SenderEmailAddress {SENDER!r} to every Receiver {sorted(RECEIVERS)}",
            "9.2.9",
            ex,
        )


@pytest.mark.reversible
@pytest.mark.bview_rule("email-smtp-auth-login")
def test_smtp_auth_login(bview, bview_smtp_receiver: SmtpReceiver) -> None:
    """9.1.3: SMTPAuthMethod Login authenticates with SenderEmailAddress and SenderEmailPassword."""
    r = bview_smtp_receiver
    with mail_to(bview, r.host, r.port, SMTPAuthMethod="Login", SenderEmailPassword="mail-pass"):
        ex = bview.client.put("/System/SendTestEmail")
        check_status(ex, Status.OK, "9.2.9")
        got = r.wait()
        expect(got, "delivered no message", "a test message", "9.2.9", ex)
        auth = got[0].auth
        expect(
            auth is not None and auth[0] == "LOGIN" and auth[1:] == (SENDER, "mail-pass"),
            f"authenticated as {auth[:2] if auth else 'nobody'}",
            f"AUTH LOGIN as {SENDER} with the configured password",
            "9.1.3",
            ex,
        )


@pytest.mark.reversible
@pytest.mark.bview_rule("email-test-failure-status")
def test_unreachable_server_gives_status(bview, bview_smtp_receiver: SmtpReceiver) -> None:
    """9.2.9: a server that cannot be reached gives a non-zero statusCode in time, never a hang or a 0."""
    closed = free_port(bview_smtp_receiver.host)  # nothing listens there
    with mail_to(bview, bview_smtp_receiver.host, closed):
        started = time.monotonic()
        ex = bview.client.put("/System/SendTestEmail")
        check_status(ex, tuple(s for s in Status if s != Status.OK), "9.2.9", "the message could not be delivered")
        expect(
            time.monotonic() - started < bview.settings.timeout,
            f"answered after {time.monotonic() - started:.1f} s",
            "an answer within the request deadline",
            "9.2.9",
            ex,
        )


@pytest.mark.reversible
@pytest.mark.needs_operator
@pytest.mark.bview_rule("email-snapshot-attached")
def test_event_mail_has_snapshot(bview, bview_motion, bview_smtp_receiver: SmtpReceiver) -> None:
    """9.1.3: with AttachedSnapshot true, motion mail carries a JPEG picture (Trigger Mail, 9.7.1.3.1)."""
    r = bview_smtp_receiver
    with mail_to(bview, r.host, r.port, AttachedSnapshot="true"), motion_armed(bview, "Mail"):
        bview_motion()
        got = r.wait()
        ex = bview.client.exchanges[-1]
        expect(got, "sent no event mail after motion", "Trigger Mail sends a message", "9.7.1.3.1", ex)
        jpegs = [p for t, p in got[0].attachments() if t == "image/jpeg" and p[:3] == b"\xff\xd8\xff"]
        expect(
            jpegs,
            f"attached {[t for t, _ in got[0].attachments()] or 'nothing'}",
            "a JPEG snapshot attachment (AttachedSnapshot true)",
            "9.1.3",
            ex,
        )


@pytest.mark.reversible
@pytest.mark.needs_operator
@pytest.mark.bview_rule("email-schedule")
def test_event_mail_follows_schedule(bview, bview_motion, bview_smtp_receiver: SmtpReceiver) -> None:
    """9.1.3: with AllDay false only active TimeBlocks (48 half-hours a day) send event mail."""
    r = bview_smtp_receiver
    inactive = {"AllDay": "false", "TimeBlockList": week_around_now(bview, "TimeBlock", active_now=False)}
    with mail_to(bview, r.host, r.port, Schedule=inactive), motion_armed(bview, "Mail"):
        bview_motion()
        got = r.quiet(max(0.5, 2.0 * bview.settings.time_scale))
        expect(
            not got,
            "sent event mail in an inactive TimeBlock",
            "no mail outside the schedule",
            "9.1.3",
            bview.client.exchanges[-1],
        )
    active = {"AllDay": "false", "TimeBlockList": week_around_now(bview, "TimeBlock", active_now=True)}
    with mail_to(bview, r.host, r.port, Schedule=active), motion_armed(bview, "Mail"):
        bview_motion()
        got = r.wait()
        expect(
            got,
            "sent no event mail in an active TimeBlock",
            "mail inside the schedule",
            "9.1.3",
            bview.client.exchanges[-1],
        )
