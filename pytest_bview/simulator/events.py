"""The reference camera's events and outbound channels: subscriptions, motion, HTTP notify, alarm
server, email and FTP (spec 9.9, 9.7.1.2-9.7.1.3.2, 9.10, 9.13, 9.1.3, 9.2.9, 9.1.6).

Rule 1: motion is seen only when Motion Enable is true, the weekly Schedule allows the current
        half-hour (AllDay, or Block_<weekday>[hour*2 + minute//30] == "1", Block_0 = Sunday),
        the RegionsV2 cell (row R of 12, column C of 14) is "1", and the motion is at least as
        large as Sensitive asks (high: any, middle: medium or large, low: large).
Rule 2: seen motion sets DeviceStatus MotionState for a while, lists a VMD event in EventList
        when VMD is subscribed (ERRATA.md L21), and runs the Trigger actions that apply:
        NotifyAMS -> the alarm server (9.13: base64 ServerURL and Message, Basic credentials,
        AlarmInterval), Mail -> event mail (9.1.3: Email Schedule, AttachedSnapshot),
        Snapshot / Record -> FTP upload by TransferContentTypeMask (9.1.6).
Rule 3: PUT /Record/HttpEvent/Call records PreRecord + DelayRecord seconds into
        /download/video/H_<YYYYMMDDhhmmss>_<n>.avi, then requests
        http://<Host>:<Port><Path>?eventfile=<file>&camip=<camera IP> (9.10.2, 9.10.3);
        with HttpEventConfig Enable false nothing is recorded (-12, ERRATA.md L22).
Rule 4: every outbound call has a deadline (OUTBOUND_TIMEOUT_S); an unreachable server costs a
        statusCode or a log line, never a hang. Blocking clients (smtplib, ftplib) run in an executor.
Rule 5: the reference camera calls out only to loopback addresses (127.0.0.0/8, ::1, localhost):
        configuration tests store arbitrary addresses and nothing may ever be sent there. A lab that
        runs bview-sim against receivers elsewhere sets BVIEW_SIM_OUTBOUND to a comma-separated
        list of the other addresses it may call (or "any"). A redirect is never followed (its target
        would escape this rule, and the request carries credentials); SMTP STARTTLS checks the server's
        certificate and name against the system's CAs (or the file BVIEW_SIM_SMTP_CA names): an
        unverified server gets no password and no message (-8).

Simulator-only control (never part of the spec, README "/_sim/"):
    POST /_sim/motion?region=R,C[&size=small|medium|large][&hold=SECONDS]
answers JSON {"detected": bool, "reason": str}; `hold` (device seconds, scaled) is how long the
motion lasts (default MOTION_HOLD_S).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import ftplib
import io
import ipaddress
import json
import logging
import os
import smtplib
import ssl
import time
import weakref
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from pytest_bview.simulator import extensions
from pytest_bview.simulator import faults as F
from pytest_bview.simulator import http as sim_http
from pytest_bview.simulator.config import ApiError, Doc, decode, parse_xml
from pytest_bview.simulator.device import COMPUTED, Caller, Device, computed
from pytest_bview.simulator.http import CAMERA, Ctx, handles, status_response, xml_response
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.facts import ALARM_INTERVAL_DEFAULT_S, GRID_COLUMNS, GRID_ROWS
from pytest_bview.spec.status import Status

if TYPE_CHECKING:
    from pytest_bview.simulator.camera import Camera

log = logging.getLogger("bview.sim.events")

OUTBOUND_TIMEOUT_S = 5.0  # one outbound call (HTTP, SMTP, FTP); below the suite's 10 s request deadline
MOTION_HOLD_S = 60.0  # how long injected motion lasts, in device seconds (scaled)
MAX_EVENTS = 100  # EventList keeps the newest events
SIZES = {"small": 1, "medium": 2, "large": 3}
SENSITIVE_MIN_SIZE = {"high": 1, "middle": 2, "low": 3}
EVENT_TYPES = ("VMD", "videolost", "AlarmIn")
DESCRIPTIONS = {"VMD": "Motion detection", "videolost": "Video lost", "AlarmIn": "Alarm input"}
SUBS = "/EventsNotification/SubscribedEventTypeList"


def _declare(name: str, section: str, doc: str, breaks: str, *cases: str) -> str:
    return F.declare(name, section, doc, breaks, cases)


# -- fault profiles, one rule each --------------------------------------------------------------
SUB_IGNORED = _declare(
    "events-subscription-ignored",
    "9.9.1",
    "PUT SubscribedEventTypeList answers 0 but subscribes nothing",
    "events-subscribe",
)
UNSUB_IGNORED = _declare(
    "events-unsubscribe-ignored",
    "9.9.1",
    "DELETE SubscribedEventTypeList answers 0 but keeps the subscription",
    "events-unsubscribe",
)
LIST_UNSUBSCRIBED = _declare(
    "events-list-without-subscription",
    "9.9.2",
    "EventList answers an empty list before any subscription instead of -12 (ERRATA.md L21)",
    "events-list-needs-subscription",
)
NOT_DELIVERED = _declare(
    "events-not-delivered",
    "9.9.2",
    "motion is detected but no event reaches EventList",
    "events-motion-listed",
)
FIELD_MISSING = _declare(
    "events-field-missing",
    "9.9.2",
    "events in EventList lack <DateTime> and <Port>",
    "events-fields",
)
TYPE_FILTER_IGNORED = _declare(
    "events-type-filter-ignored",
    "9.9.1",
    "events of a type nobody subscribed are listed",
    "events-type-filter",
)
STATE_STUCK = _declare(
    "motion-state-stuck",
    "9.2.5.1",
    "DeviceStatus MotionState stays false while motion is seen",
    "motion-state",
)
ENABLE_IGNORED = _declare(
    "motion-enable-ignored",
    "9.7.1.2",
    "motion is detected although Motion Enable is false",
    "motion-enable",
)
REGIONS_IGNORED = _declare(
    "motion-regions-ignored",
    "9.7.1.3",
    "motion in a RegionsV2 cell set to 0 is detected",
    "motion-regions",
)
SENSITIVITY_IGNORED = _declare(
    "motion-sensitivity-ignored",
    "9.7.1.2",
    "Sensitive low still detects small motion",
    "motion-sensitivity",
)
SCHEDULE_IGNORED = _declare(
    "motion-schedule-ignored",
    "9.7.1.3.2",
    "motion is detected in a half-hour block the Schedule leaves inactive",
    "motion-schedule",
)
NOTIFY_NOT_SENT = _declare(
    "notify-not-sent",
    "9.10.3",
    "HttpEvent/Call records but never requests the Notify URL",
    "notify-request",
)
NOTIFY_WRONG_QUERY = _declare(
    "notify-wrong-query",
    "9.10.3",
    "the notify request says file=event_<n>.avi without camip instead of eventfile=H_<time>_<n>.avi&camip=",
    "notify-request",
)
POST_RECORD_IGNORED = _declare(
    "record-post-record-ignored",
    "9.10.2",
    "the event file is closed and notified at once, without the DelayRecord post-recording",
    "record-pre-and-post",
)
FILE_NOT_SAVED = _declare(
    "record-file-not-saved",
    "9.10.2",
    "the notified event file is not in /download/video/",
    "record-file-saved",
)
DISABLED_IGNORED = _declare(
    "record-disabled-ignored",
    "9.10.1",
    "HttpEvent/Call records and notifies although HttpEventConfig Enable is false",
    "record-disabled",
)
AMS_NOT_CALLED = _declare(
    "alarm-not-called",
    "9.13.1",
    "motion with NotifyAMS never calls the alarm server",
    "alarm-server-called",
)
AMS_RAW_BASE64 = _declare(
    "alarm-base64-not-decoded",
    "9.13.2",
    "the alarm request's path is the base64 text of Message, not its decoded value",
    "alarm-message-base64",
)
AMS_NO_AUTH = _declare(
    "alarm-no-credentials",
    "9.13.1",
    "the alarm request carries no Basic credentials although UserName/Password are set",
    "alarm-basic-credentials",
)
AMS_INTERVAL_IGNORED = _declare(
    "alarm-interval-ignored",
    "9.13.2",
    "every motion calls the alarm server, AlarmInterval is ignored",
    "alarm-interval",
)
AMS_TRIGGER_IGNORED = _declare(
    "alarm-trigger-ignored",
    "9.7.1.3.1",
    "the alarm server is called although Trigger NotifyAMS is disabled",
    "motion-trigger-notify-ams",
)
MAIL_NOT_SENT = _declare(
    "email-test-not-sent",
    "9.2.9",
    "SendTestEmail answers 0 but sends nothing",
    "email-test-message",
)
MAIL_FIRST_ONLY = _declare(
    "email-first-receiver-only",
    "9.2.9",
    "mail goes to the first Receiver only",
    "email-test-message",
)
MAIL_NO_LOGIN = _declare(
    "email-auth-ignored",
    "9.1.3",
    "SMTPAuthMethod Login is configured but the camera never authenticates",
    "email-smtp-auth-login",
)
MAIL_UNREACHABLE_OK = _declare(
    "email-unreachable-ok",
    "9.2.9",
    "SendTestEmail answers 0 when the SMTP server cannot be reached",
    "email-test-failure-status",
)
MAIL_NO_ATTACHMENT = _declare(
    "email-attachment-missing",
    "9.1.3",
    "event mail has no JPEG attachment although AttachedSnapshot is true",
    "email-snapshot-attached",
)
MAIL_SCHEDULE_IGNORED = _declare(
    "email-schedule-ignored",
    "9.1.3",
    "event mail goes out in a half-hour block the Email Schedule leaves inactive",
    "email-schedule",
)
FTP_STATUS_STATIC = _declare(
    "ftp-status-static",
    "9.1.6",
    "FTP Status says connected whenever Enable is true, whether the login works or not",
    "ftp-status",
)
FTP_MASK_IGNORED = _declare(
    "ftp-mask-ignored",
    "9.1.6",
    "pictures and video are uploaded whatever TransferContentTypeMask says",
    "ftp-content-mask",
)
FTP_DIR_IGNORED = _declare(
    "ftp-directory-ignored",
    "9.1.6",
    "uploads land in the FTP root, not in StorageDirectory",
    "ftp-storage-directory",
)


# -- helpers --------------------------------------------------------------------------------------


def b64text(text: str) -> str:
    """9.13: ServerURL and Message are base64; a value that is not decodes as itself."""
    try:
        return base64.b64decode(text.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return text


def schedule_allows(device: Device, all_day: str, blocks: dict[str, str], prefix: str) -> bool:
    """A weekly schedule of 48 half-hour blocks per day, index 0 = Sunday (9.7.1.3.2, 9.1.3)."""
    if str(all_day).lower() == "true":
        return True
    now = device.now()
    day = (now.weekday() + 1) % 7
    row = str(blocks.get(f"{prefix}_{day}", ""))
    slot = now.hour * 2 + now.minute // 30
    return len(row) > slot and row[slot] == "1"


def outbound_allowed(host: str) -> None:
    """Rule 5: raise OSError (as an unreachable server would) unless `host` may be called."""
    host = host.strip().strip("[]")
    allowed = {h.strip() for h in os.environ.get("BVIEW_SIM_OUTBOUND", "").split(",") if h.strip()}
    if host == "localhost" or "any" in allowed or host in allowed:
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise OSError(f"outbound calls to {host!r} are not allowed (loopback only; see BVIEW_SIM_OUTBOUND)")


def smtp_tls_context() -> ssl.SSLContext:
    """Rule 5: a verifying client context, with the CA file BVIEW_SIM_SMTP_CA names (a lab's own CA) if set."""
    return ssl.create_default_context(cafile=os.environ.get("BVIEW_SIM_SMTP_CA") or None)


def ftp_key(ftp: Doc) -> tuple[str, ...]:
    """What FTP Status depends on: a status is known per configuration, so it reads the same after a restore."""
    return tuple(str(ftp.get(k, "")) for k in ("Enable", "IPAddress", "Port", "UserName", "Password"))


def camera_ip(device: Device) -> str:
    doc = device.store.get("/Network/Interfaces/1/IPAddress") or {}
    return str(doc.get("ipAddress") or device.identity.ip)


def fake_avi(pre_s: int, post_s: int) -> bytes:
    """A small RIFF/AVI container naming the pre- and post-record seconds it combines."""
    note = json.dumps({"pre_record_s": pre_s, "post_record_s": post_s}).encode()
    note += b"\0" * (len(note) % 2)
    chunk = b"JUNK" + len(note).to_bytes(4, "little") + note
    return b"RIFF" + (4 + len(chunk)).to_bytes(4, "little") + b"AVI " + chunk


def snapshot() -> bytes:
    """A JPEG of the test picture (the media engine's when present, else a small Pillow image)."""
    try:
        from pytest_bview.simulator.media import VideoSettings, snapshot_jpeg

        return snapshot_jpeg(VideoSettings(width=640, height=360))
    except ImportError:
        from PIL import Image

        out = io.BytesIO()
        Image.new("RGB", (64, 36), (40, 90, 160)).save(out, format="JPEG")
        return out.getvalue()


# -- the engine, one per camera -------------------------------------------------------------------

ENGINES: weakref.WeakKeyDictionary[Device, EventEngine] = weakref.WeakKeyDictionary()


class EventEngine:
    """Run-time state the spec computes, not stores: events, motion, recordings, outbound calls."""

    def __init__(self, camera: Camera) -> None:
        self.camera = camera
        self.device: Device = camera.live
        self.faults = camera.faults
        self.events: list[Doc] = []
        self.next_event = 1
        self.motion_until = 0.0
        self.recording: dict[str, float] = {}  # RecordState value -> monotonic end
        self.last_alarm = float("-inf")
        self.file_seq = 0
        self.files: dict[str, bytes] = {}  # /download/video/<name>
        self.ftp_status: dict[tuple[str, ...], str] = {}  # ftp_key -> "connected" / "not connect"
        self._tasks: set[asyncio.Task[Any]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._loop = asyncio.get_running_loop()
        self.device.listeners.append(self._on_commit)
        ENGINES[self.device] = self

    # -- lifecycle ------------------------------------------------------------------------------
    def spawn(self, coro: Any) -> None:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None
        with contextlib.suppress(ValueError):
            self.device.listeners.remove(self._on_commit)

    def _on_commit(self, key: str, doc: Doc) -> None:
        # called from the executor thread that committed the PUT
        if key == "/Network/FTP":
            self._loop.call_soon_threadsafe(self.spawn, self.check_ftp())

    async def http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=OUTBOUND_TIMEOUT_S))
        return self._session

    def cfg(self, key: str) -> Doc:
        return self.device.store.get(key) or {}

    # -- 9.9 events -------------------------------------------------------------------------------
    def subscribed(self) -> set[str]:
        return {str(s.get("EventType")) for s in self.cfg(SUBS).get("SubscribedEventType", [])}

    def add_event(self, event_type: str, description: str) -> None:
        if event_type not in self.subscribed() and not self.faults.on(TYPE_FILTER_IGNORED):
            return
        if self.faults.on(NOT_DELIVERED):
            return
        event = {
            "ID": str(self.next_event),
            "IPAddress": camera_ip(self.device),
            "Port": str(self.device.http_port),
            "Protocol": "HTTP",
            "ChannelID": "1",
            "DateTime": self.device.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "EventType": event_type,
            "EventDescription": description,
        }
        if self.faults.on(FIELD_MISSING):
            event.pop("DateTime")
            event.pop("Port")
        self.next_event += 1
        self.events = [*self.events, event][-MAX_EVENTS:]

    # -- motion (Rule 1, Rule 2) --------------------------------------------------------------------
    def motion(self, row: int, col: int, size: int, hold_s: float) -> tuple[bool, str]:
        motion = self.cfg("/Pictures/1/Motion")
        if str(motion.get("Enable")).lower() != "true" and not self.faults.on(ENABLE_IGNORED):
            return False, "Motion Enable is false"
        schedule = self.cfg("/Pictures/1/Motion/Schedule")
        if not self.faults.on(SCHEDULE_IGNORED) and not schedule_allows(
            self.device, schedule.get("AllDay", "true"), schedule.get("TimeBlock") or {}, "Block"
        ):
            return False, "the Schedule's current half-hour block is inactive"
        cells = str(self.cfg("/Pictures/1/Motion/RegionsV2").get(f"RegionX_{row}", ""))
        if not (len(cells) > col and cells[col] == "1") and not self.faults.on(REGIONS_IGNORED):
            return False, f"RegionsV2 cell {row},{col} is not set"
        wanted = SENSITIVE_MIN_SIZE.get(str(motion.get("Sensitive")), 2)
        if size < wanted and not self.faults.on(SENSITIVITY_IGNORED):
            return False, f"motion too small for Sensitive {motion.get('Sensitive')}"
        started = time.monotonic() >= self.motion_until
        self.motion_until = max(self.motion_until, time.monotonic() + self.device.scaled(hold_s))
        self.add_event("VMD", f"{DESCRIPTIONS['VMD']} in region {row},{col}")
        if started:  # one log entry (one state write) per motion period, not per detection
            self.device.log_event(5, 401, None)  # alarm: motion detection started
        trigger = self.cfg("/Pictures/1/Motion/Trigger")

        def on(name: str) -> bool:
            return str((trigger.get(name) or {}).get("Enable", "false")).lower() == "true"

        if on("NotifyAMS") or self.faults.on(AMS_TRIGGER_IGNORED):
            self.spawn(self.call_alarm_server())
        if on("Mail"):
            self.spawn(self.event_mail())
        kinds = {k for k, name in (("picture", "Snapshot"), ("video", "Record")) if on(name)}
        if "video" in kinds:
            self.recording["motion"] = time.monotonic() + self.device.scaled(self._post_record_s())
        if kinds:
            self.spawn(self.ftp_event(kinds))
        return True, "motion detected"

    def motion_active(self) -> bool:
        return time.monotonic() < self.motion_until and not self.faults.on(STATE_STUCK)

    def record_state(self) -> str:
        now = time.monotonic()
        active = [state for state, until in self.recording.items() if until > now]
        return active[0] if active else "none"

    # -- 9.13 alarm server -------------------------------------------------------------------------
    async def call_alarm_server(self) -> None:
        ams = self.cfg("/Alarm/AMS/2")
        if str(ams.get("Enable")).lower() != "true" or not ams.get("ServerURL"):
            return
        if self.faults.on(AMS_NOT_CALLED):
            return
        motion = (self.cfg("/Alarm/EventCfgList/2").get("motion")) or {}
        interval = self.device.scaled(float(motion.get("AlarmInterval") or ALARM_INTERVAL_DEFAULT_S))
        now = time.monotonic()
        if now - self.last_alarm < interval and not self.faults.on(AMS_INTERVAL_IGNORED):
            return  # continuous motion: no repeat sooner than AlarmInterval
        self.last_alarm = now
        server = b64text(str(ams["ServerURL"]))
        message = str(motion.get("Message", ""))
        path = message if self.faults.on(AMS_RAW_BASE64) else b64text(message)
        base = server if "://" in server else f"http://{server}"
        url = base.rstrip("/") + "/" + path.lstrip("/")
        auth = None
        if ams.get("UserName") and not self.faults.on(AMS_NO_AUTH):
            pair = f"{ams['UserName']}:{ams.get('Password', '')}".encode()
            auth = "Basic " + base64.b64encode(pair).decode()  # RFC 7617
        await self._get(url, auth)

    async def _get(self, url: str, auth: str | None = None) -> None:
        try:
            outbound_allowed(str(urlsplit(url).hostname or ""))
            session = await self.http()
            headers = {"Authorization": auth} if auth else None
            async with session.get(url, headers=headers, allow_redirects=False) as resp:
                await resp.read()
        except (TimeoutError, OSError, aiohttp.ClientError, ValueError) as exc:
            log.info("outbound request %s failed: %s", url, exc)

    # -- 9.10 event recording and HTTP notify -------------------------------------------------------
    def _post_record_s(self) -> int:
        return int(self.cfg("/Record").get("DelayRecord") or 10)

    async def event_recording(self) -> None:
        record = self.cfg("/Record")
        pre, post = int(record.get("PreRecord") or 5), self._post_record_s()
        self.file_seq += 1
        name = f"H_{self.device.now().strftime('%Y%m%d%H%M%S')}_{self.file_seq:05d}.avi"
        if not self.faults.on(POST_RECORD_IGNORED):
            await asyncio.sleep(self.device.scaled(post))  # the post-event part is still being recorded
        data = fake_avi(pre, post)
        if not self.faults.on(FILE_NOT_SAVED):
            self.files[name] = data
        await asyncio.gather(self.notify(name), self.ftp_upload({"video": (name, data)}))

    async def notify(self, eventfile: str) -> None:
        url = self.cfg("/Record/Notify/URL")
        if not url.get("Host") or self.faults.on(NOTIFY_NOT_SENT):
            return
        path = str(url.get("Path") or "/")
        path = path if path.startswith("/") else "/" + path
        query = f"eventfile={eventfile}&camip={camera_ip(self.device)}"
        if self.faults.on(NOTIFY_WRONG_QUERY):
            query = f"file=event_{self.file_seq}.avi"
        await self._get(f"http://{url['Host']}:{url.get('Port') or 80}{path}?{query}")

    # -- 9.1.3 email ---------------------------------------------------------------------------------
    async def send_mail(self, subject: str, text: str, *, attach: bool) -> None:
        """Send one message to every Receiver; raises ApiError(-8) when the server fails."""
        email = self.cfg("/Network/EMail")
        receivers = [str(r.get("EmailAddress")) for r in (email.get("ReceiverList") or {}).get("Receiver", [])]
        receivers = [r for r in receivers if r]
        if self.faults.on(MAIL_FIRST_ONLY):
            receivers = receivers[:1]
        if not email.get("SMTPServer") or not receivers:
            raise ApiError(Status.INVALID_OPERATION, "configure /Network/EMail first: SMTPServer and a Receiver")
        picture = await self._loop.run_in_executor(None, snapshot) if attach else None
        try:
            await asyncio.wait_for(
                self._loop.run_in_executor(None, self._smtp_send, email, receivers, subject, text, picture),
                OUTBOUND_TIMEOUT_S + 1,
            )
        except (TimeoutError, OSError, smtplib.SMTPException) as exc:
            raise ApiError(Status.SDK_CALL_FAILED, f"SMTP server {email.get('SMTPServer')}: {exc}") from None

    def _smtp_send(self, email: Doc, receivers: list[str], subject: str, text: str, picture: bytes | None) -> None:
        sender = str(email.get("SenderEmailAddress", ""))
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = sender, ", ".join(receivers), subject
        msg.set_content(text)
        if picture is not None:
            msg.add_attachment(picture, maintype="image", subtype="jpeg", filename="snapshot.jpg")
        outbound_allowed(str(email["SMTPServer"]))
        with smtplib.SMTP(str(email["SMTPServer"]), int(email.get("SMTPPort") or 25), timeout=OUTBOUND_TIMEOUT_S) as s:
            s.ehlo()
            if str((email.get("SMTPTLSConfig") or {}).get("SMTPTLS")) == "on":
                s.starttls(context=smtp_tls_context())  # certificate and host name checked (Rule 5)
                s.ehlo()
            if email.get("SMTPAuthMethod") == "Login" and not self.faults.on(MAIL_NO_LOGIN):
                s.user, s.password = sender, str(email.get("SenderEmailPassword", ""))
                s.auth("LOGIN", s.auth_login, initial_response_ok=False)
            s.send_message(msg, from_addr=sender, to_addrs=receivers)

    async def event_mail(self) -> None:
        email = self.cfg("/Network/EMail")
        if str(email.get("Enable")).lower() != "true":
            return
        schedule = email.get("Schedule") or {}
        if not self.faults.on(MAIL_SCHEDULE_IGNORED) and not schedule_allows(
            self.device, schedule.get("AllDay", "true"), schedule.get("TimeBlockList") or {}, "TimeBlock"
        ):
            return
        attach = str(email.get("AttachedSnapshot")).lower() == "true" and not self.faults.on(MAIL_NO_ATTACHMENT)
        try:
            await self.send_mail(
                "Motion detected", f"Motion detected at {self.device.now():%Y-%m-%d %H:%M:%S}", attach=attach
            )
        except ApiError as err:
            log.info("event mail failed: %s", err.detail)

    # -- 9.1.6 FTP ------------------------------------------------------------------------------------
    async def ftp_event(self, kinds: set[str]) -> None:
        stamp = self.device.now().strftime("%Y%m%d%H%M%S")
        self.file_seq += 1
        files: dict[str, tuple[str, bytes]] = {}
        if "picture" in kinds:
            files["picture"] = (f"P_{stamp}_{self.file_seq:05d}.jpg", await self._loop.run_in_executor(None, snapshot))
        if "video" in kinds:
            post = self._post_record_s()
            await asyncio.sleep(self.device.scaled(post))
            name = f"H_{stamp}_{self.file_seq:05d}.avi"
            files["video"] = (name, fake_avi(int(self.cfg("/Record").get("PreRecord") or 5), post))
            self.files[name] = files["video"][1]
        await self.ftp_upload(files)

    async def ftp_upload(self, files: dict[str, tuple[str, bytes]]) -> None:
        ftp = self.cfg("/Network/FTP")
        if str(ftp.get("Enable")).lower() != "true" or not ftp.get("IPAddress"):
            return
        mask = str(ftp.get("TransferContentTypeMask", "00"))
        wanted = {"video"} if mask[:1] == "1" else set()
        wanted |= {"picture"} if mask[1:2] == "1" else set()
        if self.faults.on(FTP_MASK_IGNORED):
            wanted = {"picture", "video"}
        chosen = [f for kind, f in files.items() if kind in wanted]
        if not chosen:
            return
        try:
            await asyncio.wait_for(
                self._loop.run_in_executor(None, self._ftp_store, ftp, chosen), OUTBOUND_TIMEOUT_S * 2
            )
            self.ftp_status[ftp_key(ftp)] = "connected"
        except (TimeoutError, OSError, ftplib.Error, EOFError) as exc:
            self.ftp_status[ftp_key(ftp)] = "not connect"
            log.info("FTP upload to %s failed: %s", ftp.get("IPAddress"), exc)

    def _ftp_session(self, ftp: Doc) -> ftplib.FTP:
        outbound_allowed(str(ftp["IPAddress"]))
        client = ftplib.FTP(timeout=OUTBOUND_TIMEOUT_S)
        client.connect(str(ftp["IPAddress"]), int(ftp.get("Port") or 21))
        try:
            client.login(str(ftp.get("UserName") or "anonymous"), str(ftp.get("Password", "")))
        except BaseException:
            client.close()
            raise
        return client

    def _ftp_store(self, ftp: Doc, files: list[tuple[str, bytes]]) -> None:
        with self._ftp_session(ftp) as client:
            directory = str(ftp.get("StorageDirectory") or "/").strip()
            if directory not in ("", "/") and not self.faults.on(FTP_DIR_IGNORED):
                try:
                    client.cwd(directory)
                except ftplib.error_perm:
                    client.mkd(directory)
                    client.cwd(directory)
            for name, data in files:
                client.storbinary(f"STOR {name}", io.BytesIO(data))

    def _ftp_probe(self, ftp: Doc) -> str:
        try:
            with self._ftp_session(ftp) as client:
                client.voidcmd("NOOP")
            return "connected"
        except (OSError, ftplib.Error, EOFError):
            return "not connect"

    async def check_ftp(self) -> None:
        """Log in once with the new configuration and remember whether it worked (9.1.6 Status)."""
        ftp = self.cfg("/Network/FTP")
        if str(ftp.get("Enable")).lower() != "true" or not ftp.get("IPAddress"):
            return
        self.ftp_status[ftp_key(ftp)] = await self._loop.run_in_executor(None, self._ftp_probe, ftp)

    def ftp_state(self, ftp: Doc) -> str:
        if str(ftp.get("Enable")).lower() != "true":
            return "not connect"
        if self.faults.on(FTP_STATUS_STATIC):
            return "connected"
        return self.ftp_status.get(ftp_key(ftp), "not connect")


def engine(device: Device) -> EventEngine:
    found = ENGINES.get(device)
    if found is None:
        raise ApiError(Status.SDK_CALL_FAILED, "the event engine is not running")
    return found


async def _start(camera: Camera) -> EventEngine:
    eng = EventEngine(camera)
    camera.extensions["events"] = eng
    await eng.check_ftp()
    return eng


extensions.STARTUP_HOOKS.append(_start)


# -- computed fields ------------------------------------------------------------------------------

_plain_device_status = COMPUTED["DeviceStatus"]


@computed("DeviceStatus")
def _device_status(device: Device, key: str, doc: Doc, caller: Caller) -> Doc:
    doc = _plain_device_status(device, key, doc, caller)
    eng = ENGINES.get(device)
    if eng is not None:
        doc["MotionState"] = "true" if eng.motion_active() else "false"
        doc["RecordState"] = eng.record_state()
    return doc


@computed("FTP")
def _ftp_status(device: Device, key: str, doc: Doc, caller: Caller) -> Doc:
    eng = ENGINES.get(device)
    doc["Status"] = eng.ftp_state(device.store.get(key) or doc) if eng is not None else "not connect"
    return doc


# -- 9.9.1 / 9.9.2 -------------------------------------------------------------------------------


def _subscription_body(ctx: Ctx) -> list[Doc]:
    decoded = decode(BLOCKS["SubscribedEventTypeList"], parse_xml(ctx.body))
    if decoded.errors:
        raise ApiError(Status.PARAMETER_ERROR, "; ".join(decoded.errors))
    items = decoded.doc.get("SubscribedEventType") or []
    return [items] if isinstance(items, dict) else list(items)


@handles(SUBS, "PUT")
async def subscribe(ctx: Ctx) -> web.StreamResponse:
    """9.9.1: "Use PUT to subscribe to an event type by setting <EventType>" (adds, keeps the others)."""
    items = _subscription_body(ctx)
    if not items or any(not i.get("EventType") for i in items):
        raise ApiError(Status.REQUIRED_TAG_MISSING, "<SubscribedEventType> with an <EventType> is required (9.9.1)")
    current = list((ctx.device.store.get(SUBS) or {}).get("SubscribedEventType", []))
    known = {s["EventType"] for s in current}
    for item in items:
        if item["EventType"] in known:
            continue
        next_id = max((int(s["ID"]) for s in current), default=0) + 1
        current.append(
            {
                "ID": str(next_id),
                "EventType": item["EventType"],
                "EventTypeDescription": item.get("EventTypeDescription") or DESCRIPTIONS[item["EventType"]],
            }
        )
        known.add(item["EventType"])
    if not ctx.camera.faults.on(SUB_IGNORED):
        ctx.device.store.commit(resources={SUBS: {"SubscribedEventType": current}})
    ctx.device.log_event(2, 105, ctx.caller)
    return status_response(ctx.camera, ctx.url, Status.OK)


@handles(SUBS, "DELETE")
async def unsubscribe(ctx: Ctx) -> web.StreamResponse:
    """9.9.1: the listed event types are unsubscribed; an empty body or list ends every subscription."""
    items = _subscription_body(ctx) if ctx.body.strip() else []
    drop = {i.get("EventType") for i in items}
    current = list((ctx.device.store.get(SUBS) or {}).get("SubscribedEventType", []))
    kept = [s for s in current if drop and s["EventType"] not in drop]
    if not ctx.camera.faults.on(UNSUB_IGNORED):
        ctx.device.store.commit(resources={SUBS: {"SubscribedEventType": kept}})
    ctx.device.log_event(2, 105, ctx.caller)
    return status_response(ctx.camera, ctx.url, Status.OK)


@handles("/EventsNotification/EventList", "GET")
async def event_list(ctx: Ctx) -> web.StreamResponse:
    """9.9.2: "You need to subscribe to at least one event type first" (-12 before, ERRATA.md L21)."""
    eng = engine(ctx.device)
    if not eng.subscribed() and not ctx.camera.faults.on(LIST_UNSUBSCRIBED):
        raise ApiError(Status.INVALID_OPERATION, "subscribe to at least one event type first (9.9.2)")
    wanted = eng.subscribed()
    events = [e for e in eng.events if e["EventType"] in wanted or ctx.camera.faults.on(TYPE_FILTER_IGNORED)]
    return xml_response(ctx.camera, "EventList", {"Event": events})


# -- 9.10.2, 9.2.9: actions ----------------------------------------------------------------------


@handles("/Record/HttpEvent/Call", "PUT")
async def http_event_call(ctx: Ctx) -> web.StreamResponse:
    """9.10.2: start an event recording (pre + post record) and notify the URL of 9.10.3 when saved."""
    enabled = str((ctx.device.store.get("/Record/HttpEvent/Config") or {}).get("Enable")).lower() == "true"
    if not enabled and not ctx.camera.faults.on(DISABLED_IGNORED):
        raise ApiError(Status.INVALID_OPERATION, "recording is disabled (/Record/HttpEvent/Config Enable false)")
    eng = engine(ctx.device)
    eng.recording["manual"] = time.monotonic() + ctx.device.scaled(eng._post_record_s())  # noqa: SLF001
    eng.spawn(eng.event_recording())
    ctx.device.log_event(3, 201, ctx.caller)  # 9.2.10: start manual record
    return status_response(ctx.camera, ctx.url, Status.OK)


@handles("/System/SendTestEmail", "PUT")
async def send_test_email(ctx: Ctx) -> web.StreamResponse:
    """9.2.9: one message from SenderEmailAddress to every Receiver; a failing server gives -8 in time."""
    eng = engine(ctx.device)
    if not ctx.camera.faults.on(MAIL_NOT_SENT):
        try:
            await eng.send_mail("Test email", "B-View test email (9.2.9)", attach=False)
        except ApiError:
            if not ctx.camera.faults.on(MAIL_UNREACHABLE_OK):
                raise
    return status_response(ctx.camera, ctx.url, Status.OK)


# -- simulator-only: motion injection, the event files -------------------------------------------


SIM_MOTION_PER_S = 20  # injections a second; more are answered 429 (a sensor does not see more either)


async def sim_motion(camera: Camera, request: web.Request) -> web.StreamResponse:
    """POST /_sim/motion?region=R,C[&size=small|medium|large][&hold=S] (Rule 1); the admin only (http.py)."""
    now = time.monotonic()
    recent = [t for t in camera.extensions.get("sim_motion_times", []) if now - t < 1.0]
    if len(recent) >= SIM_MOTION_PER_S:
        return web.json_response({"error": f"more than {SIM_MOTION_PER_S} injections a second"}, status=429)
    camera.extensions["sim_motion_times"] = [*recent, now]
    q = request.query
    try:
        row, col = (int(x) for x in q.get("region", "0,0").split(",", 1))
        size = SIZES[q.get("size", "large")]
        hold = float(q.get("hold", MOTION_HOLD_S))
    except (ValueError, KeyError):
        return web.json_response({"error": "region=R,C with R 0-11 and C 0-13; size small|medium|large"}, status=400)
    if not (0 <= row < GRID_ROWS and 0 <= col < GRID_COLUMNS) or hold <= 0:
        return web.json_response(
            {"error": f"region {row},{col} outside the {GRID_ROWS}x{GRID_COLUMNS} grid"}, status=400
        )
    detected, reason = engine(camera.live).motion(row, col, size, hold)
    return web.json_response({"detected": detected, "reason": reason})


extensions.SIM_ROUTES[("POST", "/_sim/motion")] = sim_motion

VIDEO_DIR = "/download/video/"


@web.middleware
async def download_video(request: web.Request, handler: Any) -> web.StreamResponse:
    """9.10.2: "saved into a file located in /download/video/" -- served to an authenticated client."""
    if not request.path.startswith(VIDEO_DIR) or request.method not in ("GET", "HEAD"):
        return await handler(request)
    camera: Camera = request.app[CAMERA]
    caller = await sim_http.authenticate_at_turn(camera, request)
    if isinstance(caller, web.Response):
        return caller
    if caller is None:
        return sim_http.unauthorized(camera, request.path)
    eng = ENGINES.get(camera.live)
    data = eng.files.get(request.path[len(VIDEO_DIR) :]) if eng is not None else None
    if data is None:
        return status_response(camera, request.path, Status.URL_ERROR, "no such event file")
    return web.Response(body=data, content_type="video/x-msvideo")


sim_http.MIDDLEWARES.append(download_video)
