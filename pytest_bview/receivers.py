"""Receivers for the camera's outbound channels: an HTTP, an SMTP and an FTP server on the test machine.

The camera is configured to call these, triggered, and what arrives is checked -- the way a lab
verifies a camera (spec 9.10.3 notify, 9.13 alarm server, 9.1.3 / 9.2.9 email, 9.1.6 FTP).

Rule 1: a receiver binds port 0 on the callback host and reads its real port back; it is started
        once per session (lazily, by the first test that asks) and stopped at session end, also
        by `pytest_unconfigure` if a fixture's teardown never ran.
Rule 2: the callback host is `--bview-callback-host`; with the built-in camera it defaults to
        127.0.0.1; with a real camera and no such option the tests that need a receiver skip.
Rule 3: waiting for a callback has a stated deadline (CALLBACK_TIMEOUT_S, or what the test adds for
        a device-imposed wait) and returns what arrived; the test judges it. Nothing waits forever.
Rule 4: motion cannot be caused by software on a real camera: `inject_motion` drives the built-in
        camera's /_sim/motion control and skips otherwise (tests carry the `needs_operator` marker).
"""

from __future__ import annotations

import contextlib
import http.server
import logging
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest

from pytest_bview.spec.facts import GRID_COLUMNS, GRID_ROWS

POST_RECORD_WALL_S = 0.1  # the DelayRecord the checks configure lasts at least this long in wall time
MOTION_HOLD_WALL_S = 0.6  # injected motion lasts at least this long in wall time unless a check says otherwise
CALLBACK_TIMEOUT_S = 10.0  # how long a check waits for a callback the camera owes (plus device-imposed waits)
LOOPBACK = "127.0.0.1"
FTP_USER, FTP_PASSWORD = "bview", "bview-ftp"
T = TypeVar("T")
_RUNNING: list[Any] = []  # receivers started and not yet stopped (Rule 1)


class Receiver(Generic[T]):
    """What arrived, in order, with a condition to wait on."""

    kind = "receiver"

    def __init__(self, host: str = LOOPBACK) -> None:
        self.host = host
        self.port = 0
        self._items: list[T] = []
        self._cond = threading.Condition()
        self._started = False

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> Receiver[T]:
        if self._started:
            raise RuntimeError(f"{self.kind} receiver already started")
        self._start()
        self._started = True
        _RUNNING.append(self)
        return self

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        with contextlib.suppress(ValueError):
            _RUNNING.remove(self)
        self._stop()

    def _start(self) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Receiver[T]:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what arrived ---------------------------------------------------------------------------
    def record(self, item: T) -> None:
        with self._cond:
            self._items.append(item)
            self._cond.notify_all()

    @property
    def items(self) -> list[T]:
        with self._cond:
            return list(self._items)

    def clear(self) -> None:
        with self._cond:
            self._items.clear()

    def wait(self, predicate: Callable[[list[T]], bool] | None = None, timeout: float = CALLBACK_TIMEOUT_S) -> list[T]:
        """Block until `predicate(items)` holds (default: anything arrived) or `timeout` passes; return the items."""
        predicate = predicate or bool
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(list(self._items)):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return list(self._items)

    def quiet(self, seconds: float) -> list[T]:
        """Wait `seconds` whatever arrives, then return the items (to show that nothing came)."""
        return self.wait(lambda items: False, seconds)


# -- HTTP -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str  # without the query
    query: dict[str, list[str]]
    raw_query: str
    headers: dict[str, str]
    client: str
    at: float  # time.monotonic() of arrival

    @property
    def target(self) -> str:
        return self.path + (f"?{self.raw_query}" if self.raw_query else "")


class HttpReceiver(Receiver[HttpRequest]):
    """Records every request and answers 200 "OK" (notify URL 9.10.3, alarm server 9.13)."""

    kind = "HTTP"

    def _start(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if 0 < length <= 1 << 20:
                    self.rfile.read(length)
                parts = urlsplit(self.path)
                receiver.record(
                    HttpRequest(
                        self.command,
                        parts.path,
                        parse_qs(parts.query, keep_blank_values=True),
                        parts.query,
                        {k: v for k, v in self.headers.items()},
                        self.client_address[0],
                        time.monotonic(),
                    )
                )
                body = b"OK"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_HEAD = _any  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = http.server.ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.2,), daemon=True)
        self._thread.start()

    def _stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


# -- SMTP -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    auth: tuple[str, str, str] | None  # (mechanism, login, password) when the client authenticated
    at: float

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]

    def attachments(self) -> list[tuple[str, bytes]]:
        """(content type, payload) of every attachment."""
        out = []
        for part in self.message.iter_attachments():
            payload = part.get_payload(decode=True)
            out.append((part.get_content_type(), payload if isinstance(payload, bytes) else b""))
        return out


class SmtpReceiver(Receiver[Mail]):
    """aiosmtpd on a thread; offers AUTH LOGIN and PLAIN without TLS and accepts any credentials."""

    kind = "SMTP"

    def _start(self) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                auth = session.auth_data if isinstance(session.auth_data, tuple) else None
                receiver.record(
                    Mail(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content), auth, time.monotonic())
                )
                return "250 Message accepted for delivery"

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
            login = getattr(auth_data, "login", b"") or b""
            password = getattr(auth_data, "password", b"") or b""
            return AuthResult(success=True, auth_data=(mechanism, login.decode(), password.decode()))

        self.port = free_port(self.host)
        self._controller = Controller(
            Handler(),
            hostname=self.host,
            port=self.port,
            authenticator=authenticator,
            auth_require_tls=False,
            ready_timeout=10.0,
        )
        self._controller.start()

    def _stop(self) -> None:
        self._controller.stop()


# -- FTP ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    path: str  # relative to the FTP root, with "/" separators
    size: int
    at: float


class FtpReceiver(Receiver[Upload]):
    """pyftpdlib, threaded, on a temporary directory; user FTP_USER / FTP_PASSWORD may do anything."""

    kind = "FTP"

    def __init__(self, host: str = LOOPBACK) -> None:
        super().__init__(host)
        self.user, self.password = FTP_USER, FTP_PASSWORD
        self.root = Path()

    def _start(self) -> None:
        import warnings

        with warnings.catch_warnings():  # pyftpdlib 2 still imports asyncore/asynchat on 3.11
            warnings.simplefilter("ignore", DeprecationWarning)
            from pyftpdlib.authorizers import DummyAuthorizer
            from pyftpdlib.handlers import FTPHandler
            from pyftpdlib.servers import ThreadedFTPServer

        logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
        self.root = Path(tempfile.mkdtemp(prefix="bview-ftp-"))
        authorizer = DummyAuthorizer()
        authorizer.add_user(self.user, self.password, str(self.root), perm="elradfmwMT")
        receiver = self

        class Handler(FTPHandler):
            def on_file_received(self, file: str) -> None:
                rel = Path(file).resolve().relative_to(receiver.root.resolve()).as_posix()
                receiver.record(Upload(rel, Path(file).stat().st_size, time.monotonic()))

        Handler.authorizer = authorizer
        Handler.timeout = 30
        self._server = ThreadedFTPServer((self.host, 0), Handler)
        self.port = self._server.address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"timeout": 0.2, "handle_exit": False}, daemon=True
        )
        self._thread.start()

    def _stop(self) -> None:
        self._server.close_all()
        self._thread.join(5)
        shutil.rmtree(self.root, ignore_errors=True)

    def clear(self) -> None:
        super().clear()
        for child in self.root.iterdir():
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)

    def read(self, upload: Upload) -> bytes:
        return (self.root / upload.path).read_bytes()


def free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# -- fixtures -------------------------------------------------------------------------------------


def callback_host(target: Any) -> str:
    """Rule 2: where the receivers listen, or a skip when a real camera could not reach them."""
    host = getattr(target.settings, "callback_host", None)
    if host:
        return host
    if target.sim is not None:
        return LOOPBACK
    pytest.skip("needs --bview-callback-host: an address of this machine the camera can reach (receivers bind there)")


def _serve(factory: Callable[[str], Receiver[Any]], target: Any) -> Iterator[Receiver[Any]]:
    with factory(callback_host(target)) as receiver:
        yield receiver


@pytest.fixture(scope="session")
def _bview_http_server(bview: Any) -> Iterator[Receiver[Any]]:
    yield from _serve(HttpReceiver, bview)


@pytest.fixture(scope="session")
def _bview_smtp_server(bview: Any) -> Iterator[Receiver[Any]]:
    yield from _serve(SmtpReceiver, bview)


@pytest.fixture(scope="session")
def _bview_ftp_server(bview: Any) -> Iterator[Receiver[Any]]:
    yield from _serve(FtpReceiver, bview)


@pytest.fixture
def bview_http_receiver(_bview_http_server: HttpReceiver) -> HttpReceiver:
    """The session's HTTP receiver (notify URL, alarm server), emptied for this test."""
    _bview_http_server.clear()
    return _bview_http_server


@pytest.fixture
def bview_smtp_receiver(_bview_smtp_server: SmtpReceiver) -> SmtpReceiver:
    """The session's SMTP receiver (AUTH LOGIN offered, any credentials accepted), emptied for this test."""
    _bview_smtp_server.clear()
    return _bview_smtp_server


@pytest.fixture
def bview_ftp_receiver(_bview_ftp_server: FtpReceiver) -> FtpReceiver:
    """The session's FTP receiver (user FTP_USER / FTP_PASSWORD), its directory emptied for this test."""
    _bview_ftp_server.clear()
    return _bview_ftp_server


def pytest_unconfigure(config: pytest.Config) -> None:
    for receiver in list(_RUNNING):
        receiver.stop()


# -- motion (Rule 4) -----------------------------------------------------------------------------

OPERATOR_REASON = (
    "needs an operator: a real camera cannot be made to see motion by software "
    "(run against the built-in camera, or walk through the detection area in a supervised run)"
)


@dataclass
class MotionResult:
    detected: bool
    reason: str
    raw: dict[str, Any] = field(default_factory=dict)


def inject_motion(
    target: Any, row: int = 0, col: int = 0, *, size: str = "large", hold_s: float | None = None
) -> MotionResult:
    """Make the reference camera see motion in RegionsV2 cell (row, col) through its lab (lab.py); skip on a real
    camera."""
    lab = target.lab
    if lab is None:
        pytest.skip(OPERATOR_REASON)
    # sent, so the kit knows when the motion ends: 60 camera seconds at the suites' 0.01, 10 at real timing
    hold = target.settings.device_seconds(MOTION_HOLD_WALL_S, least=10) if hold_s is None else hold_s
    raw = lab.motion(row, col, size=size, hold_s=hold)
    if raw.get("detected"):
        ends = time.monotonic() + hold * target.settings.time_scale
        target.motion_until = max(target.motion_until, ends)
    return MotionResult(bool(raw.get("detected")), str(raw.get("reason", "")), raw)


def post_record_s(target: Any) -> int:
    """The DelayRecord (9.10: 1-120 s) a check configures: 10 s at the suites' 0.01 (0.1 s of wall time),
    the spec's least, 1 s, at real timing (Settings.device_seconds)."""
    return target.settings.device_seconds(POST_RECORD_WALL_S, least=1, most=120)


# -- arming the camera: the configuration a lab sets before triggering it --------------------------

ALL_CELLS = "1" * GRID_COLUMNS  # one RegionsV2 row, every cell on
WHOLE_DAY = "1" * 48  # one weekday of 48 half-hour blocks
TRIGGERS = ("NotifyAMS", "BeepAlert", "FullScreen", "Mail", "AlarmOut", "Snapshot", "Record", "PTZ")
SUBSCRIPTIONS = "/EventsNotification/SubscribedEventTypeList"
EVENTS = "/EventsNotification/EventList"


def motion_path(target: Any, part: str = "") -> str:
    return f"/Pictures/{target.settings.channel}/Motion" + (f"/{part}" if part else "")


def device_clock(target: Any) -> tuple[int, int]:
    """(weekday with 0 = Sunday, half-hour block 0-47) of the device's own clock (9.2.1 SystemTime)."""
    import datetime as dt
    import re

    doc, _ = target.read("/System/Time")
    m = re.match(r"(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2})", str(doc.get("SystemTime", "")).strip())
    if m is None:
        raise AssertionError(f"/System/Time SystemTime {doc.get('SystemTime')!r} is not ISO 8601 (9.2.1)")
    y, mo, d, h, mi = (int(g) for g in m.groups())
    return (dt.date(y, mo, d).weekday() + 1) % 7, h * 2 + mi // 30


def week_around_now(target: Any, prefix: str, *, active_now: bool) -> dict[str, str]:
    """Seven rows of 48 blocks where only the current and the next block differ from the rest."""
    day, block = device_clock(target)
    on, off = ("1", "0") if active_now else ("0", "1")
    rows = {d: [off] * 48 for d in range(7)}
    nxt = (day, block + 1) if block < 47 else ((day + 1) % 7, 0)
    for d, b in ((day, block), nxt):
        rows[d][b] = on
    return {f"{prefix}_{d}": "".join(r) for d, r in rows.items()}


def trigger_doc(target: Any, *enabled: str) -> dict[str, Any]:
    """The Trigger block with exactly `enabled` actions switched on (masks kept as the device has them)."""
    doc, _ = target.read(motion_path(target, "Trigger"))
    for name in TRIGGERS:
        section = dict(doc.get(name) or {})
        section["Enable"] = "true" if name in enabled else "false"
        doc[name] = section
    return doc


@contextlib.contextmanager
def motion_armed(
    target: Any,
    *triggers: str,
    sensitive: str = "high",
    regions: dict[str, str] | None = None,
    schedule: dict[str, Any] | None = None,
    enable: bool = True,
) -> Iterator[None]:
    """Motion detection on (9.7.1.2), every cell (9.7.1.3), all week (9.7.1.3.2), `triggers` on; restored after."""
    with target.preserved(motion_path(target)):
        target.write(motion_path(target), {"Enable": "true" if enable else "false", "Sensitive": sensitive})
        target.write(motion_path(target, "RegionsV2"), regions or {f"RegionX_{r}": ALL_CELLS for r in range(GRID_ROWS)})
        target.write(
            motion_path(target, "Schedule"),
            schedule or {"AllDay": "true", "TimeBlock": {f"Block_{d}": WHOLE_DAY for d in range(7)}},
        )
        target.write(motion_path(target, "Trigger"), trigger_doc(target, *triggers))
        yield


def subscriptions(target: Any) -> set[str]:
    doc, _ = target.read(SUBSCRIPTIONS)
    items = doc.get("SubscribedEventType") or []
    return {str(i.get("EventType")) for i in ([items] if isinstance(items, dict) else items)}


def subscription_body(*types: str) -> bytes:
    from pytest_bview.protocol.xmlblocks import to_xml
    from pytest_bview.spec.blocks import BLOCKS

    doc = {
        "SubscribedEventType": [
            {"ID": str(i), "EventType": t, "EventTypeDescription": t} for i, t in enumerate(types, start=1)
        ]
    }
    return to_xml(BLOCKS["SubscribedEventTypeList"], doc)


@contextlib.contextmanager
def subscribed(target: Any, *types: str, only: bool = False) -> Iterator[None]:
    """Subscribe `types` (9.9.1); with `only`, drop the others first. The original set is restored after."""
    from pytest_bview.checks import check_status

    before = subscriptions(target)
    try:
        if only and before - set(types):
            check_status(
                target.client.request("DELETE", SUBSCRIPTIONS, subscription_body(*(before - set(types)))), 0, "9.9.1"
            )
        if types:
            check_status(target.client.put(SUBSCRIPTIONS, subscription_body(*types)), 0, "9.9.1")
        yield
    finally:
        now = subscriptions(target)
        if now - before:
            target.client.request("DELETE", SUBSCRIPTIONS, subscription_body(*(now - before)))
        if before - now:
            target.client.put(SUBSCRIPTIONS, subscription_body(*(before - now)))


def events(target: Any) -> list[dict[str, Any]]:
    """The EventList's events (9.9.2); the caller must have subscribed."""
    doc, _ = target.read(EVENTS)
    items = doc.get("Event") or []
    return [items] if isinstance(items, dict) else list(items)


@pytest.fixture
def bview_motion(bview: Any) -> Callable[..., MotionResult]:
    """`bview_motion(row, col, size=..., hold_s=...)` makes the built-in camera see motion; skips at once on a real one."""
    if bview.lab is None:
        pytest.skip(OPERATOR_REASON)
    return lambda *args, **kw: inject_motion(bview, *args, **kw)
