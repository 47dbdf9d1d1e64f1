"""A bounded loopback load test: the reference camera keeps giving correct answers at 64 concurrent
keep-alive connections doing GETs and PUTs for a few seconds.

Every answer is checked: a GET of /Images/1/Color is HTTP 200 with a schema-valid Color block whose
Brightness is one of the values the PUTs write; a GET of /System/DeviceInfo equals the first one; a PUT
is HTTP 200 with statusCode 0. Connections stay open (keep-alive) the whole time; no error is allowed.
Figures (requests/s, latency percentiles) are printed with -s and recorded as junit properties.
"""

from __future__ import annotations

import asyncio
import base64
import statistics
import time

import pytest

from pytest_bview import checks
from pytest_bview.client import Exchange
from pytest_bview.simulator.camera import CameraThread

CONNECTIONS = 64
SECONDS = 3.0
BRIGHTNESS = ("20", "40", "60", "80")
AUTH = "Basic " + base64.b64encode(b"admin:admin").decode()
COLOR = "/Images/1/Color"


def _request(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: camera\r\nAuthorization: {AUTH}\r\nConnection: keep-alive\r\n"
    if body:
        head += f"Content-Type: application/xml; charset=UTF-8\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


async def _answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


def _judge(method: str, path: str, status: int, headers: dict[str, str], body: bytes, info: bytes) -> str | None:
    ex = Exchange(method, path, {}, b"", status=status, headers={"Content-Type": headers.get("content-type", "")})
    ex.body = body
    if method == "PUT":
        code = checks.status_code(ex)
        return None if status == 200 and code == 0 else f"PUT {path}: HTTP {status} statusCode {code}"
    if status != 200:
        return f"GET {path}: HTTP {status}"
    if path != COLOR:
        return None if body == info else f"GET {path}: a different body than the first one"
    try:
        root = checks.parse_xml(ex, "9.6.1.3")
    except AssertionError as exc:
        return f"GET {path}: {str(exc).splitlines()[0]}"
    errors = checks.schema_errors(root, "Color")
    if errors:
        return f"GET {path}: not a valid Color block: {errors[:2]}"
    if root.findtext("Brightness") not in BRIGHTNESS + ("50",):
        return f"GET {path}: Brightness {root.findtext('Brightness')!r}, never written"
    return None


async def _worker(port: int, n: int, until: float, info: bytes, out: dict) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    out["connections"] += 1
    i = 0
    try:
        while time.monotonic() < until:
            i += 1
            if i % 4 == 0:
                value = BRIGHTNESS[(n + i) % len(BRIGHTNESS)]
                method, path, body = "PUT", COLOR, f"<Color><Brightness>{value}</Brightness></Color>".encode()
            else:
                method, path, body = "GET", COLOR if i % 2 else "/System/DeviceInfo", b""
            start = time.monotonic()
            writer.write(_request(method, path, body))
            await writer.drain()
            status, headers, answer = await asyncio.wait_for(_answer(reader), 10)
            out["latency"].append(time.monotonic() - start)
            out[method] += 1
            if headers.get("connection", "").lower() == "close":
                out["errors"].append(f"{method} {path}: the camera closed a keep-alive connection")
                return
            problem = _judge(method, path, status, headers, answer, info)
            if problem:
                out["errors"].append(problem)
    except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
        out["errors"].append(f"connection {n}: {exc!r}")
    finally:
        writer.close()


async def _load(port: int) -> dict:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_request("GET", "/System/DeviceInfo"))
    _, _, info = await _answer(reader)
    writer.close()
    out: dict = {"GET": 0, "PUT": 0, "errors": [], "latency": [], "connections": 0}
    until = time.monotonic() + SECONDS
    start = time.monotonic()
    await asyncio.gather(*(_worker(port, n, until, info, out) for n in range(CONNECTIONS)))
    out["elapsed"] = time.monotonic() - start
    return out


def test_64_keepalive_connections_get_correct_answers(record_property: pytest.RecordProperty) -> None:
    with CameraThread(time_scale=0.01, ssdp_port=0, discovery=False) as cam:
        out = asyncio.run(_load(cam.ports["http"]))
    total = out["GET"] + out["PUT"]
    lat = sorted(out["latency"])
    figures = {
        "requests": total,
        "requests_per_s": round(total / out["elapsed"], 1),
        "puts": out["PUT"],
        "p50_ms": round(1000 * statistics.median(lat), 1) if lat else None,
        "p99_ms": round(1000 * lat[int(len(lat) * 0.99) - 1], 1) if lat else None,
    }
    for k, v in figures.items():
        record_property(k, v)
    print(f"\nload: {CONNECTIONS} keep-alive connections for {SECONDS:g} s: {figures}")
    assert not out["errors"], f"{len(out['errors'])} wrong answers, first: {out['errors'][:5]}"
    assert out["connections"] == CONNECTIONS
    assert out["PUT"] > 0 and out["GET"] > 2 * CONNECTIONS, figures
