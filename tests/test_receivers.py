"""The plugin's receivers (pytest_bview/receivers.py): they really receive, wait with a deadline, and stop."""

from __future__ import annotations

import ftplib
import io
import smtplib
import socket
import time
import urllib.request
from email.message import EmailMessage

import pytest

from pytest_bview.receivers import FtpReceiver, HttpReceiver, SmtpReceiver, free_port


def _refused(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex((host, port)) != 0


def test_http_receiver_records_requests() -> None:
    with HttpReceiver() as r:
        with urllib.request.urlopen(f"{r.url}/motion/test.asp?eventfile=H_1.avi&camip=10.0.0.9", timeout=5) as resp:
            assert resp.status == 200
        got = r.wait()
        assert len(got) == 1
        assert got[0].path == "/motion/test.asp"
        assert got[0].query == {"eventfile": ["H_1.avi"], "camip": ["10.0.0.9"]}
        port = r.port
    assert _refused("127.0.0.1", port), "the HTTP receiver still listens after stop()"


def test_wait_honours_its_deadline() -> None:
    with HttpReceiver() as r:
        started = time.monotonic()
        assert r.wait(timeout=0.3) == []
        assert 0.25 <= time.monotonic() - started < 2.0


def test_double_start_refused() -> None:
    r = HttpReceiver().start()
    try:
        with pytest.raises(RuntimeError):
            r.start()
    finally:
        r.stop()
    r.stop()  # stopping twice is harmless


def test_smtp_receiver_auth_login_and_attachment() -> None:
    with SmtpReceiver() as r:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "cam@x.test", "a@x.test", "t"
        msg.set_content("hello")
        msg.add_attachment(b"\xff\xd8\xff\xe0jpeg", maintype="image", subtype="jpeg", filename="s.jpg")
        with smtplib.SMTP(r.host, r.port, timeout=5) as s:
            s.ehlo()
            s.user, s.password = "cam@x.test", "pw"
            s.auth("LOGIN", s.auth_login, initial_response_ok=False)
            s.send_message(msg, to_addrs=["a@x.test", "b@x.test"])
        got = r.wait()
        assert got[0].mail_from == "cam@x.test"
        assert got[0].rcpt_tos == ("a@x.test", "b@x.test")
        assert got[0].auth == ("LOGIN", "cam@x.test", "pw")
        assert got[0].attachments() == [("image/jpeg", b"\xff\xd8\xff\xe0jpeg")]
        port = r.port
    assert _refused("127.0.0.1", port)


def test_ftp_receiver_stores_uploads() -> None:
    with FtpReceiver() as r:
        with ftplib.FTP() as ftp:
            ftp.connect(r.host, r.port, timeout=5)
            ftp.login(r.user, r.password)
            ftp.mkd("events")
            ftp.cwd("events")
            ftp.storbinary("STOR P_1.jpg", io.BytesIO(b"picture"))
        got = r.wait()
        assert [u.path for u in got] == ["events/P_1.jpg"]
        assert r.read(got[0]) == b"picture"
        r.clear()
        assert r.items == [] and not any(r.root.iterdir())
        root, port = r.root, r.port
    assert not root.exists(), "the FTP receiver's directory outlives it"
    assert _refused("127.0.0.1", port)


def test_ftp_receiver_refuses_wrong_password() -> None:
    with FtpReceiver() as r, ftplib.FTP() as ftp:
        ftp.connect(r.host, r.port, timeout=5)
        with pytest.raises(ftplib.error_perm):
            ftp.login(r.user, "wrong")


def test_free_port_is_free() -> None:
    assert _refused("127.0.0.1", free_port("127.0.0.1"))


def test_receivers_wired_into_a_session(pytester: pytest.Pytester) -> None:
    """The fixtures start lazily, hand a cleared receiver to each test and stop with the session."""
    pytester.makepyfile(
        """
        import urllib.request
        from pytest_bview import receivers

        def test_one(bview_http_receiver):
            urllib.request.urlopen(bview_http_receiver.url + "/a", timeout=5).read()
            assert len(bview_http_receiver.wait()) == 1

        def test_two(bview_http_receiver):
            assert bview_http_receiver.items == []   # emptied between tests
            assert bview_http_receiver.host == "127.0.0.1"

        def test_last():
            assert len(receivers._RUNNING) == 1
        """
    )
    rec = pytester.inline_run("-p", "no:cacheprovider", "-q")
    rec.assertoutcome(passed=3)
    from pytest_bview import receivers

    assert receivers._RUNNING == [], "a receiver outlived its session"  # noqa: SLF001


def test_callback_host_option_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--help")
    result.stdout.fnmatch_lines(["*--bview-callback-host*"])
