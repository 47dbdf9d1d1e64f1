"""The reference camera's HTTP/1.1 face (aiohttp): authentication, routing by the spec table,
ResponseStatus replies and the generic GET/PUT of configuration resources.

Rule 1 (4.5.2): every resource needs Basic credentials; without them or with wrong ones the
        answer is 401 with `WWW-Authenticate: Basic realm="B-View"`.
Rule 2: routing is the spec table (`spec.resources.match`); a path outside it is -10 (HTTP 404),
        a method the resource lacks is -3 (HTTP 405 with Allow), an Operator operation or one the
        administrator keeps (`spec.permissions`, ERRATA.md S1) asked by a Normal user is -12 (HTTP 403),
        before any body is read.
Rule 3: everything the camera says about a request is a ResponseStatus with `requestURL` and
        `statusCode`; the human-readable reason travels in the `X-BView-Detail` header.
Rule 4: a connection costs the camera little and never for long: at most MAX_CONNECTIONS; one whose request
        headers are not complete HEADER_TIMEOUT_S after it opened or after their first byte (half-open,
        slow headers) is closed, so is one idle KEEPALIVE_IDLE_S after its last answer; at the cap a new
        one takes the place of the one idle longest, so half-open connections cannot lock clients out
        (`ConnectionGuard`). A body is read up to its operation's limit only.
Rule 5 (RFC 9110 9.1, 9.3.2): HEAD is answered wherever GET is, with GET's status and headers and
        no body. Oversized requests are refused by status, never echoed: a target longer than
        MAX_TARGET gets 414, a header field longer than MAX_FIELD (or all of them past MAX_HEADERS_SIZE)
        431 (RFC 6585 5). `Server` names the product, as RTSP does.
Rule 6 (ERRATA S5; ETSI EN 303 645 5.1-5): wrong passwords are throttled per (client address, user name), the
        name as sent, whether or not such a user exists (else the throttle tells valid names apart). The first
        THROTTLE_FREE wrong ones in a row are judged at once; after them each further password of that pair is
        judged only at its turn, THROTTLE_BASE_S camera seconds after the last failure, doubling up to
        THROTTLE_CAP_S (scaled by the time scale). The judgement waits, not just the 401: a 401 held back
        after a quick judgement would tell a client that stops waiting "wrong" as fast as ever. So a right
        password of a throttled pair waits its turn too (at most THROTTLE_CAP_S); it is never refused, other
        names and other addresses never wait, and no account is locked. A success resets the pair. At most
        THROTTLE_WAITING attempts of one pair (THROTTLE_HELD in all) wait at once; more are answered 429 with
        Retry-After, unjudged, so waiting attempts cannot take every connection (Rule 4). The table keeps
        THROTTLE_PAIRS pairs in two LRU tables (suspects, throttled), so fresh names cannot push a throttled
        pair out. An IPv6 client counts by its /64 (one host holds a whole /64).
Paths under /_sim/ and /upnp/ are the simulator's own and cannot collide with the spec; /_sim/ needs the
administrator's credentials, /upnp/description.xml is public.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import ipaddress
import json
import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

from aiohttp import HttpVersion11, web

from pytest_bview.protocol.xmlblocks import to_xml
from pytest_bview.simulator import PRODUCT
from pytest_bview.simulator import faults as F
from pytest_bview.simulator.config import MAX_CONFIG_BYTES, MAX_XML_BYTES, ApiError, concrete
from pytest_bview.simulator.device import ADMIN_LEVEL, COMPUTED, Caller, Device
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.model import NAMESPACE
from pytest_bview.spec.permissions import FACTORY_PASSWORD, FACTORY_USER, OWN_ENTRY, admin_only
from pytest_bview.spec.resources import AUDIO, BINARY, FORM, MULTIPART, OPAQUE, Op, Resource, match
from pytest_bview.spec.status import Status, http_status

if TYPE_CHECKING:
    from pytest_bview.simulator.camera import Camera

log = logging.getLogger("bview.sim.http")

REALM = "B-View"
XML_TYPE = "application/xml; charset=UTF-8"
# Characters XML 1.0 cannot carry (2.2 Char): percent-encoded in requestURL (a request for /%00 must still get
# a well-formed answer; found by fuzzing)
NOT_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
BODY_TIMEOUT_S = 30.0  # a whole request body must arrive within this (real seconds: a network limit)
MAX_BODY = 64 * 1024 * 1024  # firmware packages; every other body is capped far lower (body_limit)
MAX_SMALL_BODY = 64 * 1024  # forms (UserAuth) and opaque bodies (actions)
MAX_CONNECTIONS = 512
# real seconds, as BODY_TIMEOUT_S: network limits, not device durations
HEADER_TIMEOUT_S = 10.0
KEEPALIVE_IDLE_S = 20.0  # longer than a client's usual 10 s wait, so "closed after Connection: close" stays visible
# request.app[CAMERA] (no NotAppKeyWarning); the type is a forward reference mypy cannot see as a type
CAMERA: web.AppKey[Camera] = web.AppKey("camera", "Camera")  # type: ignore[arg-type]
# RFC 9112 3: "It is RECOMMENDED that all HTTP senders and recipients support, at a minimum, request-line
# lengths of 8000 octets"; 8190 is aiohttp's own line limit. aiohttp's parser is given PARSER_LIMIT instead,
# so that these limits answer 414/431; past PARSER_LIMIT the parser itself still refuses with its 400.
MAX_TARGET = 8190
MAX_FIELD = 8190
MAX_HEADERS_SIZE = 32 * 1024
PARSER_LIMIT = 64 * 1024
# Rule 6: wrong passwords in a row judged at once per (address, name); then camera seconds to the next turn,
# doubling to the cap (with the time scale: 10 ms to 160 ms at the suites' 0.01)
THROTTLE_FREE = 5
THROTTLE_BASE_S = 1.0
THROTTLE_CAP_S = 16.0
THROTTLE_FORGET_S = 900.0  # camera seconds after its turn when a quiet pair starts afresh
THROTTLE_WAITING = 4  # attempts of one pair waiting at once
THROTTLE_HELD = MAX_CONNECTIONS // 4  # attempts waiting at once, all pairs: the rest of the connections stay free
THROTTLE_PAIRS = 1024  # per table (suspects, throttled)

NO_AUTH = F.declare(
    "auth-not-required",
    "4.5.2",
    "GET /System/DeviceInfo is served without credentials",
    "http-basic-auth",
    ("GET /System/DeviceInfo",),
)
NO_CHALLENGE = F.declare(
    "auth-no-www-authenticate",
    "4.5.2",
    "401 answers carry no WWW-Authenticate header",
    "http-basic-auth",
)
ANY_PASSWORD = F.declare(
    "auth-any-password",
    "4.5.2",
    "a wrong password for a known user is accepted",
    "http-auth-wrong-password",
)
FACTORY_KEPT = F.declare(
    "sec-factory-credentials-kept",
    "9.3.1",
    "the factory credentials admin/admin still open the admin account after its password was changed",
    "sec-factory-credentials",
)
NO_KEEPALIVE = F.declare(
    "http-no-keepalive",
    "4.5.1",
    "every response closes the connection (no persistent connections)",
    "http-persistent",
)
CLOSE_IGNORED = F.declare(
    "http-connection-close-ignored",
    "4.5.1",
    "the connection stays open after a request with Connection: close",
    "http-connection-close",
)
WRONG_CONTENT_TYPE = F.declare(
    "http-xml-content-type",
    "4.5.3",
    "XML replies are labelled text/html",
    "entity-content-type",
)
UNKNOWN_URL_OK = F.declare(
    "url-unknown-accepted",
    "7",
    "an unknown URL is answered 200 with an empty body instead of -10",
    "url-error",
)
OPERATOR_OPEN = F.declare(
    "level-operator-open",
    "9.10",
    "a Normal user may PUT Operator-level resources and do what the administrator keeps (ERRATA S1)",
    "users-operator-level",
)
ADMIN_OPS_OPEN = F.declare(
    "sec-normal-user-admin-ops",
    "9.2.1",
    "a Normal user may do what the administrator keeps (ERRATA S1): other users' entries, the configuration "
    "file, reboot, factory default, firmware; the spec's Operator rows stay refused",
    "sec-normal-user-admin-ops",
)
NO_THROTTLE = F.declare(
    "sec-no-password-throttle",
    "4.5.2",
    "wrong passwords are judged at once however many come in a row: no throttling of guessing (ERRATA S5)",
    "sec-password-throttle",
)
NO_REQUEST_URL = F.declare(
    "status-no-request-url",
    "7",
    "ResponseStatus replies lack <requestURL>",
    "response-status-shape",
)


@dataclass
class Ctx:
    """One request as a handler sees it."""

    camera: Camera
    request: web.Request
    resource: Resource
    params: dict[str, int]
    caller: Caller
    body: bytes

    @property
    def device(self) -> Device:
        return self.camera.live

    @property
    def url(self) -> str:
        return self.request.path


Handler = Callable[[Ctx], Awaitable[web.StreamResponse]]
HANDLERS: dict[tuple[str, str], Handler] = {}


def handles(template: str, *methods: str) -> Callable[[Handler], Handler]:
    """Register the handler of resource-methods whose behaviour is more than GET/PUT of a block."""

    def deco(fn: Handler) -> Handler:
        for m in methods:
            HANDLERS[(template, m)] = fn
        return fn

    return deco


# -- replies -------------------------------------------------------------------------------------


def xml_response(camera: Camera, block: str, doc: dict, status: int = 200) -> web.Response:
    return _xml_reply(camera, _xml_body(block, doc), status)


def _xml_reply(camera: Camera, body: bytes, status: int = 200) -> web.Response:
    content_type = "text/html" if camera.faults.on(WRONG_CONTENT_TYPE) else XML_TYPE
    return web.Response(status=status, body=body, headers={"Content-Type": content_type})


_BODIES: dict[tuple[str, str], bytes] = {}  # (block, repr of the document) -> its XML; bounded below
_STR = {str}


def _xml_body(block: str, doc: dict) -> bytes:
    """`to_xml` of a reply, remembered: a camera mostly answers documents it answered before (issue 9).
    Only JSON-shaped documents are remembered: their repr stands for everything `to_xml` reads."""
    if not (type(doc) is dict and {*map(type, doc), *map(type, doc.values())} <= _STR):  # not flat strings
        try:
            json.dumps(doc)
        except (TypeError, ValueError, RecursionError):
            return to_xml(BLOCKS[block], doc, include_wo=True, namespace=NAMESPACE)
    key = (block, repr(doc))
    body = _BODIES.get(key)
    if body is None:
        body = to_xml(BLOCKS[block], doc, include_wo=True, namespace=NAMESPACE)
        if len(body) <= 8192:
            if len(_BODIES) >= 512:
                _BODIES.clear()
            _BODIES[key] = body
    return body


def status_response(
    camera: Camera, url: str, code: Status | int, detail: str = "", http: int | None = None
) -> web.Response:
    code = Status(code)
    doc = {"requestURL": NOT_XML_CHARS.sub(lambda m: quote(m[0]), url), "statusCode": str(int(code))}
    if camera.faults.on(NO_REQUEST_URL):
        doc.pop("requestURL")
    resp = xml_response(camera, "ResponseStatus", doc, http or http_status(code))
    if detail:
        # no control characters: a request for /%00 or /%0d%0a must not inject headers (found by fuzzing)
        safe = re.sub(r"[\x00-\x1f\x7f]", "?", detail.encode("ascii", "replace").decode())
        resp.headers["X-BView-Detail"] = safe[:500]
    return resp


def unauthorized(camera: Camera, url: str) -> web.Response:
    resp = status_response(camera, url, Status.INVALID_OPERATION, "authentication required", 401)
    if not camera.faults.on(NO_CHALLENGE):
        resp.headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
    return resp


# -- wrong passwords (Rule 6) ---------------------------------------------------------------------

Pair = tuple[str, str]  # (client address or IPv6 /64, user name as sent)


@dataclass
class _Guesses:
    failures: int = 0  # wrong passwords in a row
    turn: float = 0.0  # time.monotonic() before which no password of the pair is judged
    waiting: int = 0


class PasswordThrottle:
    """Rule 6 for one camera: `turn` before a password of a pair is judged, `judged` after."""

    def __init__(
        self,
        free: int = THROTTLE_FREE,
        base_s: float = THROTTLE_BASE_S,
        cap_s: float = THROTTLE_CAP_S,
        pairs: int = THROTTLE_PAIRS,
        waiting: int = THROTTLE_WAITING,
        held: int = THROTTLE_HELD,
    ) -> None:
        self.free, self.base_s, self.cap_s, self.size = free, base_s, cap_s, pairs
        self.max_waiting, self.max_held, self.held = waiting, held, 0
        self.suspects: OrderedDict[Pair, _Guesses] = OrderedDict()  # fewer than `free` failures in a row
        self.throttled: OrderedDict[Pair, _Guesses] = OrderedDict()
        self.figures = {"waited": 0, "refused": 0, "evicted": 0}

    @staticmethod
    def pair(remote: str | None, user: str) -> Pair:
        address = remote or ""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return address, user[:128]
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.ipv4_mapped is not None:
                address = str(ip.ipv4_mapped)
            elif not ip.is_loopback:
                address = str(ipaddress.IPv6Network((int(ip), 64), strict=False))  # (a zone id dropped)
        return address, user[:128]

    def delay(self, failures: int, scale: float) -> float:
        """Real seconds from a failure to the pair's next turn."""
        if failures < self.free:
            return 0.0
        return min(self.base_s * 2 ** min(failures - self.free, 30), self.cap_s) * scale

    def retry_after(self, key: Pair) -> int:
        pair = self.throttled.get(key)
        return max(1, math.ceil(pair.turn - time.monotonic())) if pair is not None else 1

    async def turn(self, key: Pair, scale: float) -> bool:
        """Wait for the pair's turn to have a password judged; False (judge nothing) when too many wait."""
        pair = self.throttled.get(key)
        if pair is None:
            return True
        now = time.monotonic()
        if now - pair.turn > THROTTLE_FORGET_S * scale and not pair.waiting:
            del self.throttled[key]  # quiet long enough: a fresh start
            return True
        self.throttled.move_to_end(key)
        if pair.waiting >= self.max_waiting or self.held >= self.max_held:
            self.figures["refused"] += 1
            return False
        at = max(now, pair.turn)
        pair.turn = at + self.delay(pair.failures + 1, scale)  # the next attempt's, should this one fail too
        if at > now:
            pair.waiting += 1
            self.held += 1
            self.figures["waited"] += 1
            try:
                await asyncio.sleep(at - now)
            finally:
                pair.waiting -= 1
                self.held -= 1
        return True

    def judged(self, key: Pair, right: bool, scale: float) -> None:
        if right:
            self.suspects.pop(key, None)
            self.throttled.pop(key, None)
            return
        pair = self.throttled.get(key)
        if pair is None:
            pair = self.suspects.pop(key, None) or _Guesses()
            pair.failures += 1
            self._keep(self.throttled if pair.failures >= self.free else self.suspects, key, pair)
        else:
            pair.failures += 1
        if pair.failures >= self.free:
            pair.turn = max(pair.turn, time.monotonic() + self.delay(pair.failures, scale))

    def _keep(self, table: OrderedDict[Pair, _Guesses], key: Pair, pair: _Guesses) -> None:
        table[key] = pair
        while len(table) > self.size:
            table.popitem(last=False)
            self.figures["evicted"] += 1


THROTTLE: web.AppKey[PasswordThrottle] = web.AppKey("throttle", PasswordThrottle)


async def password_turn(camera: Camera, request: web.Request, user: str) -> web.Response | None:
    """Rule 6: wait for the turn of the request's (address, `user`) pair; the 429 answer when too many wait."""
    if camera.faults.on(NO_THROTTLE):
        return None
    throttle = request.app[THROTTLE]
    key = throttle.pair(request.remote, user)
    if await throttle.turn(key, camera.options.time_scale):
        return None
    resp = status_response(camera, request.path, Status.BUSY, "too many wrong passwords; try again later", 429)
    resp.headers["Retry-After"] = str(throttle.retry_after(key))
    resp.force_close()
    return resp


def password_judged(camera: Camera, request: web.Request, user: str, right: bool) -> None:
    if not camera.faults.on(NO_THROTTLE):
        throttle = request.app[THROTTLE]
        throttle.judged(throttle.pair(request.remote, user), right, camera.options.time_scale)


# -- the request pipeline ------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)  # a pure function of the header, which a client repeats on every request
def basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header[:6].lower() == "basic ":
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = raw.partition(":")
    return (user, password) if sep else None


def authenticate(camera: Camera, request: web.Request) -> Caller | None:
    creds = basic_credentials(request.headers.get("Authorization"))
    if creds is None:
        return None
    user, password = creds
    device = camera.live
    record = device.authenticate(user, password)
    if record is None and camera.faults.on(ANY_PASSWORD) and device.password_of(user) is not None:
        record = next(u for u in device.users() if u.get("UserName") == user)
    if record is None and camera.faults.on(FACTORY_KEPT) and (user, password) == (FACTORY_USER, FACTORY_PASSWORD):
        record = next((u for u in device.users() if u.get("ID") == "0"), None)
    if record is None:
        return None
    host = (request.host or "").rsplit(":", 1)[0] if not (request.host or "").endswith("]") else request.host
    return Caller(user, record.get("UserLevel", "Normal"), request.remote or "", host or "127.0.0.1")


async def authenticate_at_turn(camera: Camera, request: web.Request) -> Caller | web.Response | None:
    """`authenticate` at the turn of the request's (address, name) pair (Rule 6): the caller, None for wrong or
    missing credentials, or the 429 answer when too many of the pair's attempts wait."""
    creds = basic_credentials(request.headers.get("Authorization"))
    if creds is None:
        return None
    refused = await password_turn(camera, request, creds[0])
    if refused is not None:
        return refused
    caller = authenticate(camera, request)
    password_judged(camera, request, creds[0], caller is not None)
    return caller


def body_limit(op: Op) -> int:
    """The largest body an operation takes: its XML block, a configuration file, a firmware package... (an
    operation without inbound data never reads its body)."""
    if op.inbound in (MULTIPART, AUDIO):
        return MAX_BODY
    if op.inbound == BINARY:
        return MAX_CONFIG_BYTES
    if op.inbound in (FORM, OPAQUE):
        return MAX_SMALL_BODY
    return MAX_XML_BYTES


class BodyTooLarge(Exception):
    pass


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, refused as soon as it passes `limit`: announced (Content-Length) before a byte is read,
    chunked once `limit` bytes have come, never buffered further."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(f"{request.content_length} bytes announced, at most {limit}")
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(f"more than {limit} bytes")
    return bytes(body)


def too_large(camera: Camera, path: str, detail: str) -> web.Response:
    resp = status_response(camera, path, Status.MEMORY_OVERFLOW, f"request body too large: {detail}", 413)
    resp.force_close()  # the rest of the body is never read
    return resp


@dataclass
class Admitted:
    """A request that passed authentication, routing and permissions (Rules 1 and 2)."""

    caller: Caller
    resource: Resource
    raw_params: dict[str, str]
    op: Op


async def admit(camera: Camera, request: web.Request) -> web.Response | Admitted:
    """Rules 1, 2 and 6, from the request line and headers alone: run before `Expect: 100-continue` is answered
    and before any body is read, so a wrong password or a Normal user never gets to upload."""
    path = request.path
    method = "GET" if request.method == "HEAD" else request.method  # Rule 5: aiohttp drops HEAD's body
    try:
        caller = await authenticate_at_turn(camera, request)
    except Exception:  # a firmware bug answers this request 500, it never takes the camera down
        log.exception("authentication failed on %s %s", request.method, path)
        return status_response(camera, path, Status.SDK_CALL_FAILED, "internal error in authentication", 500)
    if isinstance(caller, web.Response):
        return caller
    if caller is None and not (camera.faults.on(NO_AUTH) and path == "/System/DeviceInfo"):
        return unauthorized(camera, path)
    caller = caller or Caller("anonymous", "Normal", request.remote or "")
    found = match(path)
    if found is None:
        if camera.faults.on(UNKNOWN_URL_OK):
            return web.Response(status=200, body=b"")
        return status_response(camera, path, Status.URL_ERROR, f"no resource at {path}")
    resource, raw_params = found
    op = resource.op(method)
    if op is None:
        resp = status_response(
            camera,
            path,
            Status.UNSUPPORTED_OPERATION,
            f"{resource.template} supports {', '.join(resource.methods)}",
            405,
        )
        resp.headers["Allow"] = ", ".join(resource.methods)
        return resp
    refusal = _needs_admin(camera, method, resource, raw_params, caller)
    if refusal:
        return status_response(camera, path, Status.INVALID_OPERATION, refusal, 403)
    limit = body_limit(op)
    if op.inbound is not None and request.content_length is not None and request.content_length > limit:
        return too_large(camera, path, f"{request.content_length} bytes announced, at most {limit}")
    return Admitted(caller, resource, raw_params, op)


def _version_not_supported() -> web.Response:
    """Only HTTP/1.x is spoken here (RFC 9110 15.6.6; found by fuzzing)."""
    resp = web.Response(status=505, text="HTTP version not supported\n")
    resp.force_close()
    return resp


async def expect_continue(request: web.Request) -> web.StreamResponse | None:
    """`Expect: 100-continue` (RFC 9110 10.1.1) is answered 100 only for a request `admit` lets through;
    otherwise the final answer comes at once and the connection closes, the body never read."""
    camera: Camera = request.app[CAMERA]
    if request.version.major != 1:  # as `dispatch` answers it, before anything else
        return _version_not_supported()
    if request.headers.get("Expect", "").lower() != "100-continue":
        raise web.HTTPExpectationFailed(text=f"Unknown Expect: {request.headers.get('Expect')}")
    if camera.device is not None and not request.path.startswith(("/_sim/", "/upnp/")):
        verdict = await admit(camera, request)
        if isinstance(verdict, web.StreamResponse):
            verdict.force_close()
            return verdict
    if request.version == HttpVersion11:
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # the final answer has not started
    return None


async def dispatch(request: web.Request) -> web.StreamResponse:
    camera: Camera = request.app[CAMERA]
    path = request.path
    camera.requests_seen[request.method] = camera.requests_seen.get(request.method, 0) + 1
    if request.version.major != 1:
        return _version_not_supported()
    if path.startswith("/_sim/"):  # the simulator's controls act as the camera would: the admin's alone
        refusal = await _sim_refusal(camera, request)
        return refusal if refusal is not None else await camera.sim_route(request)
    if path.startswith("/upnp/"):  # the UPnP description is public (UPnP Device Architecture 2.1)
        return await camera.sim_route(request)
    verdict = await admit(camera, request)
    if isinstance(verdict, web.StreamResponse):
        if request.can_read_body:
            verdict.force_close()  # an unread body must not be taken for the next request
        return verdict
    log_failures = camera.live.log_failures
    resp = await _handle(camera, request, verdict)
    if (
        camera.device is not None
        and camera.device.log_failures > log_failures
        and resp.status < 300
        and not resp.prepared
    ):
        # the change is made and saved; only its log entry is not (disk full): say so, do not fail it
        resp.headers["X-BView-Detail"] = f"saved; {camera.device.log_problem}"[:500]
    return resp


async def _handle(camera: Camera, request: web.Request, verdict: Admitted) -> web.StreamResponse:
    path = request.path
    caller, resource, op = verdict.caller, verdict.resource, verdict.op
    try:
        params = camera.live.check_params(resource, verdict.raw_params)
        # an operation without inbound data never waits for a body (a GET announcing a huge chunk
        # must still be answered); a body that trickles in is cut off after BODY_TIMEOUT_S
        body = b""
        if request.can_read_body and op.inbound is not None:
            try:
                body = await asyncio.wait_for(read_body(request, body_limit(op)), BODY_TIMEOUT_S)
            except TimeoutError:
                return status_response(
                    camera, path, Status.XML_URL_MISMATCH, f"request body not complete within {BODY_TIMEOUT_S:g} s", 408
                )
            except BodyTooLarge as exc:
                return too_large(camera, path, str(exc))
        ctx = Ctx(camera, request, resource, params, caller, body)
        method = "GET" if request.method == "HEAD" else request.method  # Rule 5
        handler = HANDLERS.get((resource.template, method))
        if handler is not None:
            return await handler(ctx)
        if method == "GET" and resource.block:
            return _xml_reply(camera, _get_body(camera, resource, params, caller))
        if method == "PUT" and resource.block:
            await camera.run_blocking(camera.live.write, resource, params, body, caller)
            return status_response(camera, path, Status.OK)
        return status_response(camera, path, Status.UNSUPPORTED_OPERATION, "not implemented by this device")
    except ApiError as err:
        return status_response(camera, path, err.code, err.detail)
    except web.HTTPException:
        raise
    except OSError as exc:  # the state could not be written (disk full): nothing changed (state.py Rule 4)
        log.error("%s %s not saved: %s", request.method, path, exc)
        detail = f"not saved, nothing changed: {exc.strerror or exc}"
        return status_response(camera, path, Status.SDK_CALL_FAILED, detail, 500)
    except Exception:  # a firmware bug must answer, not kill the connection
        log.exception("internal error on %s %s", request.method, path)
        return status_response(camera, path, Status.SDK_CALL_FAILED, "internal error", 500)


async def _sim_refusal(camera: Camera, request: web.Request) -> web.Response | None:
    """Paths under /_sim/ need the administrator's credentials (they fire alarms, mail and the log)."""
    try:
        caller = await authenticate_at_turn(camera, request)
    except Exception:
        log.exception("authentication failed on %s %s", request.method, request.path)
        return status_response(camera, request.path, Status.SDK_CALL_FAILED, "internal error in authentication", 500)
    if isinstance(caller, web.Response):
        return caller
    if caller is None:
        return unauthorized(camera, request.path)
    if caller.level != ADMIN_LEVEL:
        return status_response(camera, request.path, Status.INVALID_OPERATION, "simulator controls need the admin", 403)
    return None


def _needs_admin(camera: Camera, method: str, resource: Resource, raw: dict[str, str], caller: Caller) -> str:
    """Why a Normal user is refused this operation (Rule 2), or "" when it may go on."""
    if caller.level == ADMIN_LEVEL or camera.faults.on(OPERATOR_OPEN):
        return ""
    op = resource.op(method)
    if op is not None and op.level == "Operator":
        return f"{method} {resource.template} needs the Operator level"
    why = admin_only(method, resource.template)
    if why is None or camera.faults.on(ADMIN_OPS_OPEN):
        return ""
    if (method, resource.template) == OWN_ENTRY:
        own = next((u for u in camera.live.users() if u.get("UserName") == caller.user), None)
        if own is not None and raw.get("N") == str(int(own["ID"]) + 1):
            return ""  # a user may change its own password
    return f"{method} {resource.template} needs the administrator: {why}"


_GET_BODIES: dict[tuple[str, str], tuple[dict, bytes]] = {}  # (template, store key) -> (stored document, XML)


def _get_body(camera: Camera, resource: Resource, params: dict[str, int], caller: Caller) -> bytes:
    """The XML a generic GET answers. On a conformant camera (no fault), for a block stored as such (no parts,
    no computed fields) that XML depends on the stored document alone: it is remembered with that document
    and served while the store still holds it (a commit puts new documents in place, see state.py)."""
    device = camera.live
    if camera.faults or resource.parts or resource.block in COMPUTED or resource.template == "/System/Users/{N}":
        return _xml_body(resource.block, device.output(resource, device.read(resource, params, caller)))  # type: ignore[arg-type]
    key = concrete(resource, params)
    stored = device.store.view(key)  # before the read: a commit in between only makes the entry stale
    hit = _GET_BODIES.get((resource.template, key))
    if hit is not None and stored is not None and hit[0] is stored:
        return hit[1]
    body = _xml_body(resource.block, device.output(resource, device.read(resource, params, caller)))  # type: ignore[arg-type]
    if stored is not None:
        if len(_GET_BODIES) >= 512:
            _GET_BODIES.clear()
        _GET_BODIES[(resource.template, key)] = (stored, body)
    return body


@web.middleware
async def request_limits(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Rule 4: 414 / 431 for what the parser let through but the camera does not serve; nothing echoed."""
    if len(request.raw_path) > MAX_TARGET:
        return web.Response(status=414, text=f"request target longer than {MAX_TARGET} bytes\n")
    fields = [len(name) + len(value) + 2 for name, value in request.raw_headers]
    if fields and (max(fields) > MAX_FIELD or sum(fields) > MAX_HEADERS_SIZE):
        return web.Response(
            status=431, text=f"a header field over {MAX_FIELD} bytes or headers over {MAX_HEADERS_SIZE}\n"
        )
    return await handler(request)


async def _server_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = PRODUCT


@web.middleware
async def connection_policy(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    camera: Camera = request.app[CAMERA]
    if camera.options.latency_ms > 0:  # a real camera's time to answer (--latency-ms): benchmarks at real timing
        await asyncio.sleep(camera.options.latency_ms / 1000 * camera.options.time_scale)
    resp = await handler(request)
    if camera.faults.on(NO_KEEPALIVE):
        resp.force_close()
    elif camera.faults.on(CLOSE_IGNORED) and not request.keep_alive:
        resp._keep_alive = True  # noqa: SLF001 - the fault is precisely to override aiohttp here
    return resp


# -- connections (Rule 4) --------------------------------------------------------------------------


@dataclass(eq=False)
class _Conn:
    transport: asyncio.BaseTransport
    since: float = field(default_factory=time.monotonic)  # connected, or the end of its last request
    busy: int = 0  # requests being handled
    answered: bool = False  # a request was handled: idle now means keep-alive, not half-open
    receiving: float | None = None  # when the first byte of a request not yet handled arrived

    def expired(self, now: float, header_s: float, idle_s: float) -> bool:
        if self.busy:
            return False
        if self.receiving is not None or not self.answered:  # headers pending: since the first byte or the open
            return now - (self.receiving or self.since) > header_s
        return now - self.since > idle_s


class _Guarded(asyncio.Protocol):
    """aiohttp's protocol for one connection, seen by the guard on its way in and out."""

    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol) -> None:
        self.guard, self.inner = guard, inner
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.inner.connection_made(transport)
        self.guard.admit(_Conn(transport))

    def data_received(self, data: bytes) -> None:
        conn = self.guard.conns.get(self.transport) if self.transport is not None else None
        if conn is not None and not conn.busy and conn.receiving is None:
            conn.receiving = time.monotonic()
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.forget(self.transport)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class ConnectionGuard:
    """Rule 4 for one listening socket: `protocol(factory)` wraps aiohttp's protocol factory, `track` is the
    outermost middleware (a connection is busy while one of its requests is handled), `start` runs the reaper."""

    def __init__(
        self, limit: int = MAX_CONNECTIONS, header_s: float = HEADER_TIMEOUT_S, idle_s: float = KEEPALIVE_IDLE_S
    ) -> None:
        self.limit, self.header_s, self.idle_s = limit, header_s, idle_s
        self.conns: dict[asyncio.BaseTransport, _Conn] = {}
        self.figures = {"peak": 0, "evicted": 0, "reaped": 0}
        self._task: asyncio.Task[None] | None = None

    def protocol(self, factory: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        return lambda: _Guarded(self, factory())

    def admit(self, conn: _Conn) -> None:
        if len(self.conns) >= self.limit:
            idle = [c for c in self.conns.values() if not c.busy]
            if not idle:
                conn.transport.close()
                return
            oldest = min(idle, key=lambda c: c.since)
            self.conns.pop(oldest.transport, None)
            oldest.transport.close()
            self.figures["evicted"] += 1
        self.conns[conn.transport] = conn
        self.figures["peak"] = max(self.figures["peak"], len(self.conns))

    def forget(self, transport: asyncio.BaseTransport | None) -> None:
        if transport is not None:
            self.conns.pop(transport, None)

    @web.middleware
    async def track(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        conn = self.conns.get(request.transport) if request.transport is not None else None
        if conn is not None:
            conn.busy += 1
            conn.receiving = None
        try:
            return await handler(request)
        finally:
            if conn is not None:
                conn.busy -= 1
                conn.answered = True
                conn.since = time.monotonic()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._reap())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.header_s / 4))
            now = time.monotonic()
            for conn in [c for c in self.conns.values() if c.expired(now, self.header_s, self.idle_s)]:
                self.conns.pop(conn.transport, None)
                conn.transport.close()
                self.figures["reaped"] += 1


# Extensions' middlewares, innermost last (the hostile-camera profiles of simulator/hostile.py)
MIDDLEWARES: list[Callable[..., Awaitable[web.StreamResponse]]] = []


def build_app(camera: Camera, guard: ConnectionGuard | None = None) -> web.Application:
    outer = [guard.track] if guard is not None else []
    app = web.Application(
        client_max_size=MAX_BODY, middlewares=[*outer, request_limits, connection_policy, *MIDDLEWARES]
    )
    app.on_response_prepare.append(_server_header)
    app[CAMERA] = camera
    app[THROTTLE] = PasswordThrottle()
    app.router.add_route("*", "/{tail:.*}", dispatch, expect_handler=expect_continue)
    return app
