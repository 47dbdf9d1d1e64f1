"""Hostile-camera profiles: the reference camera turned against the client (issue 10).

A conformance kit must survive the device it tests. Each profile here attacks the HTTP client
rather than breaking one rule of the spec; tests/test_hostile.py runs the checks it names with
the profile on and requires each to end within --bview-timeout with one clear failure, the
session to complete, and the process memory to stay bounded (the client keeps at most
`Client.max_body` bytes of one answer).

Rule 1: every HTTP request is attacked except GET /System/DeviceInfo and the simulator's own
        /_sim/ and /upnp/ paths. DeviceInfo is the plugin's identity read and the report's health
        probe: spared, the session starts and the device looks alive, so that each check meets
        the attack itself (attacked, every check would be "inconclusive: device unhealthy").
        `hostile-mjpeg-endless` attacks only /Streams/{ChannelID}/4/ReceiveData.
Rule 2: the timings are real seconds, never scaled by --time-scale: the attack is on the
        client's wall-clock deadline.
Rule 3: the camera never pays for the attack: bodies are produced in bounded chunks, and every
        attack stops when the client goes away or after ATTACK_SECONDS.

| profile | what the camera does | how the client ends it |
|---|---|---|
| hostile-slow-trickle | the whole answer, status line included, one byte per second | total deadline (watchdog) |
| hostile-endless-body | headers, then an XML body that grows by 1 KiB every 0.1 s, forever | total deadline |
| hostile-gigabyte | Content-Length 1 GiB, streamed as fast as the client reads | size cap (`max_body`) |
| hostile-xml-bomb | a "billion laughs" document (nested entity expansion) | defusedxml: no DTD |
| hostile-xml-external-entity | an entity naming file:///etc/passwd | defusedxml: no DTD |
| hostile-invalid-utf8 | the genuine answer with bytes 0xFF 0xFE in its first text | UTF-8 check |
| hostile-wrong-content-length | Content-Length 1000 bytes too long, then closes | incomplete body |
| hostile-connection-reset | half the answer, then a TCP reset | connection error |
| hostile-redirect-loop | 302 to the very URL asked | redirects are not followed |
| hostile-mjpeg-endless | one MJPEG part that never reaches its boundary | part size cap and deadline |
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import struct
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from aiohttp import web

from pytest_bview.simulator import faults as F
from pytest_bview.simulator.http import CAMERA, MIDDLEWARES, NAMESPACE

if TYPE_CHECKING:
    from pytest_bview.simulator.camera import Camera

log = logging.getLogger("bview.sim.hostile")
ATTACK_SECONDS = 60.0  # no attack outlives this, whatever the client does
GIGABYTE = 1 << 30
CHUNK = 256 * 1024


def _declare(name: str, section: str, doc: str) -> str:
    # a hostile profile breaks no rule: it attacks the client (the checks that meet it: testing/matrix.py)
    return F.declare(name, section, doc, hostile=True)


TRICKLE = _declare("hostile-slow-trickle", "4.5", "answers one byte per second, status line and headers included")
ENDLESS = _declare("hostile-endless-body", "4.5.3", "sends an XML body that grows by 1 KiB every 0.1 s and never ends")
GIGABYTE_BODY = _declare(
    "hostile-gigabyte",
    "4.5.3",
    "answers with a body of 1 GiB (Content-Length: 1073741824)",
)
XML_BOMB = _declare("hostile-xml-bomb", "4.2", "answers a 'billion laughs' document (nested entity expansion)")
XXE = _declare("hostile-xml-external-entity", "4.2", "answers a document with an external entity (file:///etc/passwd)")
BAD_UTF8 = _declare("hostile-invalid-utf8", "4.2", "answers the genuine XML with invalid UTF-8 (0xFF 0xFE) inside")
WRONG_LENGTH = _declare(
    "hostile-wrong-content-length", "4.5.3", "announces 1000 bytes more than it sends, then closes the connection"
)
RESET = _declare("hostile-connection-reset", "4.5.1", "sends half of the answer, then resets the TCP connection")
REDIRECT_LOOP = _declare("hostile-redirect-loop", "4.4", "answers every request with 302 to the very same URL")
MJPEG_ENDLESS = _declare(
    "hostile-mjpeg-endless",
    "9.4.1.2.2",
    "the MJPEG stream's first part never reaches its boundary (endless JPEG data)",
)

BOMB = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<!DOCTYPE ResponseStatus [\n"
    b' <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10)
    )
    + b"]>\n<ResponseStatus><requestURL>&lol9;</requestURL><statusCode>0</statusCode></ResponseStatus>\n"
)
EXTERNAL = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<!DOCTYPE ResponseStatus [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b"<ResponseStatus><requestURL>&xxe;</requestURL><statusCode>0</statusCode></ResponseStatus>\n"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Attack = Callable[["Camera", web.Request, Handler], Awaitable[None]]


# -- the pieces of an attack ---------------------------------------------------------------------


def _head(status: int, reason: str, headers: dict[str, str]) -> bytes:
    if not any(k.lower() == "connection" for k in headers):
        # every attack ends with a hang-up: saying so keeps the client from reusing the connection in the
        # moment before the close reaches it (a reset on the next request, blamed on the wrong check)
        headers = {**headers, "Connection": "close"}
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _genuine(request: web.Request, handler: Handler) -> bytes:
    """The whole answer the conformant camera would give (status line, headers, body), as bytes."""
    if request.path.endswith("/ReceiveData"):  # a stream: answer as if the request were refused
        body = _status_xml(request.path, 0)
        return _head(
            200, "OK", {"Content-Type": "application/xml; charset=UTF-8", "Content-Length": str(len(body))}
        ) + (body)
    try:
        resp = await handler(request)
    except web.HTTPException as exc:
        resp = web.Response(status=exc.status, text=exc.text or "")
    body = resp.body if isinstance(resp, web.Response) and isinstance(resp.body, bytes) else b""
    framing = ("content-length", "transfer-encoding", "connection")
    headers = {k: v for k, v in resp.headers.items() if k.lower() not in framing}
    headers.setdefault("Content-Type", resp.content_type)
    headers["Content-Length"] = str(len(body))
    return _head(resp.status, resp.reason, headers) + body


def _status_xml(url: str, code: int) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ResponseStatus version="1.0" xmlns="{NAMESPACE}">'
        f"<requestURL>{url}</requestURL><statusCode>{code}</statusCode></ResponseStatus>\n"
    ).encode()


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def _dribble(request: web.Request, pieces: Iterable[bytes], interval: float) -> None:
    """Write one piece every `interval` seconds while the client listens (at most ATTACK_SECONDS)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + ATTACK_SECONDS
    for piece in pieces:
        transport = request.transport
        if transport is None or transport.is_closing() or loop.time() > end:
            return
        if transport.get_write_buffer_size() < 4 * CHUNK:  # never buffer more than the client takes
            transport.write(piece)
        await asyncio.sleep(interval)


def _hang_up(request: web.Request, reset: bool = False) -> None:
    transport = request.transport
    if transport is None:
        return
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()


# -- the attacks ---------------------------------------------------------------------------------


async def slow_trickle(camera: Camera, request: web.Request, handler: Handler) -> None:
    answer = await _genuine(request, handler)
    await _dribble(request, (answer[i : i + 1] for i in range(len(answer))), 1.0)


async def endless_body(camera: Camera, request: web.Request, handler: Handler) -> None:
    head = _head(200, "OK", {"Content-Type": "application/xml; charset=UTF-8", "Transfer-Encoding": "chunked"})
    opening = b'<?xml version="1.0" encoding="UTF-8"?>\n<ResponseStatus>'
    padding = b"<!--" + b"x" * 1010 + b"-->"

    def chunk(data: bytes) -> bytes:
        return b"%x\r\n%s\r\n" % (len(data), data)

    request.transport.write(head + chunk(opening))  # type: ignore[union-attr]
    await _dribble(request, itertools.repeat(chunk(padding)), 0.1)


async def gigabyte(camera: Camera, request: web.Request, handler: Handler) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + ATTACK_SECONDS
    request.transport.write(  # type: ignore[union-attr]
        _head(200, "OK", {"Content-Type": "application/xml; charset=UTF-8", "Content-Length": str(GIGABYTE)})
        + b"<ResponseStatus>"
    )
    sent, block = len(b"<ResponseStatus>"), b" " * CHUNK
    while sent < GIGABYTE and not _gone(request) and loop.time() < end:
        transport = request.transport
        assert transport is not None
        transport.write(block[: GIGABYTE - sent])
        sent += min(CHUNK, GIGABYTE - sent)
        while transport.get_write_buffer_size() > 4 * CHUNK and not transport.is_closing():  # the client's pace
            await asyncio.sleep(0.005)
            if loop.time() > end:
                return


def _canned(body: bytes) -> Attack:
    async def attack(camera: Camera, request: web.Request, handler: Handler) -> None:
        head = _head(200, "OK", {"Content-Type": "application/xml; charset=UTF-8", "Content-Length": str(len(body))})
        request.transport.write(head + body)  # type: ignore[union-attr]

    return attack


async def invalid_utf8(camera: Camera, request: web.Request, handler: Handler) -> None:
    answer = await _genuine(request, handler)
    head, _, body = answer.partition(b"\r\n\r\n")
    root = body.find(b"<", body.find(b"?>") + 2)  # the root element, after the XML declaration
    text = body.find(b">", body.find(b">", root) + 1) + 1  # after the first child's start tag
    body = body[:text] + b"\xff\xfe" + body[text:] if text > 0 else b"\xff\xfe" + body
    head = head.replace(b"Content-Length: %d" % (len(body) - 2), b"Content-Length: %d" % len(body))
    request.transport.write(head + b"\r\n\r\n" + body)  # type: ignore[union-attr]


async def wrong_content_length(camera: Camera, request: web.Request, handler: Handler) -> None:
    answer = await _genuine(request, handler)
    head, _, body = answer.partition(b"\r\n\r\n")
    head = head.replace(b"Content-Length: %d" % len(body), b"Content-Length: %d" % (len(body) + 1000))
    request.transport.write(head + b"\r\n\r\n" + body)  # type: ignore[union-attr]
    await asyncio.sleep(0.05)  # let the bytes leave before the close


async def connection_reset(camera: Camera, request: web.Request, handler: Handler) -> None:
    answer = await _genuine(request, handler)
    cut = answer.index(b"\r\n\r\n") + 4 + (len(answer) - answer.index(b"\r\n\r\n") - 4) // 2
    request.transport.write(answer[:cut])  # type: ignore[union-attr]
    await asyncio.sleep(0.05)  # the half answer reaches the client, then the reset
    _hang_up(request, reset=True)


async def redirect_loop(camera: Camera, request: web.Request, handler: Handler) -> None:
    request.transport.write(  # type: ignore[union-attr]
        _head(302, "Found", {"Location": str(request.url), "Content-Length": "0"})
    )


async def mjpeg_endless(camera: Camera, request: web.Request, handler: Handler) -> None:
    head = _head(200, "OK", {"Content-Type": "multipart/x-mixed-replace; boundary=frame", "Connection": "close"})
    request.transport.write(head + b"--frame\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xe0")  # type: ignore[union-attr]
    await _dribble(request, itertools.repeat(bytes(64 * 1024)), 0.02)


ATTACKS: dict[str, Attack] = {
    TRICKLE: slow_trickle,
    ENDLESS: endless_body,
    GIGABYTE_BODY: gigabyte,
    XML_BOMB: _canned(BOMB),
    XXE: _canned(EXTERNAL),
    BAD_UTF8: invalid_utf8,
    WRONG_LENGTH: wrong_content_length,
    RESET: connection_reset,
    REDIRECT_LOOP: redirect_loop,
    MJPEG_ENDLESS: mjpeg_endless,
}
ABORTS = {RESET}  # attacks that end the connection themselves


def _attack_for(camera: Camera, request: web.Request) -> tuple[str, Attack] | None:
    if not camera.faults:  # the conformant camera: nothing to look up on every request
        return None
    names = [n for n in ATTACKS if camera.faults.on(n)]
    if not names or request.path.startswith(("/_sim/", "/upnp/")):
        return None
    if MJPEG_ENDLESS in names and request.path.startswith("/Streams/") and request.path.endswith("/4/ReceiveData"):
        return MJPEG_ENDLESS, mjpeg_endless
    names = [n for n in names if n != MJPEG_ENDLESS]
    if not names:
        return None
    if request.method == "GET" and request.path == "/System/DeviceInfo":  # Rule 1
        return None
    return names[0], ATTACKS[names[0]]


@web.middleware
async def hostile(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer with the attack of the profile that is on; the connection is not reused afterwards."""
    camera: Camera = request.app[CAMERA]
    chosen = _attack_for(camera, request)
    if chosen is None:
        return await handler(request)
    name, attack = chosen
    log.info("%s: attacking %s %s", name, request.method, request.path)
    if request.can_read_body:
        await request.read()
    try:
        await attack(camera, request, handler)
    except (ConnectionError, OSError):
        pass  # the client went away: the attack is over
    if name not in ABORTS:
        _hang_up(request)
    # aiohttp's own write of this answer meets the closed transport and ends the connection quietly
    return web.Response(status=204)


MIDDLEWARES.append(hostile)
