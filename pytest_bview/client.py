"""The HTTP client a conformance test uses: auth, keep-alive, deadlines, pacing, evidence.

Rule 1: one deadline per request, from connect to the last byte of the body (`timeout`);
        a body larger than `max_body` is cut and reported. A hostile device gets a clear
        `DeviceError`, never a hang.
Rule 2: every exchange is recorded (`Exchange`) with the Authorization header and every known secret
        redacted; the failing check's message quotes it and gives a curl line to reproduce it.
        The known secrets (`Secrets`, one registry per session) are the password and every credential
        the client sends or the device shows: the values of the spec's secret elements
        (spec.blocks.SECRET_ELEMENTS) in XML and form bodies and query strings.
Rule 3: network-configuration writes (spec 9.1, resources flagged "network") are spaced by at
        least `settle` seconds; the client waits, it never relies on the device to refuse.
"""

from __future__ import annotations

import base64
import binascii
import collections
import contextlib
import html
import ipaddress
import json
import re
import shlex
import socket
import ssl
import threading
import time
import urllib.parse
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import InsecureRequestWarning

from pytest_bview.spec.blocks import SECRET_ELEMENTS
from pytest_bview.spec.resources import match

REDACTED = "****"


# <Password>...</Password>, <ns:KeyValue attr="x">...</ns:KeyValue>: the element's text, as written
_SECRET_XML = re.compile(
    rb"<(?:[\w.-]+:)?(" + b"|".join(n.encode() for n in sorted(SECRET_ELEMENTS)) + rb")(?:\s[^>]*)?>([^<]*)</"
)
_SECRET_KEYS = frozenset(n.lower() for n in SECRET_ELEMENTS)


class Secrets:
    """Rule 2's registry: every secret the session knows, swept out of any text given to `redact`/`scrub`,
    in each form it can take there (as is, XML-, JSON- and repr-escaped, URL-encoded, in a Basic token).

    A value shorter than `MIN_LENGTH` characters, or equal to a user name, cannot be swept out of free
    text without destroying it: it stays redacted only where the exchange records it (Authorization)."""

    MIN_LENGTH = 4
    MAX_SHOWN = 256  # values learned from device answers: a hostile camera's flood cannot slow every redaction

    def __init__(self, user: str | None = None, *values: str) -> None:
        self.users: set[str] = set()
        self.values: set[str] = set()
        self._forms: list[str] | None = None
        self._lock = threading.Lock()
        self._shown = 0
        self.add_user(user)
        for value in values:
            self.add(value)

    def add_user(self, user: str | None) -> None:
        """A user name of the session: never swept out, and its Basic tokens with each secret are."""
        if user and user not in self.users:
            with self._lock:
                self.users.add(user)
                self._forms = None

    def add(self, value: str | None) -> None:
        if not value or len(value) < self.MIN_LENGTH or value in self.users or value in self.values:
            return
        with self._lock:
            self.values.add(value)
            self._forms = None

    def learn(self, body: bytes | str, content_type: str = "", *, shown: bool = False) -> None:
        """Take the secret elements' values from an XML or form body sent, or `shown` by the device."""
        data = body.encode("utf-8", "replace") if isinstance(body, str) else body
        if "form-urlencoded" in content_type.lower():
            found = self._in_query(data.decode("utf-8", "replace"))
        else:
            found = []
            for name, raw in _SECRET_XML.findall(data[: 1024 * 1024]):
                found += _with_companion(name.decode(), html.unescape(raw.decode("utf-8", "replace")).strip())
        for value in found:
            if shown:
                if self._shown >= self.MAX_SHOWN:
                    return
                self._shown += value not in self.values
            self.add(value)

    def learn_document(self, doc: Any) -> None:
        """Take the secret elements' values from a decoded document (the reference camera's lab, lab.py)."""
        if isinstance(doc, dict):
            for name, value in doc.items():
                if name in SECRET_ELEMENTS and isinstance(value, str):
                    for found in _with_companion(name, value):
                        self.add(found)
                else:
                    self.learn_document(value)
        elif isinstance(doc, list):
            for value in doc:
                self.learn_document(value)

    def learn_query(self, query: str) -> None:
        """Take the secret parameters' values from a query string (?Password=...)."""
        for value in self._in_query(query):
            self.add(value)

    @staticmethod
    def _in_query(query: str) -> list[str]:
        return [v for k, v in urllib.parse.parse_qsl(query) if k.lower() in _SECRET_KEYS]

    def forms(self) -> list[str]:
        """Every string to sweep out, longest first (a secret inside another is swept after it)."""
        with self._lock:
            if self._forms is None:
                out: set[str] = set()
                for v in self.values:
                    out |= {v, html.escape(v, quote=False), html.escape(v), json.dumps(v)[1:-1], repr(v)[1:-1],
                            urllib.parse.quote(v, safe=""), urllib.parse.quote_plus(v)}  # fmt: skip
                    out |= {base64.b64encode(f"{u}:{v}".encode()).decode() for u in self.users}
                self._forms = sorted((f for f in out if len(f) >= self.MIN_LENGTH), key=len, reverse=True)
            return self._forms

    def redact(self, text: str) -> str:
        for form in self.forms():
            if form in text:
                text = text.replace(form, REDACTED)
        return text

    def scrub(self, obj: Any) -> Any:
        """`redact` applied to every string of a JSON-like structure (dict keys included)."""
        if isinstance(obj, str):
            return self.redact(obj)
        if isinstance(obj, tuple):
            return tuple(self.scrub(v) for v in obj)
        if isinstance(obj, list):
            return [self.scrub(v) for v in obj]
        if isinstance(obj, dict):
            return {self.scrub(k): self.scrub(v) for k, v in obj.items()}
        return obj


def _with_companion(name: str, value: str) -> list[str]:
    """A secret element's value, and the WiFi key's other spelling beside it (9.1.7.1.3: KeyValue, KeyValueB64)."""
    found = [value]
    if name == "KeyValueB64":
        with contextlib.suppress(binascii.Error, ValueError):
            found.append(base64.b64decode(value, validate=True).decode("utf-8"))
    elif name == "KeyValue":
        found.append(base64.b64encode(value.encode()).decode())
    return found


class DeviceError(Exception):
    """The device could not be talked to (refused, reset, timed out, oversized answer)."""

    def __init__(self, message: str, exchange: Exchange | None = None) -> None:
        super().__init__(message)
        self.exchange = exchange


class TierViolation(Exception):
    """A test tried to write in the readonly tier (a bug of the suite, never sent)."""


@dataclass
class Exchange:
    """One request and what came back, as evidence."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int | None = None
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    elapsed: float = 0.0
    error: str | None = None
    truncated: bool = False
    user: str | None = None
    password: str = field(default="", repr=False)  # for redaction only; never printed
    secrets: Secrets | None = field(default=None, repr=False, compare=False)  # the session's registry (Rule 2)

    @property
    def path(self) -> str:
        return "/" + self.url.split("/", 3)[3] if self.url.count("/") >= 3 else self.url

    def redact(self, text: str) -> str:
        if self.secrets is not None:
            return self.secrets.redact(text)
        return text.replace(self.password, REDACTED) if self.password else text

    def curl(self) -> str:
        """A shell line that repeats this request; the password is never in it."""
        parts = ["curl", "-sS", "-i"]
        if self.user is not None:
            parts += ["-u", f"{self.user}:{REDACTED}"]
        parts += ["-X", self.method]
        for name, value in self.request_headers.items():
            if name.lower() not in ("authorization", "content-length"):
                parts += ["-H", f"{name}: {value}"]
        if self.request_body:
            text = self.redact(self.request_body.decode("utf-8", "replace"))
            parts += ["--data-binary", text]
        parts.append(self.url)
        return self.redact(" ".join(shlex.quote(p) for p in parts))

    def summary(self, limit: int = 1200) -> str:
        """What the device did, for a failure message."""
        if self.error:
            return self.redact(f"{self.method} {self.path}: {self.error}")
        head = f"{self.method} {self.path} -> HTTP {self.status} {self.reason}".rstrip()
        ctype = self.headers.get("Content-Type", "")
        body = self.body[:limit].decode("utf-8", "replace") if self.body else ""
        if body and ("xml" in ctype or body.lstrip().startswith("<")):
            body = self.redact(body.strip())
        elif body:
            body = f"<{len(self.body)} bytes of {ctype or 'unlabelled data'}>"
        more = " (cut at the size cap)" if self.truncated else ""
        if self.status is not None and 300 <= self.status < 400:
            more += f" (redirect to {self.headers.get('Location', 'nowhere')}: not followed)"
        return self.redact(f"{head}{more}\n{body}" if body else head + more)


@dataclass
class NetworkWrite:
    """A paced network-configuration write (Rule 3): where, how long after the previous one, and its exchange."""

    path: str
    gap: float | None  # None: the run's first
    exchange: Exchange


class Client:
    """One camera's HTTP API, with the rules above."""

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        *,
        timeout: float = 10.0,
        settle: float = 5.0,
        max_body: int = 8 * 1024 * 1024,
        verify: bool | str = True,
        secrets: Secrets | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.user = user
        self.password = password
        self.secrets = secrets if secrets is not None else Secrets(user)  # shared by a session's clients
        self.secrets.add_user(user)
        self.secrets.add(password)
        self.timeout = timeout
        self.settle = settle
        self.max_body = max_body
        self.session = requests.Session()
        self.session.verify = verify
        self.session.mount("http://", _watched_adapter())
        self.session.mount("https://", _watched_adapter())
        self.exchanges: list[Exchange] = []
        self.all_pairs: set[tuple[str, str]] = set()  # (template, method) answered by the device
        self.network_writes = 0
        self.settle_waited = 0.0  # seconds slept by Rule 3: the part of the settle windows no other work filled
        self.network_log: collections.deque[NetworkWrite] = collections.deque(maxlen=1000)  # paced writes, in order
        self.writes: list[tuple[str, str]] = []  # (method, path) of every non-GET, for the readonly tier
        self._last_network_write = 0.0
        # an earlier run's last network write (its restore) may be seconds old: the first one waits a window too
        self._opened = time.monotonic()
        self._lock = threading.Lock()
        self.read_only = False  # the readonly tier: any write is a bug of the suite, refused here
        self.before_write: Any = None  # called once before the first write (restore.py snapshots there)

    def close(self) -> None:
        self.session.close()

    @contextlib.contextmanager
    def off_record(self) -> Iterator[None]:
        """The kit's own requests (snapshot, restore, health probes): kept out of a test's evidence and out of the
        spec coverage, which counts the requests of checks only."""
        exchanges, pairs = list(self.exchanges), set(self.all_pairs)
        try:
            yield
        finally:
            self.exchanges[:], self.all_pairs = exchanges, pairs

    # -- the one way to talk to the device ------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None | bool = True,
        timeout: float | None = None,
        pace: bool = True,
    ) -> Exchange:
        data = body.encode("utf-8") if isinstance(body, str) else (body or b"")
        hdrs = dict(headers or {})
        if data and "Content-Type" not in hdrs:
            hdrs["Content-Type"] = "application/xml; charset=UTF-8"
        creds: tuple[str, str] | None = (self.user, self.password) if auth is True else (auth or None)
        url = self.base_url + path
        if params:
            url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
        self.secrets.learn_query(urllib.parse.urlsplit(url).query)
        self.secrets.learn(data, hdrs.get("Content-Type", ""))
        paced, gap = False, None  # a network write, and seconds since the previous one (None: the run's first)
        if method != "GET":
            if self.read_only:
                raise TierViolation(f"{method} {path} refused: the run is in the readonly tier")
            if self.before_write is not None:
                hook, self.before_write = self.before_write, None
                hook()
            if pace:
                paced, gap = self._pace(method, path)
            self.writes.append((method, path))
        record_headers = dict(hdrs)
        if creds:
            record_headers["Authorization"] = f"Basic {REDACTED}"
        if creds:
            self.secrets.add(creds[1])  # (another user's, a test's wrong one: still not for the report)
        ex = Exchange(
            method, url, record_headers, data, user=creds[0] if creds else None, password=self.password,
            secrets=self.secrets,
        )  # fmt: skip
        deadline = time.monotonic() + (timeout or self.timeout)
        start = time.monotonic()
        watch = _Watch(timeout or self.timeout).start()  # Rule 1 also against a trickle (see _Watch)
        size = 0
        try:
            with _quiet_insecure() if self.session.verify is False else contextlib.nullcontext():
                resp = self.session.request(
                    method,
                    url,
                    data=data or None,
                    headers=hdrs,
                    auth=creds,
                    stream=True,
                    timeout=(timeout or self.timeout, timeout or self.timeout),
                    allow_redirects=False,
                    verify=self.session.verify,  # per request: REQUESTS_CA_BUNDLE would override the session's
                )
            ex.status, ex.reason = resp.status_code, resp.reason
            ex.headers = dict(resp.headers)
            chunks: list[bytes] = []
            try:
                for chunk in resp.iter_content(16384):
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > self.max_body:
                        ex.truncated = True
                        break
                    if time.monotonic() > deadline:  # the same words as the watchdog's: one verdict, one text
                        raise DeviceError(watch.message(method, path, size, ex.status), ex)
                if watch.expired:  # the watchdog ended a body read to close: not a complete answer
                    raise DeviceError(watch.message(method, path, size, ex.status), ex)
            finally:
                if ex.truncated or time.monotonic() > deadline or watch.expired:
                    resp.close()  # do not reuse a connection with unread bytes
            ex.body = b"".join(chunks)
            del chunks  # the body once in memory, not twice
            # what the device shows, even where it must not (a password in a GET answer)
            self.secrets.learn(ex.body, ex.headers.get("Content-Type", ""), shown=True)
        except DeviceError as err:
            ex.error = str(err)
            raise
        except (requests.RequestException, Urllib3Error, OSError) as exc:
            ex.error = watch.message(method, path, size, ex.status, bare=True) if watch.expired else _describe(exc)
            raise DeviceError(f"{method} {path}: {ex.error}", ex) from None
        finally:
            watch.stop()
            ex.elapsed = time.monotonic() - start
            with self._lock:
                self.exchanges.append(ex)
                found = match(path)
                if found and ex.status is not None and ex.status != 401:
                    self.all_pairs.add((found[0].template, method))
                if found and method == "PUT" and found[0].has("network"):
                    # the device's settle window opens when it handles the write: count from its answer
                    self._last_network_write = time.monotonic()
                if paced:
                    self.network_log.append(NetworkWrite(path, gap, ex))
        return ex

    def _pace(self, method: str, path: str) -> tuple[bool, float | None]:
        """Rule 3: space network-configuration writes by `settle` seconds; (a network write, seconds since the
        previous one or None for the first)."""
        found = match(path)
        if found is None or not found[0].has("network") or method != "PUT":
            return False, None
        with self._lock:
            last = self._last_network_write
            wait = max(last, self._opened) + self.settle - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        with self._lock:
            now = time.monotonic()
            self._last_network_write = now
            self.network_writes += 1
            self.settle_waited += max(wait, 0.0)
        return True, (now - last if last else None)

    def get(self, path: str, **kw: Any) -> Exchange:
        return self.request("GET", path, **kw)

    def put(self, path: str, body: bytes | str | None = None, **kw: Any) -> Exchange:
        return self.request("PUT", path, body, **kw)


def ssl_context(verify: bool | str = True) -> ssl.SSLContext:
    """A TLS context with the checks `verify` asks for, as requests reads it: True the system's CAs, a path
    that CA file (--bview-ca), False none at all (--bview-insecure). For the kit's own sockets (media.py)."""
    context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def urlhost(host: str) -> str:
    """A host as it stands in a URL (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def fetch_supplied(
    url: str, host: str, *, timeout: float, max_body: int = 1024 * 1024, verify: bool | str = True
) -> Exchange:
    """GET a URL the device supplied (an SSDP LOCATION, say) under Rule 1, without credentials and without
    following redirects. Only http(s) on the device's own `host` is fetched: any other scheme (file://) or
    host is refused with a DeviceError before anything is sent."""
    parts = urllib.parse.urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme.lower() not in ("http", "https") or port == -1:
        raise DeviceError(f"{url[:200]!r} refused: the kit fetches only http(s) URLs from a device")
    if not _same_host(parts.hostname or "", host):
        raise DeviceError(f"{url[:200]!r} refused: it points away from the device at {host}")
    scheme = parts.scheme.lower()
    origin = f"{scheme}://{urlhost(host.strip('[]'))}:{port or (443 if scheme == 'https' else 80)}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    client = Client(origin, "", "", timeout=timeout, max_body=max_body, verify=verify)
    try:
        return client.request("GET", path, auth=None, pace=False)
    finally:
        client.close()


def _same_host(a: str, b: str) -> bool:
    a, b = a.strip("[]").lower(), b.strip("[]").lower()
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return bool(a) and a == b


class _Watch:
    """Rule 1's total deadline: at expiry, shut down the socket of the request in flight.

    The socket timeout bounds each read, not their sum: a device answering one byte per second
    (status line included) would hold `requests` for hours. The watchdog wakes the blocked read;
    the request then fails with a timeout message. (A TLS handshake is bounded per read only.)
    """

    local = threading.local()  # the watch of the request this thread is making

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self.conn: HTTPConnection | None = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def start(self) -> _Watch:
        _Watch.local.current = self
        self._timer.start()
        return self

    def stop(self) -> None:
        self._timer.cancel()
        _Watch.local.current = None

    def _expire(self) -> None:
        self.expired = True
        self.shut()

    def shut(self) -> None:
        sock = getattr(self.conn, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def message(self, method: str, path: str, size: int, status: int | None, *, bare: bool = False) -> str:
        got = f"{size} bytes of body received" if status is not None else "status line and headers incomplete"
        text = f"no complete answer within {self.seconds:g} s ({got}; --bview-timeout)"
        return text if bare else f"{method} {path}: {text}"

    @classmethod
    def attach(cls, conn: HTTPConnection) -> None:
        watch = getattr(cls.local, "current", None)
        if watch is not None:
            watch.conn = conn
            if watch.expired:
                watch.shut()


class _Watched:
    """Mixin: the connection registers with the request's watchdog when it connects or sends."""

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _Watch.attach(self)  # type: ignore[arg-type]

    def request(self, *args: Any, **kwargs: Any) -> None:
        _Watch.attach(self)  # type: ignore[arg-type]
        super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


@contextlib.contextmanager
def _quiet_insecure() -> Iterator[None]:
    """--bview-insecure was asked for: no InsecureRequestWarning for every request."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureRequestWarning)
        yield


def _watched_adapter() -> HTTPAdapter:
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=4, max_retries=0)
    adapter.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
    return adapter


def _describe(exc: Exception) -> str:
    text = str(exc)
    short = re.search(r"IncompleteRead\((\d+) bytes read, (\d+) more expected\)", text)
    if short:
        return (
            f"the connection closed {short[2]} bytes before the end of the body its Content-Length "
            f"announced ({short[1]} bytes read)"
        )
    if "Connection reset" in text or "ConnectionResetError" in text:
        return "the device reset the connection (ECONNRESET) in the middle of the exchange"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS failed: {text[:300]} (certificate checks: --bview-ca FILE, or --bview-insecure to skip them)"
    if isinstance(exc, requests.ConnectTimeout):
        return f"connection timed out ({text[:200]})"
    if isinstance(exc, requests.ReadTimeout):
        return f"no answer within the timeout ({text[:200]})"
    if isinstance(exc, requests.ConnectionError):
        return f"connection failed: {text[:300]}"
    return f"{type(exc).__name__}: {text[:300]}"
