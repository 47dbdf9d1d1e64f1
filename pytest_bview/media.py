"""Client-side media probes: what the suites use to look at a camera's streams (chapter 8, 9.4, 9.5, 9.8).

Rule 1: every network read has a deadline and a byte budget; a hostile camera (endless body, 1 byte/s,
        garbage) makes a probe fail with MediaError, never hang or eat memory.
Rule 2: credentials go on the wire only; they never appear in an exception, a log line or a repr
        (`redact` is applied to every URL that leaves this module).
Rule 3: https/rtsps check certificates as the HTTP client does (`verify`: --bview-ca, --bview-insecure).
Rule 4: parsers are strict and say what they found and where ("SDP line 4: ..."); leniency is for the
        camera's benefit only where the RFC grants it.

PyAV is imported inside the functions that decode, so importing this module stays cheap.
"""

from __future__ import annotations

import base64
import re
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

import numpy as np

# The wire's own codecs live in the protocol layer; the probes' users keep reading them here.
from pytest_bview.protocol.audio import tone_frequency, ulaw_decode, ulaw_encode  # noqa: F401  (re-exported)
from pytest_bview.protocol.digest import authorization, digest_authorization, parse_challenge  # noqa: F401

if TYPE_CHECKING:
    from multidict import CIMultiDict


class MediaError(Exception):
    """A probe could not complete: network failure, deadline, byte budget or a malformed answer."""


class SdpError(MediaError, ValueError):
    """The SDP (RFC 4566) is malformed."""


def redact(url: str) -> str:
    """The URL with any password replaced by '***'."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def with_credentials(url: str, user: str | None, password: str | None) -> str:
    """`url` with percent-encoded credentials in its authority (what FFmpeg expects)."""
    if not user:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{quote(user, safe='')}:{quote(password or '', safe='')}@{host}" + (
        f":{parts.port}" if parts.port else ""
    )
    return urlunsplit(parts._replace(netloc=netloc))


# --------------------------------------------------------------------------------------------------------------
# SDP (RFC 4566), the subset RTSP cameras use
# --------------------------------------------------------------------------------------------------------------

# RFC 4566 5: "<type>=<value>" where <type> MUST be exactly one case-significant character
_SDP_LINE = re.compile(r"^([a-z])=(.*)$")
# m=<media> <port>[/<number of ports>] <proto> <fmt> ...
_SDP_MEDIA = re.compile(r"^(\S+) (\d+)(?:/(\d+))? (\S+)((?: \S+)+)$")
_SESSION_ORDER = "vosiuepcbtzkam"  # RFC 4566 5: session-level fields in this order (t/r repeat; z,k optional)


@dataclass(frozen=True)
class SdpMedia:
    media: str  # "video", "audio", ...
    port: int
    proto: str  # "RTP/AVP"
    formats: tuple[str, ...]
    attributes: tuple[tuple[str, str | None], ...]  # (name, value) in order

    def attribute(self, name: str) -> str | None:
        """The first value of attribute `name` ("" for a flag attribute), or None."""
        for key, value in self.attributes:
            if key == name:
                return "" if value is None else value
        return None

    def rtpmap(self, fmt: str) -> str | None:
        """The encoding of payload type `fmt`, e.g. "H264/90000"."""
        for key, value in self.attributes:
            if key == "rtpmap" and value and value.split(" ", 1)[0] == fmt:
                return value.split(" ", 1)[1].strip() if " " in value else ""
        return None

    def fmtp(self, fmt: str) -> dict[str, str]:
        """The a=fmtp parameters of `fmt` as a dict (RFC 6184 8.1: "key=value;key=value")."""
        for key, value in self.attributes:
            if key == "fmtp" and value and value.split(" ", 1)[0] == fmt:
                params: dict[str, str] = {}
                rest = value.split(" ", 1)[1] if " " in value else ""
                for item in filter(None, (p.strip() for p in rest.split(";"))):
                    name, _, val = item.partition("=")
                    params[name.strip().lower()] = val.strip()
                return params
        return {}

    @property
    def control(self) -> str | None:
        return self.attribute("control")


@dataclass(frozen=True)
class Sdp:
    version: int
    origin: str
    session_name: str
    connection: str | None
    attributes: tuple[tuple[str, str | None], ...]
    media: tuple[SdpMedia, ...]
    text: str

    def attribute(self, name: str) -> str | None:
        for key, value in self.attributes:
            if key == name:
                return "" if value is None else value
        return None

    def first(self, media: str) -> SdpMedia | None:
        return next((m for m in self.media if m.media == media), None)


def parse_sdp(text: str | bytes) -> Sdp:
    """Parse an SDP strictly (RFC 4566): v= first, o= s= t= present, m= well formed, CRLF or LF lines.

    Raises SdpError naming the offending line.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SdpError(f"SDP is not UTF-8: {exc}") from None
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise SdpError("SDP is empty")
    seen: set[str] = set()
    session_attrs: list[tuple[str, str | None]] = []
    media: list[dict[str, Any]] = []
    version = -1
    origin = session_name = ""
    connection: str | None = None
    for number, line in enumerate(lines, 1):
        match = _SDP_LINE.match(line)
        if not match:
            raise SdpError(f"SDP line {number}: not '<type>=<value>': {line[:80]!r}")
        kind, value = match.groups()
        if number == 1 and kind != "v":
            raise SdpError(f"SDP line 1: must be 'v=0', got {line[:80]!r}")
        if kind == "m":
            m = _SDP_MEDIA.match(value)
            if not m:
                raise SdpError(f"SDP line {number}: malformed media description {line[:80]!r}")
            media.append(
                {
                    "media": m.group(1),
                    "port": int(m.group(2)),
                    "proto": m.group(4),
                    "formats": tuple(m.group(5).split()),
                    "attributes": [],
                }
            )
            continue
        if kind == "a":
            name, sep, val = value.partition(":")
            if not name or " " in name:
                raise SdpError(f"SDP line {number}: malformed attribute {line[:80]!r}")
            (media[-1]["attributes"] if media else session_attrs).append((name, val if sep else None))
            continue
        if media:
            if kind not in "icbk":
                raise SdpError(f"SDP line {number}: '{kind}=' is not allowed inside a media description")
            if kind == "c":
                media[-1]["connection"] = value
            continue
        if kind not in _SESSION_ORDER and kind not in "r":
            raise SdpError(f"SDP line {number}: unknown type '{kind}='")
        if kind in "vos" and kind in seen:
            raise SdpError(f"SDP line {number}: '{kind}=' repeated")
        seen.add(kind)
        if kind == "v":
            if value != "0":
                raise SdpError(f"SDP line {number}: version must be 0, got {value!r}")
            version = 0
        elif kind == "o":
            if len(value.split()) != 6:
                raise SdpError(f"SDP line {number}: o= needs 6 fields, got {value!r}")
            origin = value
        elif kind == "s":
            session_name = value
        elif kind == "c":
            connection = value
    for required in "ost":
        if required not in seen:
            raise SdpError(f"SDP lacks the required '{required}=' line (RFC 4566 5)")
    if not media:
        raise SdpError("SDP has no media description (m=)")
    return Sdp(
        version=version,
        origin=origin,
        session_name=session_name,
        connection=connection,
        attributes=tuple(session_attrs),
        media=tuple(SdpMedia(d["media"], d["port"], d["proto"], d["formats"], tuple(d["attributes"])) for d in media),
        text=text,
    )


def sprop_parameter_sets(value: str) -> list[bytes]:
    """Decode RFC 6184 sprop-parameter-sets ("base64,base64") into NAL units; MediaError if not base64."""
    out = []
    for item in value.split(","):
        try:
            out.append(base64.b64decode(item.strip(), validate=True))
        except (ValueError, base64.binascii.Error):  # type: ignore[attr-defined]
            raise MediaError(f"sprop-parameter-sets item is not base64: {item[:40]!r}") from None
    return out


# --------------------------------------------------------------------------------------------------------------
# A bounded blocking reader over a socket
# --------------------------------------------------------------------------------------------------------------

MAX_HEADER_BYTES = 64 * 1024


class _Wire:
    """Socket reads bounded by an absolute deadline and a total byte budget."""

    def __init__(self, sock: socket.socket, deadline: float, budget: int, what: str) -> None:
        self.sock, self.deadline, self.budget, self.what = sock, deadline, budget, what
        self.buf = bytearray()
        self.eof = False
        self.total = 0

    def _fill(self) -> bool:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise MediaError(f"{self.what}: deadline passed after {self.total} bytes")
        if self.total >= self.budget:
            raise MediaError(f"{self.what}: more than {self.budget} bytes without completing")
        self.sock.settimeout(min(left, 5.0))
        try:
            chunk = self.sock.recv(min(65536, self.budget - self.total))
        except TimeoutError:
            return True  # loop re-checks the deadline
        except OSError as exc:
            raise MediaError(f"{self.what}: {exc}") from None
        if not chunk:
            self.eof = True
            return False
        self.total += len(chunk)
        self.buf += chunk
        return True

    def read_until(self, marker: bytes, limit: int) -> bytes | None:
        """Bytes up to and including `marker`; None at EOF; MediaError beyond `limit` bytes."""
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                out = bytes(self.buf[: i + len(marker)])
                del self.buf[: i + len(marker)]
                return out
            if len(self.buf) > limit:
                raise MediaError(f"{self.what}: no {marker!r} within {limit} bytes")
            if self.eof or not self._fill():
                return None

    def read_exact(self, n: int) -> bytes | None:
        while len(self.buf) < n:
            if self.eof or not self._fill():
                return None
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


def _parse_head(head: bytes, what: str) -> tuple[str, int, str, CIMultiDict[str]]:
    from multidict import CIMultiDict

    text = head.decode("iso-8859-1")
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    status_line = lines[0]
    m = re.match(r"^(RTSP/1\.0|HTTP/1\.[01]) (\d{3})(?: (.*))?$", status_line)
    if not m:
        raise MediaError(f"{what}: malformed status line {status_line[:80]!r}")
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise MediaError(f"{what}: malformed header line {line[:80]!r}")
        headers.add(name.strip(), value.strip())
    return m.group(1), int(m.group(2)), m.group(3) or "", headers


RTSPS_PORT = 322  # the rtsps scheme's default port (RFC 7826: RTSP over TLS)


def _connect(url: str, default_port: int, timeout: float, verify: bool | str = True) -> tuple[socket.socket, str]:
    """A connection to `url`'s host; TLS for https/rtsps, with the certificate checks `verify` asks for
    (requests' meaning: --bview-ca gives a CA file, --bview-insecure False)."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise MediaError(f"no host in URL {redact(url)}")
    try:
        sock = socket.create_connection((parts.hostname, parts.port or default_port), timeout=timeout)
    except OSError as exc:
        raise MediaError(f"cannot connect to {redact(url)}: {exc}") from None
    if parts.scheme in ("https", "rtsps"):
        from pytest_bview.client import ssl_context

        try:
            sock = ssl_context(verify).wrap_socket(sock, server_hostname=parts.hostname)
        except (ssl.SSLError, OSError) as exc:
            sock.close()
            raise MediaError(
                f"TLS to {redact(url)} failed: {exc} (certificate checks: --bview-ca FILE, or --bview-insecure)"
            ) from None
    return sock, parts.hostname


# --------------------------------------------------------------------------------------------------------------
# RTSP DESCRIBE over a raw socket
# --------------------------------------------------------------------------------------------------------------


def _strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=netloc))


def rtsp_request(
    url: str,
    method: str = "DESCRIBE",
    user: str | None = None,
    password: str | None = None,
    timeout: float = 5.0,
    *,
    headers: dict[str, str] | None = None,
    auth: str = "digest",
    raw: bytes | None = None,
    verify: bool | str = True,
) -> tuple[int, CIMultiDict[str], bytes]:
    """One RTSP request (retried once with credentials on 401); returns (status, headers, body).

    `auth` is the preferred scheme ("digest" or "basic"); `raw` sends those bytes verbatim instead
    (to test a server's robustness) and reads one response.
    """
    url = _strip_userinfo(url)
    deadline = time.monotonic() + timeout
    sock, _ = _connect(url, 554, timeout, verify)
    wire = _Wire(sock, deadline, 4 * 1024 * 1024, f"RTSP {method} {redact(url)}")
    cseq = 0
    try:
        authz: str | None = None
        while True:
            cseq += 1
            if raw is not None:
                sock.sendall(raw)
            else:
                lines = [f"{method} {url} RTSP/1.0", f"CSeq: {cseq}", "User-Agent: pytest-bview"]
                if method == "DESCRIBE":
                    lines.append("Accept: application/sdp")
                lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
                if authz:
                    lines.append(f"Authorization: {authz}")
                sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            head = wire.read_until(b"\r\n\r\n", MAX_HEADER_BYTES)
            if head is None:
                raise MediaError(f"{wire.what}: connection closed before a response")
            _, status, _, resp_headers = _parse_head(head[:-4], wire.what)
            length = int(resp_headers.get("Content-Length", "0") or 0)
            if length < 0 or length > 1024 * 1024:
                raise MediaError(f"{wire.what}: Content-Length {length} out of bounds")
            body = wire.read_exact(length) if length else b""
            if body is None:
                raise MediaError(f"{wire.what}: body shorter than Content-Length {length}")
            if status == 401 and user and authz is None and raw is None:
                authz = authorization(
                    resp_headers.getall("WWW-Authenticate", []), method, url, user, password or "", auth
                )
                if authz:
                    continue
            return status, resp_headers, body
    finally:
        sock.close()


def rtsp_describe(
    url: str,
    user: str | None = None,
    password: str | None = None,
    timeout: float = 5.0,
    *,
    auth: str = "digest",
    verify: bool | str = True,
) -> tuple[int, CIMultiDict[str], bytes]:
    """DESCRIBE `url` over a raw socket (no credentials: the first answer is returned as is)."""
    return rtsp_request(url, "DESCRIBE", user, password, timeout, auth=auth, verify=verify)


# --------------------------------------------------------------------------------------------------------------
# Decoded stream probe (PyAV)
# --------------------------------------------------------------------------------------------------------------


@dataclass
class StreamProbe:
    """What a client decoding the stream for a while saw."""

    url: str  # redacted
    transport: str
    codec: str = ""
    width: int = 0
    height: int = 0
    frames: int = 0
    fps: float = 0.0  # from frame pts: (frames - 1) / (last pts - first pts)
    bitrate_kbps: float = 0.0  # packet bytes * 8 / packet pts span
    keyframes: list[float] = field(default_factory=list)  # pts (s, relative to the first frame) of key frames
    pts: list[float] = field(default_factory=list)  # every frame's pts (s, relative)
    wall_seconds: float = 0.0
    y: np.ndarray | None = None  # last frame's luma plane (H, W) uint8
    rgb: np.ndarray | None = None  # last frame as (H, W, 3) uint8
    sizes: set[tuple[int, int]] = field(default_factory=set)  # every decoded size seen


def probe_stream(
    url: str,
    user: str | None = None,
    password: str | None = None,
    seconds: float = 2.0,
    transport: str = "tcp",
    timeout: float = 10.0,
    *,
    on_frame: Callable[[int, float], None] | None = None,
    keep: Callable[[int, float], bool] | None = None,
    options: dict[str, str] | None = None,
    verify: bool | str = True,
) -> StreamProbe:
    """Decode `seconds` of stream time (bounded by `timeout` of wall time) and measure it.

    `on_frame(index, pts)` is called after each decoded frame (e.g. to send a command mid-stream);
    `keep(index, pts)` chooses the frame kept as `y`/`rgb` (default: the last one);
    `options` are extra FFmpeg demuxer options; `verify` the certificate checks of an rtsps:// URL (Rule 3).
    """
    import av

    if transport not in ("tcp", "udp"):
        raise ValueError(f"transport must be 'tcp' or 'udp', not {transport!r}")
    if urlsplit(url).scheme == "rtsps":
        # FFmpeg's RTSP demuxer opens its TLS connection without the caller's options (no CA file; by default no
        # certificate check at all): the certificate is checked here first, as the HTTP client checks it
        sock, _ = _connect(url, RTSPS_PORT, min(timeout, 10.0), verify)
        sock.close()
    shown = redact(url)
    full = with_credentials(_strip_userinfo(url), user, password)
    probe = StreamProbe(url=shown, transport=transport)
    av_options = {
        "rtsp_transport": transport,
        "timeout": str(int(min(timeout, 30) * 1e6)),  # socket I/O, microseconds
        "allowed_media_types": "video",
        # start decoding at once: stream time then tracks wall time (~0.2 s behind instead of ~1 s),
        # which test_force_idr relies on; the decoder reads the stream's own SPS either way
        "analyzeduration": "0",
        "probesize": "32768",
        **(options or {}),
    }
    start = time.monotonic()
    deadline = start + timeout
    try:
        container = av.open(full, options=av_options, timeout=(timeout, min(timeout, 5.0)))
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot open {shown} over {transport}: {_scrub(exc, full, url)}") from None
    kept = None
    try:
        if not container.streams.video:
            raise MediaError(f"{shown}: no video stream")
        stream = container.streams.video[0]
        probe.codec = stream.codec_context.name
        tb = float(stream.time_base or 0) or 1 / 90000
        first_pts: float | None = None
        pkt_bytes = 0
        pkt_first: float | None = None
        pkt_last = 0.0
        for packet in container.demux(stream):
            if time.monotonic() > deadline:
                break
            if packet.size and packet.pts is not None:
                p = packet.pts * tb
                pkt_first = p if pkt_first is None else min(pkt_first, p)
                pkt_last = max(pkt_last, p)
                pkt_bytes += packet.size
            for frame in packet.decode():
                if frame.pts is None:
                    if first_pts is not None:
                        probe.frames += 1  # untimed frame: counted, not timed
                        continue
                    t = 0.0  # FFmpeg's RTP demuxer leaves the very first frame untimed; its clock starts at 0
                else:
                    t = frame.pts * tb
                if first_pts is None:
                    first_pts = t
                rel = t - first_pts
                probe.pts.append(rel)
                probe.sizes.add((frame.width, frame.height))
                probe.width, probe.height = frame.width, frame.height
                if frame.key_frame:
                    probe.keyframes.append(rel)
                if keep is None or keep(probe.frames, rel):
                    kept = frame
                if on_frame is not None:
                    on_frame(probe.frames, rel)
                probe.frames += 1
            if first_pts is not None and probe.pts and probe.pts[-1] >= seconds:
                break
        if probe.frames > 1 and probe.pts[-1] > 0:
            probe.fps = (probe.frames - 1) / probe.pts[-1]
        if pkt_first is not None and pkt_last > pkt_first and probe.frames > 1:
            # bytes of N frames cover N frame intervals
            span = (pkt_last - pkt_first) * probe.frames / (probe.frames - 1)
            probe.bitrate_kbps = pkt_bytes * 8 / span / 1000
        if kept is not None:
            probe.y = kept.to_ndarray(format="gray")
            probe.rgb = kept.to_ndarray(format="rgb24")
    except av.error.FFmpegError as exc:
        if probe.frames == 0:
            raise MediaError(f"decoding {shown} over {transport} failed: {_scrub(exc, full, url)}") from None
    finally:
        container.close()
    probe.wall_seconds = time.monotonic() - start
    if probe.frames == 0:
        raise MediaError(f"{shown} over {transport}: no frame decoded within {timeout:.1f} s")
    return probe


def _scrub(exc: BaseException, *secrets_in: str) -> str:
    text = str(exc)
    for s in secrets_in:
        text = text.replace(s, redact(s))
    return text


# --------------------------------------------------------------------------------------------------------------
# HTTP GET with bounded reads, and the MJPEG multipart parser (RFC 2046 5.1)
# --------------------------------------------------------------------------------------------------------------


@dataclass
class HttpResponse:
    status: int
    headers: CIMultiDict[str]
    wire: _Wire  # positioned at the start of the body (already de-chunked by `body_reader`)
    chunked: bool


def http_get(
    url: str, user: str | None, password: str | None, timeout: float, budget: int, *, verify: bool | str = True
) -> tuple[HttpResponse, socket.socket]:
    """Send GET (answering one 401 with Digest or Basic) and read the response head."""
    return http_open("GET", url, user, password, timeout, budget, verify=verify)


def http_open(
    method: str,
    url: str,
    user: str | None,
    password: str | None,
    timeout: float,
    budget: int,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    verify: bool | str = True,
) -> tuple[HttpResponse, socket.socket]:
    """Send one HTTP/1.1 request (answering one 401 with Digest or Basic); returns the response head
    and the socket, the body unread. The caller closes the socket."""
    url = _strip_userinfo(url)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + timeout
    authz: str | None = None
    for _ in range(2):
        sock, _ = _connect(url, 443 if parts.scheme == "https" else 80, timeout, verify)
        wire = _Wire(sock, deadline, budget, f"{method} {redact(url)}")
        lines = [
            f"{method} {target} HTTP/1.1",
            f"Host: {parts.netloc}",
            "Connection: close",
            "User-Agent: pytest-bview",
        ]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body or method in ("PUT", "POST"):
            lines.append(f"Content-Length: {len(body)}")
        if authz:
            lines.append(f"Authorization: {authz}")
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            head = wire.read_until(b"\r\n\r\n", MAX_HEADER_BYTES)
        except BaseException:
            sock.close()
            raise
        if head is None:
            sock.close()
            raise MediaError(f"{wire.what}: connection closed before a response")
        _, status, _, resp_headers = _parse_head(head[:-4], wire.what)
        chunked = "chunked" in resp_headers.get("Transfer-Encoding", "").lower()
        if status == 401 and user and authz is None:
            sock.close()
            authz = authorization(resp_headers.getall("WWW-Authenticate", []), method, target, user, password or "")
            if authz:
                continue
        return HttpResponse(status, resp_headers, wire, chunked), sock
    raise AssertionError("unreachable")


def http_request(
    method: str,
    url: str,
    user: str | None = None,
    password: str | None = None,
    timeout: float = 10.0,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    max_bytes: int = 16 * 1024 * 1024,
    verify: bool | str = True,
) -> tuple[int, CIMultiDict[str], bytes]:
    """One bounded HTTP request; returns (status, headers, whole body). For snapshot and audio checks."""
    resp, sock = http_open(
        method, url, user, password, timeout, max_bytes + MAX_HEADER_BYTES, body=body, headers=headers, verify=verify
    )
    try:
        reader: Any = _Dechunk(resp.wire) if resp.chunked else resp.wire
        length = resp.headers.get("Content-Length")
        if length is not None and not resp.chunked:
            if not length.isdigit() or int(length) > max_bytes:
                raise MediaError(f"{resp.wire.what}: Content-Length {length!r} out of bounds")
            data = reader.read_exact(int(length))
            if data is None:
                raise MediaError(f"{resp.wire.what}: body shorter than Content-Length {length}")
            return resp.status, resp.headers, data
        while not reader.eof:  # read to close (or last chunk)
            if len(reader.buf) > max_bytes:
                raise MediaError(f"{resp.wire.what}: body over {max_bytes} bytes")
            reader._fill()
        return resp.status, resp.headers, bytes(reader.buf)
    finally:
        sock.close()


class _Dechunk:
    """Presents a chunked body (RFC 9112 7.1) as a plain byte stream with the _Wire read API."""

    def __init__(self, wire: _Wire) -> None:
        self.wire, self.buf, self.eof, self.what = wire, bytearray(), False, wire.what

    def _fill(self) -> bool:
        line = self.wire.read_until(b"\r\n", 1024)
        if line is None:
            self.eof = True
            return False
        try:
            size = int(line.split(b";")[0].strip(), 16)
        except ValueError:
            raise MediaError(f"{self.what}: malformed chunk size {line[:40]!r}") from None
        if size == 0:
            self.eof = True
            return False
        data = self.wire.read_exact(size + 2)
        if data is None:
            self.eof = True
            return False
        self.buf += data[:-2]
        return True

    read_until = _Wire.read_until
    read_exact = _Wire.read_exact


@dataclass
class MjpegCapture:
    """Parts read from a multipart/x-mixed-replace stream."""

    frames: list[bytes]
    violations: list[str]  # RFC 2046 / JPEG problems found, empty for a conformant stream
    content_type: str = ""
    sizes: list[tuple[int, int]] = field(default_factory=list)


def read_mjpeg(
    source: str | bytes,
    user: str | None = None,
    password: str | None = None,
    frames: int = 3,
    timeout: float = 10.0,
    *,
    max_part_bytes: int = 8 * 1024 * 1024,
    verify: bool | str = True,
) -> MjpegCapture:
    """Read `frames` JPEG parts from an MJPEG URL (or a raw HTTP response in bytes) and check them.

    Strict reading of RFC 2046 5.1.1: the body starts with the dash-boundary line (a preamble is
    reported), each part has Content-Type image/jpeg and Content-Length (reported if missing; the
    part is then delimited by the next boundary), each body is one complete JPEG (SOI..EOI) that
    Pillow decodes.
    """
    budget = frames * max_part_bytes + MAX_HEADER_BYTES
    sock = None
    if isinstance(source, bytes):
        a, b = socket.socketpair()
        try:
            a.sendall(source)  # small test inputs only (the socket buffer must hold them)
        finally:
            a.close()
        sock = b
        wire = _Wire(b, time.monotonic() + timeout, budget, "raw MJPEG response")
        head = wire.read_until(b"\r\n\r\n", MAX_HEADER_BYTES)
        if head is None:
            b.close()
            raise MediaError("raw MJPEG response has no header section")
        _, status, _, headers = _parse_head(head[:-4], wire.what)
        resp = HttpResponse(status, headers, wire, "chunked" in headers.get("Transfer-Encoding", "").lower())
    else:
        resp, sock = http_get(source, user, password, timeout, budget, verify=verify)
    try:
        return _read_parts(resp, frames, max_part_bytes)
    finally:
        sock.close()


def _read_parts(resp: HttpResponse, want: int, max_part: int) -> MjpegCapture:
    what = resp.wire.what
    if resp.status != 200:
        raise MediaError(f"{what}: HTTP {resp.status}")
    ctype = resp.headers.get("Content-Type", "")
    out = MjpegCapture(frames=[], violations=[], content_type=ctype)
    m = re.match(r'^\s*multipart/x-mixed-replace\s*;(?:.*;)?\s*boundary=("[^"]+"|[^;\s]+)', ctype, re.I)
    if not m:
        raise MediaError(f"{what}: Content-Type is {ctype!r}, not multipart/x-mixed-replace with a boundary")
    boundary = m.group(1).strip('"').encode()
    dash = b"--" + boundary
    body: Any = _Dechunk(resp.wire) if resp.chunked else resp.wire
    first = body.read_until(dash, 64 * 1024)
    if first is None:
        raise MediaError(f"{what}: body ended before any boundary {dash!r}")
    preamble = first[: -len(dash)]
    if preamble.strip(b"\r\n"):
        out.violations.append(
            f"{len(preamble)} bytes precede the first boundary line {dash.decode()!r} "
            f"(starts {bytes(preamble[:40])!r}); RFC 2046 5.1.1 lets a preamble stand there, which a client ignores, "
            "but a stream's reader that takes the first bytes as a part breaks on it"
        )
    for index in range(want):
        rest = body.read_until(b"\r\n", 1024)  # rest of the delimiter line: "" or "--" (close)
        if rest is None:
            raise MediaError(f"{what}: stream ended after {index} parts")
        if rest.startswith(b"--"):
            raise MediaError(f"{what}: close-delimiter after {index} parts")
        head = body.read_until(b"\r\n\r\n", 8192)
        if head is None:
            raise MediaError(f"{what}: stream ended in the headers of part {index + 1}")
        part_headers: dict[str, str] = {}
        if head != b"\r\n\r\n" and head.strip():
            for line in head.decode("iso-8859-1").strip("\r\n").split("\r\n"):
                name, sep, value = line.partition(":")
                if not sep:
                    out.violations.append(f"part {index + 1}: malformed header line {line[:60]!r}")
                    continue
                part_headers[name.strip().lower()] = value.strip()
        if part_headers.get("content-type", "").split(";")[0].strip().lower() != "image/jpeg":
            out.violations.append(
                f"part {index + 1}: Content-Type is {part_headers.get('content-type')!r}, expected image/jpeg"
            )
        length_text = part_headers.get("content-length")
        if length_text is None:
            out.violations.append(f"part {index + 1}: no Content-Length header")
            data = body.read_until(b"\r\n" + dash, max_part)
            if data is None:
                raise MediaError(f"{what}: stream ended inside part {index + 1}")
            jpeg = data[: -len(dash) - 2]
        else:
            try:
                length = int(length_text)
            except ValueError:
                raise MediaError(f"{what}: part {index + 1} Content-Length {length_text!r} is not a number") from None
            if not 0 < length <= max_part:
                raise MediaError(f"{what}: part {index + 1} Content-Length {length} out of bounds")
            jpeg = body.read_exact(length)
            if jpeg is None:
                raise MediaError(f"{what}: stream ended inside part {index + 1} (Content-Length {length})")
            if index + 1 < want:
                trailer = body.read_until(dash, 64 * 1024)
                if trailer is None:
                    raise MediaError(f"{what}: no boundary after part {index + 1}")
                junk = trailer[: -len(dash)]
                if junk not in (b"\r\n", b"\r\n\r\n", b"\n"):
                    out.violations.append(
                        f"part {index + 1}: {len(junk)} unexpected bytes between the JPEG (Content-Length "
                        f"{length}) and the next boundary; Content-Length does not match the part"
                    )
        problem = check_jpeg(jpeg)
        if problem:
            out.violations.append(f"part {index + 1}: {problem}")
        else:
            out.sizes.append(jpeg_dimensions(jpeg))
        out.frames.append(bytes(jpeg))
    return out


def check_jpeg(data: bytes) -> str | None:
    """None if `data` is one complete JPEG (SOI..EOI) that Pillow decodes, else what is wrong."""
    import io

    from PIL import Image

    if not data.startswith(b"\xff\xd8"):
        return f"does not start with SOI (FF D8): {data[:4].hex()}"
    if not data.rstrip(b"\r\n").endswith(b"\xff\xd9"):
        return f"does not end with EOI (FF D9): {data[-4:].hex()}"
    if not data.endswith(b"\xff\xd9"):
        return "trailing bytes after EOI"
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except Exception as exc:  # noqa: BLE001  (any decoder failure is the finding)
        return f"Pillow cannot decode it: {exc}"
    return None


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def jpeg_dimensions(data: bytes) -> tuple[int, int]:
    """(width, height) from the JPEG's SOF marker (ITU T.81 B.2.2); MediaError if there is none."""
    if not data.startswith(b"\xff\xd8"):
        raise MediaError("not a JPEG (no SOI)")
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise MediaError(f"JPEG marker expected at offset {i}")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in _SOF:
            if i + 9 > len(data):
                break
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            return width, height
        if marker in (0xDA, 0xD9):
            break
        i += 2 + length
    raise MediaError("JPEG has no SOF marker before the scan")
