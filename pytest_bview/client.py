"""The HTTP client a conformance test uses: auth, keep-alive, deadlines, pacing, evidence.

Rule 1: one deadline per request, from connect to the last byte of the body (`timeout`);
        a body larger than `max_body` is cut and reported. A hostile device gets a clear
        `DeviceError`, never a hang.
Rule 2: every exchange is recorded (`Exchange`) with the Authorization header and passwords
        redacted; the failing check's message quotes it and gives a curl line to reproduce it.
Rule 3: network-configuration writes (spec 9.1, resources flagged "network") are spaced by at
        least `settle` seconds; the client waits, it never relies on the device to refuse.
"""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from pytest_bview.spec.resources import match

REDACTED = "****"


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

    @property
    def path(self) -> str:
        return "/" + self.url.split("/", 3)[3] if self.url.count("/") >= 3 else self.url

    def redact(self, text: str) -> str:
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
        return " ".join(shlex.quote(p) for p in parts)

    def summary(self, limit: int = 1200) -> str:
        """What the device did, for a failure message."""
        if self.error:
            return f"{self.method} {self.path}: {self.error}"
        head = f"{self.method} {self.path} -> HTTP {self.status} {self.reason}".rstrip()
        ctype = self.headers.get("Content-Type", "")
        body = self.body[:limit].decode("utf-8", "replace") if self.body else ""
        if body and ("xml" in ctype or body.lstrip().startswith("<")):
            body = self.redact(body.strip())
        elif body:
            body = f"<{len(self.body)} bytes of {ctype or 'unlabelled data'}>"
        more = " (cut at the size cap)" if self.truncated else ""
        return f"{head}{more}\n{body}" if body else head


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
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.user = user
        self.password = password
        self.timeout = timeout
        self.settle = settle
        self.max_body = max_body
        self.session = requests.Session()
        self.session.verify = verify
        self.session.mount("http://", HTTPAdapter(pool_connections=2, pool_maxsize=4, max_retries=0))
        self.session.mount("https://", HTTPAdapter(pool_connections=2, pool_maxsize=4, max_retries=0))
        self.exchanges: list[Exchange] = []
        self.all_pairs: set[tuple[str, str]] = set()  # (template, method) answered by the device
        self.network_writes = 0
        self.writes: list[tuple[str, str]] = []  # (method, path) of every non-GET, for the readonly tier
        self._last_network_write = 0.0
        self._lock = threading.Lock()
        self.read_only = False  # the readonly tier: any write is a bug of the suite, refused here

    def close(self) -> None:
        self.session.close()

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
        if method != "GET":
            if self.read_only:
                raise TierViolation(f"{method} {path} refused: the run is in the readonly tier")
            if pace:
                self._pace(method, path)
            self.writes.append((method, path))
        record_headers = dict(hdrs)
        if creds:
            record_headers["Authorization"] = f"Basic {REDACTED}"
        ex = Exchange(method, url, record_headers, data, user=creds[0] if creds else None, password=self.password)
        deadline = time.monotonic() + (timeout or self.timeout)
        start = time.monotonic()
        try:
            resp = self.session.request(
                method,
                url,
                data=data or None,
                headers=hdrs,
                auth=creds,
                stream=True,
                timeout=(timeout or self.timeout, timeout or self.timeout),
                allow_redirects=False,
            )
            ex.status, ex.reason = resp.status_code, resp.reason
            ex.headers = dict(resp.headers)
            chunks: list[bytes] = []
            size = 0
            try:
                for chunk in resp.iter_content(16384):
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > self.max_body:
                        ex.truncated = True
                        break
                    if time.monotonic() > deadline:
                        raise DeviceError(
                            f"{method} {path}: body not complete within {timeout or self.timeout:g} s "
                            f"({size} bytes received)",
                            ex,
                        )
            finally:
                if ex.truncated or time.monotonic() > deadline:
                    resp.close()  # do not reuse a connection with unread bytes
            ex.body = b"".join(chunks)
        except DeviceError as err:
            ex.error = str(err)
            raise
        except requests.RequestException as exc:
            ex.error = _describe(exc)
            raise DeviceError(f"{method} {path}: {ex.error}", ex) from None
        finally:
            ex.elapsed = time.monotonic() - start
            with self._lock:
                self.exchanges.append(ex)
                found = match(path)
                if found and ex.status is not None and ex.status != 401:
                    self.all_pairs.add((found[0].template, method))
        return ex

    def _pace(self, method: str, path: str) -> None:
        """Rule 3: space network-configuration writes by `settle` seconds."""
        found = match(path)
        if found is None or not found[0].has("network") or method != "PUT":
            return
        with self._lock:
            wait = self._last_network_write + self.settle - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        with self._lock:
            self._last_network_write = time.monotonic()
            self.network_writes += 1

    def get(self, path: str, **kw: Any) -> Exchange:
        return self.request("GET", path, **kw)

    def put(self, path: str, body: bytes | str | None = None, **kw: Any) -> Exchange:
        return self.request("PUT", path, body, **kw)


def _describe(exc: requests.RequestException) -> str:
    text = str(exc)
    if isinstance(exc, requests.ConnectTimeout):
        return f"connection timed out ({text[:200]})"
    if isinstance(exc, requests.ReadTimeout):
        return f"no answer within the timeout ({text[:200]})"
    if isinstance(exc, requests.ConnectionError):
        return f"connection failed: {text[:300]}"
    return f"{type(exc).__name__}: {text[:300]}"
