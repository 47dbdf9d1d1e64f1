"""The reference camera's lab controls under /_sim/: what only this camera can do for the suites.

Never part of the spec; the administrator's credentials only (http.py). The kit reaches them through
`pytest_bview.lab.Lab`, so that the suites talk to this camera as they would to any other: through the API,
and through this lab, which a real camera does not have (lab tests skip there).

    GET  /_sim/                              {"controls": ["GET /_sim/", ...]}: the lab is here
    POST /_sim/motion?region=R,C...          motion in a RegionsV2 cell (events.py)
    POST /_sim/log?fill=N                    N more log entries, as if N events had happened (9.2.10)
    GET  /_sim/firmware?model=M&version=V    a firmware package of this camera's format (maintenance.py)
    POST /_sim/config-file?model=M           the configuration file of the body, relabelled as model M
    GET  /_sim/factory-defaults              {path: document} the factory values (ERRATA.md L15)
    GET  /_sim/store?path=P                  the stored document of P, write-only fields included
    PUT  /_sim/store?path=P                  store the JSON document of the body as P (what a test cannot PUT back)
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from pytest_bview.simulator.extensions import SIM_ROUTES

if TYPE_CHECKING:
    from pytest_bview.simulator.camera import Camera

MAX_FILL = 100_000  # log entries one call may add


def _bad(text: str) -> web.Response:
    return web.json_response({"error": text}, status=400)


async def index(camera: Camera, request: web.Request) -> web.StreamResponse:
    controls = sorted(f"{m} {p}" for m, p in SIM_ROUTES if p.startswith("/_sim/"))
    return web.json_response({"controls": controls})


async def fill_log(camera: Camera, request: web.Request) -> web.StreamResponse:
    """N entries appended in one write, like the newest one (or a local reboot); the limit applies at the
    camera's next event, as it would after N events (device.py log_event)."""
    try:
        count = int(request.query.get("fill", ""))
    except ValueError:
        return _bad("fill=N, a whole number")
    if not 0 < count <= MAX_FILL:
        return _bad(f"fill=N with N from 1 to {MAX_FILL}")
    device = camera.live
    entries = device.store.extra("log", [])
    last = entries[-1]["ID"] if entries else 0
    filler = dict(entries[-1]) if entries else {"time": "2024-01-01T00:00:00", "majorType": 1, "minorType": 5}
    filler.update(netUser="system", hostIPAddress="", channel=1)
    await camera.run_blocking(
        lambda: device.store.commit(extra={"log": entries + [{**filler, "ID": last + i + 1} for i in range(count)]})
    )
    return web.json_response({"entries": len(entries) + count})


async def firmware(camera: Camera, request: web.Request) -> web.StreamResponse:
    from pytest_bview.simulator.maintenance import make_package

    try:
        package = make_package(request.query.get("model", ""), request.query.get("version", ""))
    except ValueError as exc:
        return _bad(str(exc))
    return web.Response(body=package, content_type="application/octet-stream")


async def relabel_config(camera: Camera, request: web.Request) -> web.StreamResponse:
    from pytest_bview.simulator.maintenance import ConfigFileError, export_config, read_config

    model = request.query.get("model", "")
    if not model:
        return _bad("model=M")
    try:
        meta, rows = read_config(await request.read())
    except ConfigFileError as exc:
        return _bad(f"not a configuration file of this camera: {exc}")
    return web.Response(
        body=export_config(dict(rows), {**meta, "model": model}), content_type="application/octet-stream"
    )


async def factory_values(camera: Camera, request: web.Request) -> web.StreamResponse:
    from pytest_bview.simulator.factory import factory_defaults

    return web.json_response(factory_defaults(camera.live.identity_mapping()))


def _key(request: web.Request) -> str | None:
    path = request.query.get("path", "")
    return path if path.startswith("/") else None


async def stored(camera: Camera, request: web.Request) -> web.StreamResponse:
    key = _key(request)
    if key is None or camera.live.store.get(key) is None:
        return _bad(f"path={request.query.get('path', '')!r}: no such stored resource")
    return web.json_response(camera.live.store.get(key))


async def store(camera: Camera, request: web.Request) -> web.StreamResponse:
    key = _key(request)
    if key is None or camera.live.store.get(key) is None:
        return _bad(f"path={request.query.get('path', '')!r}: no such stored resource")
    try:
        doc: Any = json.loads(await request.read())
    except ValueError as exc:
        return _bad(f"the body is not JSON: {exc}")
    if not isinstance(doc, dict):
        return _bad("the body is a JSON object (the document)")
    await camera.run_blocking(lambda: camera.live.store.commit(resources={key: doc}))
    return web.json_response({"stored": key})


SIM_ROUTES[("GET", "/_sim/")] = index
SIM_ROUTES[("POST", "/_sim/log")] = fill_log
SIM_ROUTES[("GET", "/_sim/firmware")] = firmware
SIM_ROUTES[("POST", "/_sim/config-file")] = relabel_config
SIM_ROUTES[("GET", "/_sim/factory-defaults")] = factory_values
SIM_ROUTES[("GET", "/_sim/store")] = stored
SIM_ROUTES[("PUT", "/_sim/store")] = store
