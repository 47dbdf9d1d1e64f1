"""Conformant variants: differences the spec allows, the dual of the fault profiles (faults.py).

Rule 1: a variant is declared here with the rules of pytest_bview/spec/rules.py whose freedom it exercises
        (a MAY, a SHOULD the device may decline, an ERRATA decision that accepts several forms); it never
        names a check. `bview-sim --variant NAME`, `--bview-sim-variant NAME`; `bview-sim --list-variants`.
Rule 2: a camera with any set of variants on is still conformant: every suite passes against it
        (tests/test_variant_matrix.py), advisories aside for a SHOULD it declines.
Rule 3: variants act only at the edges: the reply's wire form (a middleware), the identity the camera is
        started with, and the configuration it holds when first started. The protocol code knows nothing of them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from aiohttp import web

from pytest_bview.simulator import extensions
from pytest_bview.simulator import http as sim_http
from pytest_bview.spec.facts import MAX_LOG_ENTRIES

if TYPE_CHECKING:
    from pytest_bview.simulator.camera import Camera
    from pytest_bview.simulator.device import Identity


@dataclass(frozen=True)
class Variant:
    name: str
    rules: tuple[str, ...]  # ids of pytest_bview/spec/rules.py: the freedoms it exercises
    doc: str  # what the variant camera does differently


REGISTRY: dict[str, Variant] = {}


def declare(name: str, rules: Iterable[str], doc: str) -> str:
    """Register a variant; returns its name so the code that consults it can keep it in a constant."""
    if name in REGISTRY:
        raise ValueError(f"variant {name!r} declared twice")
    REGISTRY[name] = Variant(name, tuple(rules), doc)
    return name


NS_PREFIX = declare(
    "xml-namespace-prefix",
    ["xml-namespace"],
    "every XML reply binds the B-View namespace to a prefix (<bv:DeviceInfo xmlns:bv=...>)",
)
NS_NONE = declare("xml-namespace-none", ["xml-namespace"], "XML replies carry no namespace at all")
TEXT_XML = declare(
    "text-xml",
    ["entity-content-type-any", "entity-content-type-xml"],
    "XML replies are labelled text/xml; charset=UTF-8",
)
CLOSE = declare(
    "connection-close",
    ["http-persistent"],
    "every answer carries Connection: close and the connection is closed (no persistent connections)",
)
LIVED_IN = declare(
    "lived-in",
    ["put-configuration", "users-many", "time-zone-posix"],
    "first started far from factory settings: other image, OSD and stream values, another device name, "
    "a CET time zone with DST rules, four more users",
)
RUN_BEFORE = declare(
    "been-through-a-run",
    ["log-holds-history"],
    "first started with the log a full run leaves: 990 of its 1000 entries, among them configuration and user "
    "entries dated 2031 and 2000 (written while a check had set the clock ahead or back)",
)
IDENTITY = declare(
    "other-identity",
    ["device-identity"],
    "another model, serial, hardware and firmware strings (spaces, letters, a build suffix)",
)

VARIANTS = REGISTRY  # the published name (docs/RULES.md)


class Variants:
    """The set of variants switched on for one camera."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        names = tuple(names)
        unknown = [n for n in names if n not in REGISTRY]
        if unknown:
            raise ValueError(f"unknown variant(s): {', '.join(unknown)} (see bview-sim --list-variants)")
        if NS_PREFIX in names and NS_NONE in names:
            raise ValueError(f"variants {NS_PREFIX} and {NS_NONE} exclude each other")
        self.names = frozenset(names)

    def on(self, name: str) -> bool:
        if name not in REGISTRY:  # a typo must not silently mean "off"
            raise KeyError(f"variant {name!r} was never declared")
        return name in self.names

    def __bool__(self) -> bool:
        return bool(self.names)


def listing() -> str:
    """`bview-sim --list-variants`: name, the rules it exercises, what it does."""
    width = max(len(v.name) for v in REGISTRY.values())
    return "\n".join(f"{v.name:<{width}}  {','.join(v.rules):<56} {v.doc}" for v in REGISTRY.values())


# -- identity ------------------------------------------------------------------------------------------------------


def identity(base: Identity, variants: Variants) -> Identity:
    """The identity a camera with these variants reports (9.2.4: the device's own strings)."""
    if not variants.on(IDENTITY):
        return base
    return replace(
        base, model="XC-9000 Pro/2", serial="sn77Q-0000-4711", firmware="V5.4.3 build 240101", hardware="rev. C (2024)"
    )


# -- the wire form of replies --------------------------------------------------------------------------------------


def _rewrite_namespace(body: bytes, prefixed: bool) -> bytes:
    try:
        root = ET.fromstring(body)  # the camera's own reply: trusted, no entities
    except ET.ParseError:
        return body
    if not root.tag.startswith(f"{{{sim_http.NAMESPACE}}}"):
        return body  # not a B-View block (the UPnP description keeps the namespace UPnP requires)
    for el in root.iter():
        if el.tag.startswith("{"):
            ns, _, name = el.tag[1:].partition("}")
            el.tag = f"{{{ns}}}{name}" if prefixed else name
    out = ET.tostring(root, encoding="unicode", default_namespace=None)
    if prefixed:
        out = out.replace("ns0:", "bv:").replace("xmlns:ns0=", "xmlns:bv=")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + out.encode()


@web.middleware
async def wire_form(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    resp = await handler(request)
    variants = request.app[sim_http.CAMERA].variants
    if not variants:
        return resp
    if variants.on(CLOSE):
        resp.force_close()
    is_xml = isinstance(resp, web.Response) and (resp.content_type or "").endswith("xml") and resp.body
    if not is_xml:
        return resp
    if variants.on(NS_PREFIX) or variants.on(NS_NONE):
        assert isinstance(resp, web.Response)  # (is_xml)
        resp.body = _rewrite_namespace(bytes(resp.body), variants.on(NS_PREFIX))  # type: ignore[arg-type]
    if variants.on(TEXT_XML):
        resp.headers["Content-Type"] = "text/xml; charset=UTF-8"
    return resp


# -- a camera that has lived ---------------------------------------------------------------------------------------

LIVED_IN_MARK = "variant-lived-in"  # store extra: the changes were made once, at the first start
LIVED_IN_RESOURCES = (
    "/Images/1/Color",
    "/Images/1/Basic",
    "/Images/1/Exposure",
    "/Images/1/WhiteBalance",
    "/Images/1/Scene",
    "/Pictures/1/OSD",
)
LIVED_IN_EXPLICIT: tuple[tuple[str, dict[str, Any]], ...] = (
    ("/Streams/1/1", {"ResolutionWidth": "1024", "ResolutionHeigth": "768", "FrameRate": "1500", "Bitrate": "3072"}),
    ("/Streams/1/2", {"ResolutionWidth": "320", "ResolutionHeigth": "240", "FrameRate": "1000", "Bitrate": "256"}),
    ("/System/NTP", {"TimeZone": "CET-1CEST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00"}),  # 9.2.2's example
    ("/System/DeviceInfo", {"DeviceName": "Loading bay 3 (north)"}),
)
LIVED_IN_USERS = ("operator", "night-shift", "vms-recorder", "installer")


def _other(f: Any, value: str) -> str | None:
    """Another valid value of leaf `f` than `value`, or None (left alone)."""
    if f.name == "ID" or f.access == "ro" or f.pattern:
        return None
    if f.values:
        usable = [v for v in f.values if "notsupport" not in v.lower()]
        if value in usable and len(usable) > 1:
            return usable[(usable.index(value) + 1) % len(usable)]
        return None
    if f.kind == "bool":
        return "false" if value in ("true", "1") else "true"
    if f.kind == "int" and f.minimum is not None and f.maximum is not None:
        other = f.minimum + (f.maximum - f.minimum) // 3
        return str(other if str(other) != value else other + 1)
    return None


def live_in(camera: Camera) -> None:
    """Once, at the first start: move the configuration far from the factory values, through the camera's own
    PUT validation (a value it refuses is left as it was)."""
    from pytest_bview.protocol.xmlblocks import to_xml
    from pytest_bview.simulator.config import ApiError
    from pytest_bview.simulator.device import ADMIN_LEVEL, Caller
    from pytest_bview.spec.blocks import BLOCKS
    from pytest_bview.spec.resources import match

    device = camera.device
    if device is None or device.store.extra(LIVED_IN_MARK):
        return
    caller = Caller("admin", ADMIN_LEVEL)

    def put(path: str, doc: dict[str, Any]) -> None:
        found = match(path)
        assert found is not None and found[0].block
        resource, raw = found
        block = resource.block
        assert block is not None
        params = {k: int(v) for k, v in raw.items()}
        try:
            device.write(resource, params, to_xml(BLOCKS[block], doc, include_wo=True), caller)
        except ApiError:  # a value a cross-field rule refuses stays as it was
            return

    for path in LIVED_IN_RESOURCES:
        found = match(path)
        if found is None or not found[0].block:
            continue
        current = device.store.get(path) or {}
        for leaf, f in BLOCKS[found[0].block].leaves():
            names = leaf.split("/")
            value: Any = current
            for name in names:
                value = value.get(name) if isinstance(value, dict) else None
            other = _other(f, str(value)) if isinstance(value, str) else None
            if other is None:
                continue
            doc: dict[str, Any] = {names[-1]: other}
            for name in reversed(names[:-1]):
                doc = {name: doc}
            put(path, doc)
    for path, doc in LIVED_IN_EXPLICIT:
        put(path, doc)
    users = device.users()
    next_id = max(int(u["ID"]) for u in users) + 1
    for n, name in enumerate(LIVED_IN_USERS):
        users.append(
            {
                "ID": str(next_id + n),
                "UserName": name,
                "Password": f"Lived-{n}-in!",
                "UserLevel": "Normal",
                "IPAddress": "",
                "MACAddress": "",
            }
        )
    device.store.commit(resources={"/System/Users": {"User": users}}, extra={LIVED_IN_MARK: True})


PAST_RUN_MARK = "variant-been-through-a-run"
PAST_RUN_ENTRIES = MAX_LOG_ENTRIES - 10  # of the 1000 the log holds (9.2.10): the next run's push the oldest out
PAST_RUN_TYPES = ((2, 102), (2, 102), (4, 301), (4, 302), (2, 102), (1, 1))  # config, users, a restart


def past_run(camera: Camera) -> None:
    """Once, at the first start: the log a previous full run left, dates from a clock set ahead and back."""
    from datetime import datetime, timedelta

    device = camera.device
    if device is None or device.store.extra(PAST_RUN_MARK):
        return
    now = device.now().replace(tzinfo=None, microsecond=0)
    starts = (now - timedelta(days=1), datetime(2031, 5, 3, 17, 30, 8), datetime(2000, 1, 1), now - timedelta(hours=1))
    entries = []
    for n in range(PAST_RUN_ENTRIES):
        start = starts[n * len(starts) // PAST_RUN_ENTRIES]
        major, minor = PAST_RUN_TYPES[n % len(PAST_RUN_TYPES)]
        entries.append(
            {
                "ID": n + 1,
                "time": (start + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%S"),
                "majorType": major,
                "minorType": minor,
                "netUser": "admin" if major != 1 else "system",
                "hostIPAddress": "127.0.0.1" if major != 1 else "",
                "channel": 1,
            }
        )
    entries += device.store.extra("log", [])  # what the camera logged since it started comes after
    for n, entry in enumerate(entries, start=1):
        entry["ID"] = n
    device.store.commit(extra={"log": entries, PAST_RUN_MARK: True})


async def _startup(camera: Camera) -> None:
    # once per camera process and state: a factory default (and its restart) must find factory values
    for name, fn in ((LIVED_IN, live_in), (RUN_BEFORE, past_run)):
        if camera.variants.on(name) and not camera.extensions.get(name):
            camera.extensions[name] = True
            await camera.run_blocking(fn, camera)


sim_http.MIDDLEWARES.insert(0, wire_form)  # outermost of the extensions' middlewares: sees the final reply
extensions.STARTUP_HOOKS.append(_startup)
