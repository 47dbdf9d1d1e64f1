"""The reference camera's RTSP server (RFC 2326) with H.264 over RTP (RFC 3550, RFC 6184). Chapter 8.

Rule 1: nothing a client sends can stop the server: a malformed request line or header gets
        400 and the connection is closed; a header section over MAX_HEAD bytes gets 400 and close;
        an exception in one connection ends that connection only.
Rule 2: every method but OPTIONS needs credentials (Basic or Digest, RFC 2617, same users as HTTP). A Digest
        response is good once: with qop=auth its nonce count must grow (RFC 2617 3.2.2), without qop its nonce
        serves one request; a replay gets 401 with stale=TRUE.
Rule 3: a session lives until TEARDOWN, until its TCP connection closes (interleaved transport), or
        until no request or RTCP from its client arrived for `timeout` seconds (advertised as
        `Session: id;timeout=N`, N = 60 x time_scale).
Rule 4: a `Require:` header names options this server has none of: 551 Option not supported, with the
        tags echoed in `Unsupported:` (RFC 2326 12.32). `Proxy-Require:` is treated the same.
Rule 5: one video track per stream (a=control:trackID=0); aggregate control is the stream URL.
        Unicast only: a multicast or unknown transport gets 461 Unsupported Transport.
Rule 6: sessions are a bounded resource: at most MAX_SESSIONS, of which MAX_UDP_SESSIONS hold a pair of UDP
        sockets, MAX_UDP_PER_CONNECTION of them opened from one connection; a SETUP beyond these gets
        453 Not Enough Bandwidth (RFC 2326 11.3.5) and opens nothing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import os
import re
import secrets
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import urlsplit

from pytest_bview.protocol.digest import digest_response, parse_challenge
from pytest_bview.simulator import PRODUCT
from pytest_bview.simulator.faults import declare
from pytest_bview.simulator.media import NO_FAULTS, AccessUnit, FaultSet, StreamHub, Subscriber

log = logging.getLogger("bview.sim.rtsp")

DIGEST_REPLAY = declare(
    "sec-rtsp-digest-replay",
    "8",
    "a Digest response already accepted is accepted again (same nonce and nonce count) for the nonce's life",
    breaks="sec-rtsp-digest-replay",
)
SDP_NO_SPROP = declare(
    "rtsp-sdp-no-sprop",
    "8",
    "DESCRIBE's SDP lacks sprop-parameter-sets",
    breaks="rtsp-sdp-sprop",
)
UDP_UNSUPPORTED = declare(
    "rtsp-udp-unsupported",
    "8",
    "SETUP with RTP over UDP gets 461 Unsupported Transport: only interleaved TCP is served",
    breaks="rtsp-udp",
)
DESCRIBE_NO_AUTH = declare(
    "rtsp-describe-no-auth",
    "8",
    "DESCRIBE is answered without credentials",
    breaks="rtsp-auth",
)

# RFC 2326 6.1: Request-Line = Method SP Request-URI SP RTSP-Version CRLF
_REQUEST_LINE = re.compile(r"^([A-Z_]{1,32}) (\S{1,2048}) RTSP/(\d)\.(\d)$")
_HEADER = re.compile(r"^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$")
MAX_LINE = 8192
MAX_HEAD = 32 * 1024
MAX_HEADERS = 100
MAX_BODY = 64 * 1024
RTP_MTU = 1400  # payload bytes per RTP packet; larger NAL units are split into FU-A (RFC 6184 5.8)
TRACK = "trackID=0"
PUBLIC = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER"
NONCE_LIFETIME = 300.0
MAX_SESSIONS = 64
MAX_NONCES = 4096  # nonces remembered against replays; beyond, expired ones and then the oldest are forgotten
MAX_UDP_SESSIONS = 32  # two sockets each
MAX_UDP_PER_CONNECTION = 4

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    453: "Not Enough Bandwidth",
    454: "Session Not Found",
    455: "Method Not Valid in This State",
    459: "Aggregate Operation Not Allowed",
    461: "Unsupported Transport",
    500: "Internal Server Error",
    501: "Not Implemented",
    505: "RTSP Version Not Supported",
    551: "Option not supported",
}


class _BadRequest(Exception):
    pass


@dataclass
class Request:
    method: str
    uri: str
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes
    peer: str


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    close: bool = False


# --------------------------------------------------------------------------------------------------------------
# RTP packetization (RFC 3550 5.1, RFC 6184 5.6 single NAL unit, 5.8 FU-A)
# --------------------------------------------------------------------------------------------------------------


def rtp_packets(unit: AccessUnit, seq: int, timestamp: int, ssrc: int, pt: int = 96) -> list[bytes]:
    """RTP packets for one access unit; the marker bit is set on the last one. Sequence numbers from `seq`."""
    payloads: list[bytes] = []
    for nal in unit.nals:
        if nal[0] & 0x1F == 9:  # access unit delimiter: not needed over RTP
            continue
        if len(nal) <= RTP_MTU:
            payloads.append(nal)
            continue
        header, body = nal[0], nal[1:]
        indicator = (header & 0xE0) | 28
        chunks = [body[i : i + RTP_MTU - 2] for i in range(0, len(body), RTP_MTU - 2)]
        for n, chunk in enumerate(chunks):
            fu = (header & 0x1F) | (0x80 if n == 0 else 0) | (0x40 if n == len(chunks) - 1 else 0)
            payloads.append(bytes((indicator, fu)) + chunk)
    out = []
    for n, payload in enumerate(payloads):
        marker = 0x80 if n == len(payloads) - 1 else 0
        out.append(struct.pack("!BBHII", 0x80, marker | pt, (seq + n) & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc) + payload)
    return out


def sender_report(ssrc: int, timestamp: int, packets: int, octets: int, cname: str) -> bytes:
    """A compound RTCP packet (RFC 3550 6.1: "Each individual RTCP packet ... MUST contain" an SR or RR
    first and an SDES with CNAME): SR (6.4.1) with no report blocks, then SDES (6.5) with the CNAME."""
    now = time.time() + 2208988800  # NTP epoch
    ntp_hi, ntp_lo = int(now), int((now % 1) * (1 << 32))
    sr = struct.pack(
        "!BBHIIIIII", 0x80, 200, 6, ssrc, ntp_hi, ntp_lo, timestamp & 0xFFFFFFFF, packets & 0xFFFFFFFF, octets
    )
    text = cname.encode()[:255]
    # one chunk: SSRC, item CNAME (type 1), then a null octet ending the list, padded to a 32-bit boundary
    chunk = struct.pack("!IBB", ssrc, 1, len(text)) + text + b"\x00"
    chunk += b"\x00" * (-len(chunk) % 4)
    sdes = struct.pack("!BBH", 0x81, 202, len(chunk) // 4) + chunk
    return sr + sdes


# --------------------------------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------------------------------


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, on_data: Callable[[], None]) -> None:
        self.on_data = on_data
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.on_data()  # RTCP receiver reports keep the session alive (RFC 2326 A.2)


@dataclass
class Session:
    id: str
    path: str
    hub: StreamHub
    conn: _Connection | None
    interleaved: tuple[int, int] | None = None
    client: tuple[str, int, int] | None = None  # ip, rtp port, rtcp port
    udp_rtp: _Udp | None = None
    udp_rtcp: _Udp | None = None
    server_ports: tuple[int, int] = (0, 0)
    ssrc: int = field(default_factory=lambda: secrets.randbits(32))
    seq: int = field(default_factory=lambda: secrets.randbits(16))
    ts_base: int = field(default_factory=lambda: secrets.randbits(32))
    first_pts: int | None = None
    last_pts: int = 0
    last_seen: float = field(default_factory=time.monotonic)
    sub: Subscriber | None = None
    task: asyncio.Task[None] | None = None
    packets: int = 0
    octets: int = 0

    @property
    def playing(self) -> bool:
        return self.task is not None and not self.task.done()

    def touch(self) -> None:
        self.last_seen = time.monotonic()


class RtspServer:
    """RTSP on asyncio for the reference camera. `hubs` maps a URL path (e.g. "/live/0/main") to its hub."""

    def __init__(
        self,
        host: str,
        port: int,
        hubs: Mapping[str, StreamHub],
        authenticate: Callable[[str, str], bool],
        password_of: Callable[[str], str | None],
        realm: str = "B-View",
        time_scale: float = 1.0,
        *,
        faults: FaultSet | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.hubs = {p.rstrip("/"): h for p, h in hubs.items()}
        self.authenticate, self.password_of, self.realm = authenticate, password_of, realm
        self.time_scale = time_scale
        self.faults = faults or NO_FAULTS
        self.session_timeout = max(1, round(60 * time_scale))
        self.sessions: dict[str, Session] = {}
        self._server: asyncio.base_events.Server | None = None
        self._conns: set[_Connection] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._secret = os.urandom(16)
        self._nonce_counts: dict[str, int] = {}  # nonce -> the highest nonce count accepted (Rule 2)
        # RTCP CNAME: a random identifier per camera run, as RFC 7022 4.2 recommends (no user or address leaked)
        self.cname = base64.urlsafe_b64encode(os.urandom(12)).decode()

    async def start(self) -> None:
        """Bind and listen; the real port is in `.port` afterwards."""
        if self._server is not None:
            raise RuntimeError("RTSP server already started")
        self._server = await asyncio.start_server(self._accept, self.host, self.port, limit=MAX_LINE)
        self.port = self._server.sockets[0].getsockname()[1]
        self._reaper = asyncio.create_task(self._reap())

    async def stop(self) -> None:
        """Stop listening and end every session and connection."""
        if self._server is None:
            return
        self._server.close()
        if self._reaper:
            self._reaper.cancel()
        for session in list(self.sessions.values()):
            await self._teardown(session)
        for conn in list(self._conns):
            conn.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 2.0)
        self._server = None

    async def __aenter__(self) -> RtspServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def url(self, path: str, host: str | None = None) -> str:
        return f"rtsp://{host or self.host}:{self.port}{path}"

    # -- housekeeping --------------------------------------------------------------------------------------
    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.session_timeout / 4))
            now = time.monotonic()
            for session in list(self.sessions.values()):
                if now - session.last_seen > self.session_timeout:
                    await self._teardown(session)
                    if session.conn is not None and session.interleaved is not None:
                        session.conn.close()

    async def _teardown(self, session: Session) -> None:
        self.sessions.pop(session.id, None)
        await self._pause(session)
        for udp in (session.udp_rtp, session.udp_rtcp):
            if udp and udp.transport:
                udp.transport.close()

    async def _pause(self, session: Session) -> None:
        if session.task is not None:
            session.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await session.task
            session.task = None
        if session.sub is not None:
            session.sub.close()
            session.sub = None

    # -- connections ---------------------------------------------------------------------------------------
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Connection(self, reader, writer)
        self._conns.add(conn)
        try:
            await conn.serve()
        except Exception:  # noqa: BLE001  (Rule 1: one connection's failure is its own)
            pass
        finally:
            self._conns.discard(conn)
            for session in [s for s in self.sessions.values() if s.conn is conn]:
                if session.interleaved is not None:
                    await self._teardown(session)
                else:
                    session.conn = None  # UDP sessions outlive their control connection
            conn.close()

    # -- authentication (RFC 2617) -------------------------------------------------------------------------
    def _nonce(self) -> str:
        # time, then 64 random bits (each challenge its own nonce: Rule 2 counts per nonce), then their MAC
        stamp = f"{int(time.time()):x}{secrets.token_hex(8)}"
        mac = hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:16]
        return f"{stamp}{mac}"

    def _nonce_state(self, nonce: str) -> str:
        """'ok', 'stale' or 'bad'."""
        stamp, mac = nonce[:-16], nonce[-16:]
        good = hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:16]
        if len(stamp) <= 16 or not hmac.compare_digest(mac, good):
            return "bad"
        stamp = stamp[:-16]
        try:
            age = time.time() - int(stamp, 16)
        except ValueError:
            return "bad"
        return "ok" if 0 <= age <= NONCE_LIFETIME else "stale"

    def challenge(self, stale: bool = False) -> list[tuple[str, str]]:
        digest = f'Digest realm="{self.realm}", nonce="{self._nonce()}", algorithm=MD5, qop="auth"'
        if stale:
            digest += ", stale=TRUE"
        return [("WWW-Authenticate", digest), ("WWW-Authenticate", f'Basic realm="{self.realm}"')]

    def check_auth(self, req: Request) -> Response | None:
        """None if `req` carries valid credentials, else the 401 to send."""
        value = req.headers.get("authorization", "")
        scheme, _, rest = value.partition(" ")
        stale = False
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(rest.strip(), validate=True).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return Response(400)
            if self.authenticate(user, password):
                return None
        elif scheme.lower() == "digest":
            _, p = parse_challenge("Digest " + rest)
            state = self._nonce_state(p.get("nonce") or "")
            known = self.password_of(p.get("username") or "") if state == "ok" else None
            stale = state == "stale"
            if known is not None and self._digest_ok(req, p, known):
                if self._first_use(p):
                    return None
                stale = True  # a replay: the client may ask again with a fresh nonce
        return Response(401, self.challenge(stale))

    def _first_use(self, p: dict[str, str]) -> bool:
        """Rule 2: whether this nonce and nonce count were never accepted before (remembered for the nonce's life)."""
        nonce = p.get("nonce", "")
        try:
            nc = int(p["nc"], 16) if p.get("qop") == "auth" else 0
        except (KeyError, ValueError):
            return False
        last = self._nonce_counts.get(nonce)
        if self.faults.on(DIGEST_REPLAY):
            return True
        if last is not None and (p.get("qop") != "auth" or nc <= last):
            return False
        if len(self._nonce_counts) >= MAX_NONCES:
            for old in [n for n in self._nonce_counts if self._nonce_state(n) != "ok"]:
                del self._nonce_counts[old]
            while len(self._nonce_counts) >= MAX_NONCES:  # all still alive: forget the oldest
                del self._nonce_counts[next(iter(self._nonce_counts))]
        self._nonce_counts[nonce] = nc
        return True

    def _digest_ok(self, req: Request, p: dict[str, str], password: str) -> bool:
        if p.get("realm") != self.realm or p.get("algorithm", "MD5").upper() != "MD5":
            return False
        uri = p.get("uri", "")
        if uri != req.uri and urlsplit(uri).path.rstrip("/") != urlsplit(req.uri).path.rstrip("/"):
            return False
        qop = p.get("qop")
        if qop not in (None, "auth"):
            return False
        expected = digest_response(p.get("username", ""), self.realm, password, req.method, uri, p["nonce"],
                                   qop=qop, nc=p.get("nc", ""), cnonce=p.get("cnonce", ""))  # fmt: skip
        return hmac.compare_digest(expected, p.get("response", "").lower())

    # -- request handling ----------------------------------------------------------------------------------
    def resolve(self, uri: str) -> tuple[str, StreamHub, bool] | None:
        """(stream path, hub, names the track) for a request URI, or None."""
        path = urlsplit(uri).path if "://" in uri else uri
        path = path.rstrip("/")
        track = path.endswith("/" + TRACK)
        if track:
            path = path[: -len(TRACK) - 1]
        hub = self.hubs.get(path)
        return (path, hub, track) if hub is not None else None

    async def handle(self, req: Request, conn: _Connection) -> Response:
        if req.method not in PUBLIC.replace(",", "").split():
            return Response(501, [("Allow", PUBLIC)])
        required = req.headers.get("require") or req.headers.get("proxy-require")
        if required:
            return Response(551, [("Unsupported", required)])
        session = None
        if "session" in req.headers:
            session = self.sessions.get(req.headers["session"].split(";")[0].strip())
            if session is None:
                return Response(454)
            session.touch()
        if req.method == "OPTIONS":
            return Response(200, [("Public", PUBLIC)])
        if not (req.method == "DESCRIBE" and self.faults.on(DESCRIBE_NO_AUTH)):
            denied = self.check_auth(req)
            if denied is not None:
                return denied
        target = self.resolve(req.uri) if req.uri != "*" else None
        if req.method == "GET_PARAMETER":
            return Response(200)
        if target is None:
            return Response(404)
        path, hub, _ = target
        if session is not None and session.path != path:
            return Response(454)
        if req.method == "DESCRIBE":
            return await self._describe(req, conn, path, hub)
        if req.method == "SETUP":
            return await self._setup(req, conn, path, hub, session)
        if session is None:
            return Response(454)
        if req.method == "PLAY":
            return await self._play(req, session)
        if req.method == "PAUSE":
            await self._pause(session)
            return Response(200, [("Session", session.id)])
        if req.method == "TEARDOWN":
            await self._teardown(session)
            return Response(200)
        return Response(501)

    def _base(self, req: Request, path: str, conn: _Connection) -> str:
        uri = req.uri
        if "://" in uri:
            parts = urlsplit(uri)
            return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{path}/"
        return f"rtsp://{conn.local}{path}/"

    async def _describe(self, req: Request, conn: _Connection, path: str, hub: StreamHub) -> Response:
        accept = req.headers.get("accept")
        if accept and "application/sdp" not in accept and "*/*" not in accept:
            return Response(406)
        info = await hub.describe_async()
        fps = info.settings.fps
        fmtp = f"packetization-mode=1;profile-level-id={info.parameter_sets.profile_level_id}"
        if not self.faults.on(SDP_NO_SPROP):
            fmtp += f";sprop-parameter-sets={info.parameter_sets.sprop}"
        session_id = secrets.randbits(32)
        sdp = "\r\n".join(
            [
                "v=0",
                f"o=- {session_id} 1 IN IP4 {self.host if self.host not in ('', '0.0.0.0', '::') else '0.0.0.0'}",
                "s=B-View Live",
                "c=IN IP4 0.0.0.0",
                "t=0 0",
                "a=control:*",
                "a=range:npt=0-",
                "m=video 0 RTP/AVP 96",
                f"b=AS:{info.settings.bitrate_kbps}",
                "a=rtpmap:96 H264/90000",
                f"a=fmtp:96 {fmtp}",
                f"a=framerate:{fps:g}",
                f"a=x-dimensions:{info.width},{info.height}",
                f"a=control:{TRACK}",
                "",
            ]
        )
        base = self._base(req, path, conn)
        return Response(200, [("Content-Base", base), ("Content-Type", "application/sdp")], sdp.encode())

    async def _setup(
        self, req: Request, conn: _Connection, path: str, hub: StreamHub, session: Session | None
    ) -> Response:
        transport = req.headers.get("transport", "")
        chosen = None
        for spec in transport.split(","):
            parts = [p.strip() for p in spec.split(";") if p.strip()]
            if not parts:
                continue
            proto = parts[0].upper()
            params = {k.lower(): v for k, _, v in (p.partition("=") for p in parts[1:])}
            if "multicast" in params or proto not in ("RTP/AVP", "RTP/AVP/UDP", "RTP/AVP/TCP"):
                continue
            if proto != "RTP/AVP/TCP" and self.faults.on(UDP_UNSUPPORTED):
                continue
            if proto == "RTP/AVP/TCP":
                m = re.fullmatch(r"(\d{1,3})(?:-(\d{1,3}))?", params.get("interleaved", "0-1"))
                if not m:
                    return Response(400)
                a = int(m.group(1))
                b = int(m.group(2)) if m.group(2) else a + 1
                if a > 255 or b > 255:
                    return Response(400)
                chosen = ("tcp", (a, b))
            else:
                m = re.fullmatch(r"(\d{1,5})(?:-(\d{1,5}))?", params.get("client_port", ""))
                if not m:
                    continue
                a = int(m.group(1))
                b = int(m.group(2)) if m.group(2) else a + 1
                if not (0 < a < 65536 and 0 < b < 65536):
                    return Response(400)
                chosen = ("udp", (a, b))
            break
        if chosen is None:
            return Response(461)
        refusal = self._over_limits(conn, session, udp=chosen[0] == "udp")
        if refusal:
            return Response(453, [("X-BView-Detail", refusal)])
        if session is None:
            session = Session(secrets.token_hex(8), path, hub, conn)
        elif session.playing:
            return Response(455, [("Allow", "PAUSE, TEARDOWN, GET_PARAMETER")])
        if chosen[0] == "tcp":
            session.interleaved = chosen[1]
            reply = f"RTP/AVP/TCP;unicast;interleaved={chosen[1][0]}-{chosen[1][1]}"
        else:
            if session.udp_rtp is None:
                await self._open_udp(session, conn)
            session.client = (conn.peer, chosen[1][0], chosen[1][1])
            session.interleaved = None
            sp = session.server_ports
            reply = f"RTP/AVP;unicast;client_port={chosen[1][0]}-{chosen[1][1]};server_port={sp[0]}-{sp[1]}"
        reply += f";ssrc={session.ssrc:08X}"
        self.sessions[session.id] = session
        session.touch()
        return Response(200, [("Transport", reply), ("Session", f"{session.id};timeout={self.session_timeout}")])

    def _over_limits(self, conn: _Connection, session: Session | None, *, udp: bool) -> str:
        """Rule 6: why this SETUP would take more than the server gives, or ""."""
        if session is None and len(self.sessions) >= MAX_SESSIONS:
            return f"{MAX_SESSIONS} sessions exist"
        if not udp or (session is not None and session.udp_rtp is not None):
            return ""
        with_udp = [s for s in self.sessions.values() if s.udp_rtp is not None]
        if len(with_udp) >= MAX_UDP_SESSIONS:
            return f"{MAX_UDP_SESSIONS} sessions hold UDP sockets"
        if sum(1 for s in with_udp if s.conn is conn) >= MAX_UDP_PER_CONNECTION:
            return f"{MAX_UDP_PER_CONNECTION} UDP sessions from this connection"
        return ""

    async def _open_udp(self, session: Session, conn: _Connection) -> None:
        loop = asyncio.get_running_loop()
        local = conn.local_ip
        for _ in range(10):  # an even RTP port with RTCP on the next one (RFC 3550 11)
            rtp_tr, rtp = await loop.create_datagram_endpoint(lambda: _Udp(session.touch), local_addr=(local, 0))
            port = rtp_tr.get_extra_info("sockname")[1]
            if port % 2 == 0:
                try:
                    rtcp_tr, rtcp = await loop.create_datagram_endpoint(
                        lambda: _Udp(session.touch), local_addr=(local, port + 1)
                    )
                except OSError:
                    rtp_tr.close()
                    continue
                session.udp_rtp, session.udp_rtcp = rtp, rtcp
                session.server_ports = (port, port + 1)
                return
            rtp_tr.close()
        rtp_tr, rtp = await loop.create_datagram_endpoint(lambda: _Udp(session.touch), local_addr=(local, 0))
        rtcp_tr, rtcp = await loop.create_datagram_endpoint(lambda: _Udp(session.touch), local_addr=(local, 0))
        session.udp_rtp, session.udp_rtcp = rtp, rtcp
        session.server_ports = (rtp_tr.get_extra_info("sockname")[1], rtcp_tr.get_extra_info("sockname")[1])

    async def _play(self, req: Request, session: Session) -> Response:
        headers = [("Session", f"{session.id};timeout={self.session_timeout}"), ("Range", "npt=0.000-")]
        if session.playing:
            return Response(200, headers)
        if session.interleaved is None and session.client is None:
            return Response(455)
        base = req.uri.rstrip("/")
        if base.endswith("/" + TRACK):
            base = base[: -len(TRACK) - 1]
        # the next packet carries exactly this seq and rtptime (RFC 2326 12.33)
        if session.first_pts is not None:  # resuming after PAUSE: continue the RTP clock where it stopped
            session.ts_base = (session.ts_base + session.last_pts - session.first_pts + 3600) & 0xFFFFFFFF
        headers.append(("RTP-Info", f"url={base}/{TRACK};seq={session.seq};rtptime={session.ts_base}"))
        session.first_pts = None
        session.sub = session.hub.subscribe()
        session.task = asyncio.create_task(self._send(session, session.sub))
        return Response(200, headers, close=False)

    async def _send(self, session: Session, sub: Subscriber) -> None:
        last_sr = 0.0
        while True:
            unit = await sub.get()
            if unit is None:
                break
            if session.first_pts is None:
                session.first_pts = unit.pts
            session.last_pts = unit.pts
            ts = (session.ts_base + unit.pts - session.first_pts) & 0xFFFFFFFF
            packets = rtp_packets(unit, session.seq, ts, session.ssrc)
            session.seq = (session.seq + len(packets)) & 0xFFFF
            session.packets += len(packets)
            session.octets += sum(len(p) - 12 for p in packets)
            now = time.monotonic()
            due = now - last_sr > 1.0
            sr = sender_report(session.ssrc, ts, session.packets, session.octets, self.cname) if due else None
            if sr:
                last_sr = now
            if session.interleaved is not None:
                conn = session.conn
                if conn is None or conn.closing:
                    break
                ch = session.interleaved
                data = b"".join(struct.pack("!BBH", 0x24, ch[0], len(p)) + p for p in packets)
                if sr:
                    data += struct.pack("!BBH", 0x24, ch[1], len(sr)) + sr
                await conn.send_data(data)
            elif session.client and session.udp_rtp and session.udp_rtp.transport:
                ip, rtp_port, rtcp_port = session.client
                for p in packets:
                    session.udp_rtp.transport.sendto(p, (ip, rtp_port))
                if sr and session.udp_rtcp and session.udp_rtcp.transport:
                    session.udp_rtcp.transport.sendto(sr, (ip, rtcp_port))


class _Connection:
    """One RTSP control connection: parses requests (and interleaved data from the client), writes responses."""

    def __init__(self, server: RtspServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server, self.reader, self.writer = server, reader, writer
        peer = writer.get_extra_info("peername") or ("?", 0)
        sock = writer.get_extra_info("sockname") or ("127.0.0.1", 0)
        self.peer = peer[0]
        self.local_ip = sock[0]
        host = f"[{sock[0]}]" if ":" in sock[0] else sock[0]
        self.local = f"{host}:{sock[1]}"
        self.closing = False
        self._lock = asyncio.Lock()

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            self.writer.close()

    async def send_data(self, data: bytes) -> None:
        async with self._lock:
            if self.closing:
                return
            self.writer.write(data)
            await self.writer.drain()

    async def _write_response(self, resp: Response, cseq: str | None) -> None:
        lines = [f"RTSP/1.0 {resp.status} {REASONS.get(resp.status, 'Error')}"]
        if cseq is not None:
            lines.append(f"CSeq: {cseq}")
        lines += [f"Server: {PRODUCT}", f"Date: {formatdate(usegmt=True)}"]
        lines += [f"{k}: {v}" for k, v in resp.headers]
        if resp.body or resp.status == 200:
            lines.append(f"Content-Length: {len(resp.body)}")
        if resp.close:
            lines.append("Connection: close")
        await self.send_data(("\r\n".join(lines) + "\r\n\r\n").encode() + resp.body)

    async def serve(self) -> None:
        idle = max(self.server.session_timeout, 10)
        while not self.closing:
            try:
                first = await asyncio.wait_for(self.reader.read(1), idle)
            except TimeoutError:
                if any(s.conn is self for s in self.server.sessions.values()):
                    continue
                return
            if not first:
                return
            for s in self.server.sessions.values():
                if s.conn is self:
                    s.touch()
            if first == b"$":  # interleaved RTCP from the client (RFC 2326 10.12)
                head = await asyncio.wait_for(self.reader.readexactly(3), idle)
                await asyncio.wait_for(self.reader.readexactly(struct.unpack("!H", head[1:])[0]), idle)
                continue
            if first in b"\r\n":
                continue
            try:
                req, cseq = await asyncio.wait_for(self._read_request(first), idle)
            except _BadRequest as exc:
                status = int(str(exc) or 400)
                await self._write_response(Response(status, close=True), None)
                return
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                return
            if cseq is None:
                await self._write_response(Response(400, close=True), None)
                return
            try:
                resp = await self.server.handle(req, self)
            except Exception:  # noqa: BLE001  (Rule 1)
                resp = Response(500)
            if resp.status == 400:
                resp.close = True
            log.info("%s %s %s -> %d", req.peer, req.method, req.uri, resp.status)
            await self._write_response(resp, cseq)
            if resp.close:
                return

    async def _read_request(self, first: bytes) -> tuple[Request, str | None]:
        try:
            line = first + await self.reader.readuntil(b"\n")
        except (asyncio.LimitOverrunError, ValueError):
            raise _BadRequest("400") from None
        try:
            text = line.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise _BadRequest("400") from None
        m = _REQUEST_LINE.match(text)
        if not m:
            raise _BadRequest("400")
        if (m.group(3), m.group(4)) != ("1", "0"):
            raise _BadRequest("505")
        headers: dict[str, str] = {}
        total = len(line)
        for _ in range(MAX_HEADERS + 1):
            try:
                raw = await self.reader.readuntil(b"\n")
            except (asyncio.LimitOverrunError, ValueError):
                raise _BadRequest("400") from None
            total += len(raw)
            if total > MAX_HEAD:
                raise _BadRequest("400")
            try:
                h = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                raise _BadRequest("400") from None
            if not h:
                break
            hm = _HEADER.match(h)
            if not hm:
                raise _BadRequest("400")
            name = hm.group(1).lower()
            headers[name] = f"{headers[name]}, {hm.group(2)}" if name in headers else hm.group(2)
        else:
            raise _BadRequest("400")
        length_text = headers.get("content-length", "0")
        if not length_text.isdigit() or int(length_text) > MAX_BODY:
            raise _BadRequest("400")
        body = await self.reader.readexactly(int(length_text)) if int(length_text) else b""
        cseq = headers.get("cseq")
        if cseq is not None and not cseq.strip().isdigit():
            cseq = None
        return Request(m.group(1), m.group(2), headers, body, self.peer), cseq
