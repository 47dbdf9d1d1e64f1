"""Fuzzing the reference camera: Hypothesis strategies for its HTTP, RTSP and discovery inputs, and the
oracle that judges each answer. Shared by tests/test_fuzz_camera.py (a bounded campaign) and
benchmarks/fuzz_camera.py (a long one that prints examples/s and findings).

Rule 1: the camera never crashes: every input gets an answer with a clear status (HTTP: a status line
        below 500, an XML body that is a well-formed ResponseStatus or block; RTSP: an RTSP/1.0 status
        line below 500 or 501/505/551; discovery: silence or a well-formed Response), or, for bytes
        that are no request at all, a 400 or a closed connection; and it still answers afterwards.
Rule 2: it never corrupts its state: a refused input changes nothing in the store (compared before
        and after); an accepted one is undone so that the campaign stays comparable; at the end
        every configuration resource still reads back schema-valid (`healthy`).
Rule 3: inputs that would legitimately take the camera down (reboot, factory default, format, network
        identity) are never sent with a chance of being accepted; uploads (firmware, configuration
        file) only ever get bodies that cannot be valid.
"""

from __future__ import annotations

import base64
import functools
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import defusedxml.ElementTree as SafeET
from hypothesis import strategies as st

from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.resources import BINARY, MULTIPART, RESOURCES, Instances, match
from pytest_bview.spec.status import Status

ANSWER_SECONDS = 5.0  # an answer slower than this is a finding
USER, PASSWORD = "admin", "admin"

# -- what to send --------------------------------------------------------------------------------

UPLOADS = {r.template for r in RESOURCES if any(o.inbound in (MULTIPART, BINARY) for o in r.ops)}
SAFE_URLS = sorted({u for r in RESOURCES if not r.has("disruptive") for u in Instances().expand(r)})
DISRUPTIVE_URLS = sorted({u for r in RESOURCES if r.has("disruptive") for u in Instances().expand(r)})
UPLOAD_URLS = sorted({u for r in RESOURCES if r.template in UPLOADS for u in Instances().expand(r)})

METHODS = ["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "PROPFIND", "get", "X-FUZZ"]
TRAVERSALS = [
    "/../../../../etc/passwd",
    "/System/../../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/Images/1/..%2f..%2f..%2fetc%2fpasswd",
    "//System//DeviceInfo",
    "/System/DeviceInfo%00.xml",
    "/System/DeviceInfo/",
    "/SYSTEM/deviceinfo",
    "/System/DeviceInfo?" + "a=" + "A" * 4000,
    "/" + "A" * 7000,
    "/Images/%31/Color",
    "/Images/1/Color;jsessionid=1",
    "*",
    "http://evil.example/System/DeviceInfo",
]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


GOOD_AUTH = f"Basic {_b64(f'{USER}:{PASSWORD}'.encode())}"
BROKEN_AUTHS = [
    "Basic",
    "Basic ",
    "Basic !!!not-base64!!!",
    f"Basic {_b64(b'no-colon')}",
    f"Basic {_b64(b'admin:wrong')}",
    f"Basic {_b64(b':')}",
    f"Basic {_b64(bytes([0xFF, 0xFE]) + b':x')}",
    f"Basic {_b64(b'admin:admin')[:-2]}",
    "basic " + _b64(b"admin:admin"),
    "Bearer abc.def.ghi",
    'Digest username="admin", realm="B-View", nonce="x", uri="/", response="0"',
    "Basic " + "A" * 6000,
]
INJECTIONS = [
    ("X-Fuzz", "a\r\nX-Injected: 1"),
    ("X-Fuzz", "a\r\n\r\nGET /System/DeviceInfo HTTP/1.1"),
    ("X-Fuzz", "a\nX-Injected: bare-lf"),
    ("X-Fuzz", "nul\x00byte"),
    ("Host", ""),
    ("Host", "a" * 300),
    ("Transfer-Encoding", "chunked, identity"),
    ("Content-Length", "-1"),
    ("Content-Length", "18446744073709551616"),
    ("Expect", "100-continue"),
    ("Connection", "keep-alive, Upgrade"),
    ("Upgrade", "websocket"),
    ("X-Long", "v" * 9000),
]

BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE Color [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(b'<!ENTITY a%d "%s">' % (i, (b"&a%d;" % (i - 1) if i > 1 else b"&a;") * 10) for i in range(1, 9))
    + b"]><Color><Mode>&a8;</Mode></Color>"
)
XXE = b'<?xml version="1.0"?><!DOCTYPE Color [<!ENTITY x SYSTEM "file:///etc/passwd">]><Color><Mode>&x;</Mode></Color>'
BAD_BODIES = [
    b"",
    b"<",
    b"<Color>",
    b"<Color><Mode>manual</Color></Mode>",
    b"<?xml version='1.0' encoding='UTF-16'?><Color/>",
    "<Color><Mode>\u00e9\u4e2d\U0001f600</Mode></Color>".encode(),
    b"<Color><Mode>\xff\xfe</Mode></Color>",
    b"\xef\xbb\xbf<Color><Brightness>50</Brightness></Color>",
    b"<Color><![CDATA[<x>]]><!-- c --><?pi x?></Color>",
    BOMB,
    XXE,
    b"<a>" * 5000 + b"</a>" * 5000,
    b"<Color>" + b"<Hue>1</Hue>" * 30000 + b"</Color>",
    b"<Color><Mode>" + b"A" * 300_000 + b"</Mode></Color>",
    b"\x00" * 64,
    b"Username=admin&Password=&&&=%zz%",
    b"Param1=" + b"9" * 400,
]
BOUNDARY = "fuzzBOUNDARY"
MULTIPARTS = [
    (f"multipart/form-data; boundary={BOUNDARY}", b"--" + BOUNDARY.encode() + b"\r\n\r\nno disposition\r\n"),
    (
        f"multipart/form-data; boundary={BOUNDARY}",
        b"--" + BOUNDARY.encode() + b'\r\nContent-Disposition: form-data; name="setting_file"; filename="fw.pkg"\r\n'
        b"\r\nnot a firmware package\r\n--" + BOUNDARY.encode() + b"--\r\n",
    ),
    ("multipart/form-data; boundary=", b"----\r\n\r\n"),
    ("multipart/form-data", b"--x\r\n"),
    (f'multipart/form-data; boundary="{BOUNDARY}', b"--" + BOUNDARY.encode()),
    ("multipart/form-data; boundary=" + "b" * 200, b"--" + b"b" * 200 + b"\r\n" + b"\x00" * 1000),
]
CONTENT_TYPES = [
    "application/xml; charset=UTF-8",
    "text/xml",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    "application/xml; charset=ISO-8859-1",
    "audio/basic",
    "",
]


def _valid_doc(url: str) -> bytes | None:
    """The factory document of a block resource, as XML (the start of many mutations)."""
    from pytest_bview.protocol.xmlblocks import to_xml

    found = match(url)
    doc = _defaults().get(url)
    if found is None or not found[0].block or doc is None:
        return None
    return to_xml(BLOCKS[found[0].block], doc, include_wo=True)


@functools.cache
def _defaults() -> dict[str, Any]:
    from pytest_bview.simulator.device import Identity
    from pytest_bview.simulator.factory import factory_defaults

    return factory_defaults(Identity().as_mapping(80, 554))


@st.composite
def _body(draw: st.DrawFn, url: str) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(["valid", "mutated", "bad", "bad", "random", "multipart"]))
    ctype = draw(st.sampled_from(CONTENT_TYPES))
    if kind in ("valid", "mutated") and url not in UPLOAD_URLS:
        doc = _valid_doc(url)
        if doc is not None:
            if kind == "mutated":
                text = doc.decode()
                # replace one element's text with fuzz, or cut the document short
                if draw(st.booleans()):
                    cut = draw(st.integers(0, len(text)))
                    return ctype, text[:cut].encode()
                start = text.find(">", text.find(">") + 1) + 1
                end = text.find("<", start)
                if 0 < start < end:
                    fuzz = draw(st.text(max_size=40)).replace("<", "&lt;").replace("&", "&amp;")
                    return ctype, (text[:start] + fuzz + text[end:]).encode("utf-8", "surrogatepass")
            return ctype, doc
    if kind == "multipart":
        return draw(st.sampled_from(MULTIPARTS))
    if kind == "random":
        return ctype, draw(st.binary(max_size=512))
    return ctype, draw(st.sampled_from(BAD_BODIES))


@st.composite
def http_requests(draw: st.DrawFn) -> bytes:
    """One raw HTTP/1.1 request (with Connection: close), well-framed or deliberately not."""
    method = draw(st.sampled_from(METHODS))
    writes = method not in ("GET", "HEAD", "OPTIONS", "TRACE", "get")
    pool = [SAFE_URLS, TRAVERSALS, UPLOAD_URLS] + ([DISRUPTIVE_URLS] if not writes else [])
    url = draw(st.one_of(st.sampled_from(SAFE_URLS), st.sampled_from(draw(st.sampled_from(pool)))))
    parts = url.split("/")
    if len(parts) > 1 and draw(st.integers(0, 9)) == 0:  # a template parameter or segment mutated
        i = draw(st.integers(1, len(parts) - 1))
        parts[i] = draw(st.sampled_from(["0", "-1", "2", "99999999999999999999", "abc", "", "%00", "1.0", " 1"]))
        url = "/".join(parts)
    upload = url in UPLOAD_URLS
    auth = draw(st.sampled_from([GOOD_AUTH] * 6 + [None] + BROKEN_AUTHS))
    if writes and auth == GOOD_AUTH and url in DISRUPTIVE_URLS and not upload:
        auth = draw(st.sampled_from(BROKEN_AUTHS))  # Rule 3
    headers = [("Host", "camera"), ("Connection", "close")]
    if auth is not None:
        headers.append(("Authorization", auth))
    ctype, body = draw(_body(url)) if (writes or draw(st.integers(0, 4)) == 0) else ("", b"")
    if upload and body.startswith(b"<"):
        body = b"\x00not-a-package" + body  # Rule 3
    if ctype:
        headers.append(("Content-Type", ctype))
    headers += draw(st.lists(st.sampled_from(INJECTIONS), max_size=2))
    framing = draw(st.sampled_from(["length"] * 6 + ["chunked", "bad-chunked", "none", "short"]))
    if framing == "length":
        headers.append(("Content-Length", str(len(body))))
    elif framing == "short":  # announces more than it sends; the oracle half-closes
        headers.append(("Content-Length", str(len(body) + draw(st.integers(1, 100)))))
    elif framing in ("chunked", "bad-chunked"):
        headers.append(("Transfer-Encoding", "chunked"))
        size = b"%x" % len(body) if framing == "chunked" else draw(st.sampled_from([b"zz", b"-1", b"fffffffffffff"]))
        body = size + b"\r\n" + body + b"\r\n0\r\n\r\n" if body or framing == "bad-chunked" else b"0\r\n\r\n"
    version = draw(st.sampled_from(["HTTP/1.1"] * 8 + ["HTTP/1.0", "HTTP/2.0", "HTTP/1.1 x", "HTTQ/1.1"]))
    head = f"{method} {url} {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("utf-8", "surrogatepass") + body


RTSP_METHODS = ["OPTIONS", "DESCRIBE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER", "ANNOUNCE", "FUZZ"]


@st.composite
def rtsp_requests(draw: st.DrawFn) -> bytes:
    """One raw RTSP/1.0 request (or junk); never with valid credentials (no stream is started)."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(min_size=1, max_size=300)) + b"\r\n\r\n"
    method = draw(st.sampled_from(RTSP_METHODS))
    path = draw(st.sampled_from(["/live/0/main", "/live/0/sub", "/live/0/main/trackID=0", "/nope", "/../x", "*"]))
    uri = path if path == "*" else f"rtsp://127.0.0.1:554{path}"
    headers = []
    cseq = draw(st.sampled_from(["1", "", "abc", "-1", "99999999999999999999", None]))
    if cseq is not None:
        headers.append(f"CSeq: {cseq}")
    if draw(st.booleans()):
        headers.append(f"Authorization: {draw(st.sampled_from(BROKEN_AUTHS))}")
    if method == "SETUP":
        headers.append(draw(st.sampled_from(["Transport: RTP/AVP/TCP;interleaved=0-1", "Transport: junk", "X: y"])))
    if method in ("PLAY", "PAUSE", "TEARDOWN"):
        headers.append(f"Session: {draw(st.sampled_from(['12345678', '', 'x' * 300]))}")
    body = b""
    if draw(st.integers(0, 3)) == 0:
        body = draw(st.binary(max_size=200))
        length = len(body) + draw(st.sampled_from([0, 0, -1, 1000]))
        headers.append(f"Content-Length: {length}")
    version = draw(st.sampled_from(["RTSP/1.0"] * 6 + ["RTSP/2.0", "HTTP/1.1", "RTSP/1.0x"]))
    headers += [f"X-Fuzz: {draw(st.text(alphabet=st.characters(max_codepoint=126, min_codepoint=32), max_size=50))}"]
    return (f"{method} {uri} {version}\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n").encode() + body


@st.composite
def discovery_datagrams(draw: st.DrawFn) -> bytes:
    """A Discovery V2 request, valid or truncated/mutated, or bytes that are no message."""
    from pytest_bview.protocol import discovery as d

    command = draw(st.sampled_from([d.PROBE, d.SET_DEVICE_CONFIG, d.GET_NET_CONFIG, d.SET_NET_CONFIG, 0, 999]))
    auth = draw(st.sampled_from([None, d.Auth("admin", "wrong"), d.Auth("", ""), d.Auth("x" * 300, "y")]))
    data = d.build_request(command, draw(st.sampled_from(["", "xx", "00:11:22:33:44:55", "zz"])), auth)
    how = draw(st.sampled_from(["as is", "truncated", "flipped", "random", "spliced"]))
    if how == "truncated":
        return data[: draw(st.integers(0, len(data) - 1))]
    if how == "flipped":
        i = draw(st.integers(0, len(data) - 1))
        return data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1 :]
    if how == "random":
        return draw(st.binary(max_size=600))
    if how == "spliced":
        return data + draw(st.sampled_from([BOMB, XXE, b"<Request>" * 200, b"\x00"]))
    return data


# -- how to judge it -----------------------------------------------------------------------------


@dataclass
class Finding:
    surface: str  # http, rtsp, discovery, state
    problem: str
    sent: bytes

    def __str__(self) -> str:
        return f"{self.surface}: {self.problem}\n  sent: {self.sent[:300]!r}"


@dataclass
class Oracle:
    """Sends one input to a running camera (CameraThread) and says what, if anything, is wrong."""

    sim: Any
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    baseline: dict[str, str] = field(default_factory=dict)  # survey() before the campaign

    @property
    def store(self) -> Any:
        return self.sim.camera.device.store

    def _state(self) -> dict[str, Any]:
        return self.store.snapshot()

    @staticmethod
    def _comparable(snap: dict[str, Any]) -> dict[str, Any]:
        extra = {k: v for k, v in snap["extra"].items() if k != "log"}  # the log may record a refused request
        return {"resources": snap["resources"], "extra": extra}

    def _found(self, surface: str, problem: str, sent: bytes) -> str:
        self.findings.append(Finding(surface, problem, sent))
        return problem

    # -- HTTP
    def http(self, raw: bytes) -> str | None:
        self.counts["http"] = self.counts.get("http", 0) + 1
        before = self._state()
        short = _announces_more(raw)
        answer, error = _exchange(("127.0.0.1", self.sim.ports["http"]), raw, half_close=short)
        after = self._state()
        if error:
            return self._found("http", error, raw)
        if not answer:
            if short or _is_malformed_http(raw):  # a request cut short may be met with a close
                return None
            return self._found("http", "closed without an answer", raw)
        problem, accepted = _judge_http(answer)
        if problem:
            return self._found("http", problem, raw)
        if self._comparable(after) != self._comparable(before):
            if not accepted:
                return self._found("state", f"a refused request changed the store ({_diff(before, after)})", raw)
            self.sim.call(_replace, self.store, before)  # Rule 2: undo what was accepted
        return None

    # -- RTSP
    def rtsp(self, raw: bytes) -> str | None:
        self.counts["rtsp"] = self.counts.get("rtsp", 0) + 1
        answer, error = _exchange(("127.0.0.1", self.sim.ports["rtsp"]), raw, half_close=True, close_ok=True)
        if error:
            return self._found("rtsp", error, raw)
        if not answer:
            return None  # junk may be met with a close
        line = answer.split(b"\r\n", 1)[0]
        parts = line.split(b" ", 2)
        if len(parts) < 2 or parts[0] != b"RTSP/1.0" or not parts[1].isdigit():
            return self._found("rtsp", f"answered {line[:80]!r}, not an RTSP/1.0 status line", raw)
        code = int(parts[1])
        if code >= 500 and code not in (501, 505, 551):
            return self._found("rtsp", f"answered {code}: a server error", raw)
        return None

    # -- discovery
    def discovery(self, data: bytes) -> str | None:
        from pytest_bview.protocol import discovery as d
        from pytest_bview.simulator.discovery import DiscoveryResponder

        self.counts["discovery"] = self.counts.get("discovery", 0) + 1
        camera = self.sim.camera
        facts = camera.extensions.get("facts")
        if facts is None:
            return None
        responder = DiscoveryResponder(facts, port=0, faults=camera.faults)
        before = self._state()

        async def handle() -> bytes | None:
            return responder.handle(data, ("127.0.0.1", 9))

        try:
            reply = self.sim.call(handle, timeout=ANSWER_SECONDS)
        except Exception as exc:  # noqa: BLE001 - a crash is exactly what we look for
            return self._found("discovery", f"handle raised {exc!r}", data)
        if reply is not None:
            try:
                msg = d.parse_message(reply)
            except d.ParseError as exc:
                return self._found("discovery", f"replied with an unreadable message ({exc})", data)
            if msg.root != "Response":
                return self._found("discovery", f"replied with a <{msg.root}>", data)
        if self._comparable(self._state()) != self._comparable(before):  # all unauthenticated or malformed
            return self._found("state", "a discovery datagram changed the store", data)
        return None

    # -- after a campaign
    def survey(self) -> dict[str, str]:
        """Rule 2: what GET of every configuration resource answers ("valid", or the status or problem);
        a campaign compares the survey after it with the one before."""
        from pytest_bview import checks
        from pytest_bview.client import Client

        seen = {}
        client = Client(f"http://127.0.0.1:{self.sim.ports['http']}", USER, PASSWORD, timeout=ANSWER_SECONDS)
        try:
            for r in RESOURCES:
                if not r.block or not r.op("GET"):
                    continue
                for url in Instances().expand(r):
                    ex = client.get(url)
                    if ex.status != 200:
                        seen[url] = f"HTTP {ex.status} statusCode {checks.status_code(ex)}"
                        continue
                    try:
                        errors = checks.schema_errors(checks.parse_xml(ex, r.section), r.block)
                    except AssertionError as exc:
                        errors = [str(exc).splitlines()[0]]
                    seen[url] = f"invalid: {errors[:2]}" if errors else "valid"
        finally:
            client.close()
        return seen


async def _replace(store: Any, snapshot: dict[str, Any]) -> None:
    store.replace(snapshot)


def _diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    keys = sorted(
        {k for k in set(before["resources"]) | set(after["resources"]) if before["resources"].get(k) != after["resources"].get(k)}
        | {f"extra:{k}" for k in set(before["extra"]) | set(after["extra"]) if before["extra"].get(k) != after["extra"].get(k)}
    )  # fmt: skip
    return ", ".join(keys[:5])


def _exchange(
    address: tuple[str, int], raw: bytes, *, half_close: bool, close_ok: bool = False
) -> tuple[bytes, str | None]:
    """Send `raw`, read the answer until the peer closes; (answer, problem or None)."""
    deadline = time.monotonic() + ANSWER_SECONDS
    try:
        sock = socket.create_connection(address, timeout=ANSWER_SECONDS)
    except OSError as exc:
        return b"", f"connection refused: the camera is down ({exc})"
    answer = b""
    try:
        try:
            sock.sendall(raw)
            if half_close:
                sock.shutdown(socket.SHUT_WR)  # a body shorter than announced must not keep it waiting
        except OSError:
            pass  # the camera may refuse to read a whole oversized request; its answer still counts
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return answer, None if (answer or close_ok) else "connection reset without an answer"
            if not chunk:
                return answer, None
            answer += chunk
            if _complete(answer, head_only=raw[:5].upper() == b"HEAD "):
                return answer, None  # a keep-alive answer is complete at its Content-Length
        return answer, f"no complete answer within {ANSWER_SECONDS:g} s ({len(answer)} bytes)"
    except TimeoutError:
        return answer, f"no complete answer within {ANSWER_SECONDS:g} s ({len(answer)} bytes)"
    finally:
        sock.close()


def _complete(answer: bytes, *, head_only: bool = False) -> bool:
    """A whole answer: its header block and as many body bytes as its Content-Length (0 if absent).

    The answer to HEAD is its header block alone (RFC 9110 9.3.2)."""
    head, sep, body = answer.partition(b"\r\n\r\n")
    if not sep:
        return False
    if head_only:
        return True
    fields = {k.strip().lower(): v.strip() for k, _, v in (h.partition(b":") for h in head.split(b"\r\n")[1:])}
    if b"multipart/x-mixed-replace" in fields.get(b"content-type", b"").lower():
        return True  # the MJPEG stream (9.4.1.2.2) never ends by design: its start is the answer
    if b"chunked" in fields.get(b"transfer-encoding", b"").lower():
        return body.endswith(b"0\r\n\r\n")
    length = fields.get(b"content-length", b"0")
    return length.isdigit() and len(body) >= int(length)


def _announces_more(raw: bytes) -> bool:
    """The request's Content-Length promises more bytes than follow the header block."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lengths = [
        v.strip() for k, _, v in (h.partition(b":") for h in head.split(b"\r\n")) if k.lower() == b"content-length"
    ]
    return any(v.isdigit() and int(v) > len(body) for v in lengths)


def _is_malformed_http(raw: bytes) -> bool:
    """Bytes the HTTP parser may reject by closing (no valid request line or framing)."""
    line = raw.split(b"\r\n", 1)[0]
    return not line.endswith(b" HTTP/1.1") and not line.endswith(b" HTTP/1.0")


def _judge_http(answer: bytes) -> tuple[str | None, bool]:
    """(problem or None, whether the request was accepted) of one raw HTTP answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = lines[0].split(b" ", 2)
    if len(status) < 2 or not status[0].startswith(b"HTTP/") or not status[1].isdigit():
        return f"answered {lines[0][:80]!r}, not an HTTP status line", False
    code = int(status[1])
    if not status[0].startswith(b"HTTP/1."):
        return (None, False) if code == 505 else (f"answered {lines[0][:40]!r} to a request of another version", False)
    if code >= 500:
        detail = next((v for k, _, v in (h.partition(b":") for h in lines[1:]) if k.lower() == b"x-bview-detail"), b"")
        return f"answered HTTP {code} ({detail.strip().decode(errors='replace')}): a server error", False
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(b":") for h in lines[1:])}
    if code == 401 and b"www-authenticate" not in headers:
        return "answered 401 without WWW-Authenticate", False
    if b"xml" not in headers.get(b"content-type", b"") or not body.strip():
        return None, code == 200
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        return None, code == 200  # streamed XML is not judged here
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the finding
        return f"answered XML that does not parse ({exc})", False
    tag = root.tag.rpartition("}")[2]
    if tag != "ResponseStatus":
        return None, code == 200
    text = (root.findtext("{*}statusCode") or root.findtext("statusCode") or "").strip()
    url = (root.findtext("{*}requestURL") or root.findtext("requestURL") or "").strip()
    try:
        if not (url.lower() == "/system/firmwareupgrade" and int(text) > 0):  # chapter 7 note: upgrade codes > 0
            Status(int(text))
    except ValueError:
        return f"answered a ResponseStatus with statusCode {text!r}, not one of chapter 7", False
    return None, code == 200 and int(text) == 0
