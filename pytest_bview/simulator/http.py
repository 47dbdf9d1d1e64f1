"""The reference camera's HTTP/1.1 face (aiohttp): authentication, routing by the spec table,
ResponseStatus replies and the generic GET/PUT of configuration resources.

Rule 1 (4.5.2): every resource needs Basic credentials; without them or with wrong ones the
        answer is 401 with `WWW-Authenticate: Basic realm="B-View"`.
Rule 2: routing is the spec table (`spec.resources.match`); a path outside it is -10 (HTTP 404),
        a method the resource lacks is -3 (HTTP 405 with Allow), an Operator operation asked
        by a Normal user is -12 (HTTP 403) (ERRATA.md).
Rule 3: everything the camera says about a request is a ResponseStatus with `requestURL` and
        `statusCode`; the human-readable reason travels in the `X-BView-Detail` header.
Rule 4 (RFC 9110 9.1, 9.3.2): HEAD is answered wherever GET is, with GET's status and headers and
        no body. Oversized requests are refused by status, never echoed: a target longer than
        MAX_TARGET gets 414, a header field longer than MAX_FIELD (or all of them past MAX_HEADERS_SIZE)
        431 (RFC 6585 5). `Server` names the product, as RTSP does.
Paths under /_sim/ and /upnp/ are the simulator's own and cannot collide with the spec.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from aiohttp import web

from pytest_bview.simulator import PRODUCT
from pytest_bview.simulator import faults as F
from pytest_bview.simulator.config import MAX_XML_BYTES, ApiError, concrete
from pytest_bview.simulator.device import ADMIN_LEVEL, COMPUTED, Caller, Device
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.model import NAMESPACE
from pytest_bview.spec.resources import Resource, match
from pytest_bview.spec.status import Status, http_status
from pytest_bview.xmlblocks import to_xml

if TYPE_CHECKING:
    from pytest_bview.simulator.camera import Camera

log = logging.getLogger("bview.sim.http")

REALM = "B-View"
XML_TYPE = "application/xml; charset=UTF-8"
# Characters XML 1.0 cannot carry (2.2 Char): percent-encoded in requestURL (a request for /%00 must still get
# a well-formed answer; found by fuzzing)
NOT_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
BODY_TIMEOUT_S = 30.0  # a whole request body must arrive within this (real seconds: a network limit)
MAX_BODY = 64 * 1024 * 1024  # firmware packages; XML bodies are capped far lower (MAX_XML_BYTES)
CAMERA: web.AppKey[Camera] = web.AppKey("camera", "Camera")  # request.app[CAMERA] (no NotAppKeyWarning)
# RFC 9112 3: "It is RECOMMENDED that all HTTP senders and recipients support, at a minimum, request-line
# lengths of 8000 octets"; 8190 is aiohttp's own line limit. aiohttp's parser is given PARSER_LIMIT instead,
# so that these limits answer 414/431; past PARSER_LIMIT the parser itself still refuses with its 400.
MAX_TARGET = 8190
MAX_FIELD = 8190
MAX_HEADERS_SIZE = 32 * 1024
PARSER_LIMIT = 64 * 1024

NO_AUTH = F.declare(
    "auth-not-required",
    "4.5.2",
    "GET /System/DeviceInfo is served without credentials",
    ["suites/test_protocol.py::test_auth_required[GET /System/DeviceInfo]"],
)
NO_CHALLENGE = F.declare(
    "auth-no-www-authenticate",
    "4.5.2",
    "401 answers carry no WWW-Authenticate header",
    ["suites/test_protocol.py::test_auth_required"],
)
ANY_PASSWORD = F.declare(
    "auth-any-password",
    "4.5.2",
    "a wrong password for a known user is accepted",
    ["suites/test_protocol.py::test_wrong_password_refused"],
)
NO_KEEPALIVE = F.declare(
    "http-no-keepalive",
    "4.5.1",
    "every response closes the connection (no persistent connections)",
    ["suites/test_protocol.py::test_persistent_connection"],
)
CLOSE_IGNORED = F.declare(
    "http-connection-close-ignored",
    "4.5.1",
    "the connection stays open after a request with Connection: close",
    ["suites/test_protocol.py::test_connection_close_honoured"],
)
WRONG_CONTENT_TYPE = F.declare(
    "http-xml-content-type",
    "4.5.3",
    "XML replies are labelled text/html",
    ["suites/test_protocol.py::test_xml_content_type"],
)
UNKNOWN_URL_OK = F.declare(
    "url-unknown-accepted",
    "7",
    "an unknown URL is answered 200 with an empty body instead of -10",
    ["suites/test_protocol.py::test_unknown_url"],
)
OPERATOR_OPEN = F.declare(
    "level-operator-open",
    "9.10",
    "a Normal user may PUT Operator-level resources",
    ["suites/test_users.py::test_normal_user_refused_operator_level"],
)
NO_REQUEST_URL = F.declare(
    "status-no-request-url",
    "7",
    "ResponseStatus replies lack <requestURL>",
    ["suites/test_protocol.py::test_response_status_shape"],
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
        return self.camera.device

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
    record = camera.device.authenticate(user, password)
    if record is None and camera.faults.on(ANY_PASSWORD) and camera.device.password_of(user) is not None:
        record = next(u for u in camera.device.users() if u.get("UserName") == user)
    if record is None:
        return None
    host = (request.host or "").rsplit(":", 1)[0] if not (request.host or "").endswith("]") else request.host
    return Caller(user, record.get("UserLevel", "Normal"), request.remote or "", host or "127.0.0.1")


async def dispatch(request: web.Request) -> web.StreamResponse:
    camera: Camera = request.app[CAMERA]
    path = request.path
    camera.requests_seen[request.method] = camera.requests_seen.get(request.method, 0) + 1
    method = "GET" if request.method == "HEAD" else request.method  # Rule 4: aiohttp drops HEAD's body
    if request.version.major != 1:  # only HTTP/1.x is spoken here (RFC 9110 15.6.6; found by fuzzing)
        resp = web.Response(status=505, text="HTTP version not supported\n")
        resp.force_close()
        return resp
    if path.startswith("/_sim/") or path.startswith("/upnp/"):
        return await camera.sim_route(request)
    caller = authenticate(camera, request)
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
    if op.level == "Operator" and caller.level != ADMIN_LEVEL and not camera.faults.on(OPERATOR_OPEN):
        return status_response(
            camera,
            path,
            Status.INVALID_OPERATION,
            f"{request.method} {resource.template} needs the Operator level",
            403,
        )
    if request.content_length and request.content_length > MAX_BODY:
        return status_response(camera, path, Status.MEMORY_OVERFLOW, "request body too large", 413)
    try:
        params = camera.device.check_params(resource, raw_params)
        # an operation without inbound data never waits for a body (a GET announcing a huge chunk
        # must still be answered); a body that trickles in is cut off after BODY_TIMEOUT_S
        body = b""
        if request.can_read_body and op.inbound is not None:
            try:
                body = await asyncio.wait_for(request.read(), BODY_TIMEOUT_S)
            except TimeoutError:
                return status_response(
                    camera, path, Status.XML_URL_MISMATCH, f"request body not complete within {BODY_TIMEOUT_S:g} s", 408
                )
        if op.inbound and op.inbound in BLOCKS and len(body) > MAX_XML_BYTES:
            raise ApiError(Status.MEMORY_OVERFLOW, f"XML body of {len(body)} bytes")
        ctx = Ctx(camera, request, resource, params, caller, body)
        handler = HANDLERS.get((resource.template, method))
        if handler is not None:
            return await handler(ctx)
        if method == "GET" and resource.block:
            return _xml_reply(camera, _get_body(camera, resource, params, caller))
        if method == "PUT" and resource.block:
            await camera.run_blocking(camera.device.write, resource, params, body, caller)
            return status_response(camera, path, Status.OK)
        return status_response(camera, path, Status.UNSUPPORTED_OPERATION, "not implemented by this device")
    except ApiError as err:
        return status_response(camera, path, err.code, err.detail)
    except web.HTTPException:
        raise
    except Exception:  # a firmware bug must answer, not kill the connection
        log.exception("internal error on %s %s", request.method, path)
        return status_response(camera, path, Status.SDK_CALL_FAILED, "internal error", 500)


_GET_BODIES: dict[tuple[str, str], tuple[dict, bytes]] = {}  # (template, store key) -> (stored document, XML)


def _get_body(camera: Camera, resource: Resource, params: dict[str, int], caller: Caller) -> bytes:
    """The XML a generic GET answers. On a conformant camera (no fault), for a block stored as such (no parts,
    no computed fields) that XML depends on the stored document alone: it is remembered with that document
    and served while the store still holds it (a commit puts new documents in place, see state.py)."""
    device = camera.device
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
    resp = await handler(request)
    if camera.faults.on(NO_KEEPALIVE):
        resp.force_close()
    elif camera.faults.on(CLOSE_IGNORED) and not request.keep_alive:
        resp._keep_alive = True  # noqa: SLF001 - the fault is precisely to override aiohttp here
    return resp


# Extensions' middlewares, innermost last (the hostile-camera profiles of simulator/hostile.py)
MIDDLEWARES: list[Callable[..., Awaitable[web.StreamResponse]]] = []


def build_app(camera: Camera) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[request_limits, connection_policy, *MIDDLEWARES])
    app.on_response_prepare.append(_server_header)
    app[CAMERA] = camera
    app.router.add_route("*", "/{tail:.*}", dispatch)
    from pytest_bview.simulator import actions  # noqa: F401  (registers HANDLERS)

    return app
