"""Domains, both ways, with Hypothesis (spec 6.1, 7, 9): values inside a field's domain are accepted
and stored, values outside get -5 and change nothing.

The strategies are generated from the block model (spec/blocks.py: `Field.minimum/maximum/values/
pattern`), one body per example: a few writable leaves of one resource with valid values (inside), or
valid values plus exactly one invalid leaf (outside), so a failure shrinks to a minimal body, which
the failure message shows with its curl line. Examples are reproducible: a fixed seed (BVIEW_SEED to
change it) and the example database under the report directory.
"""

from __future__ import annotations

import os
import string
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, seed, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from pytest_bview.checks import check_status, expect
from pytest_bview.documents import comparable, deep_merge, differences, put_back
from pytest_bview.protocol.xmlblocks import to_xml
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.model import Field
from pytest_bview.spec.permissions import KEPT_SECRETS
from pytest_bview.spec.resources import Resource, match
from pytest_bview.spec.status import Status

SEED = int(os.environ.get("BVIEW_SEED", "20240503"))
# examples per resource (inside, outside): `pytest suites` stays fast; BVIEW_EXAMPLES=10 multiplies them
EXAMPLES = {"inside": 4, "outside": 6}
NETWORK_EXAMPLES = {"inside": 1, "outside": 2}  # each network write waits the settle time (9.1): few, seeded
SCALE = int(os.environ.get("BVIEW_EXAMPLES", "1"))

RESOURCES = [
    "/Images/1/Scene",
    "/Images/1/Basic",
    "/Images/1/Color",
    "/Images/1/Exposure",
    "/Images/1/WhiteBalance",
    "/Images/1/IrCutFilter",
    "/Pictures/1/OSD",
    "/Pictures/1/Motion",
    "/Pictures/1/Motion/RegionsV2",
    "/Pictures/1/Motion/Trigger",
    "/Pictures/1/Motion/Schedule",
    "/Pictures/1/Mosaic",
    "/System/Time",
    "/System/NTP",
    "/System/DST",
    "/System/DeviceInfo",
    "/System/DeviceAutoMaintenance",
    "/Record",
    "/Record/HttpEvent/Config",
    "/Record/Notify/URL",
    "/Network/DDNS/Config",
    "/Network/UPNP/Config",
    "/Network/EMail",
    "/Network/FTP",
    "/Network/Interfaces/1/IPAddress/DNS",
    "/Network/Interfaces/2/Wireless",
]
PUT_ONLY = ["/Alarm/AMS/2", "/Alarm/EventCfgList/2"]

# Leaves left to their own checks: the running clock (test_time.py), and fields whose valid values
# depend on other fields (test_config.py::test_dependent_fields) are set by FIXUPS below.
EXCLUDED = {("Time", "SystemTime"), ("ConnectionConfig", "Enable")}
PRINTABLE = string.ascii_letters + string.digits + " -_.:/@"


# -- strategies from the block model ----------------------------------------------------------------


def valid(f: Field) -> st.SearchStrategy[str]:
    """Values inside the domain of leaf `f` (boundaries favoured)."""
    if f.values:
        return st.sampled_from(f.values)
    if f.kind == "bool":
        return st.sampled_from(["true", "false", "1", "0"])
    if f.kind == "int":
        lo = f.minimum if f.minimum is not None else 0
        hi = f.maximum if f.maximum is not None else lo + 100000
        return st.one_of(st.sampled_from([lo, hi]), st.integers(lo, hi)).map(str)
    if f.kind == "datetime":
        moments = st.datetimes(datetime(2000, 1, 1), datetime(2037, 12, 31))
        return st.one_of(moments.map(lambda d: d.strftime("%Y%m%dT%H%M%S")), moments.map(lambda d: d.isoformat()))
    if f.kind == "time":
        return st.times().map(lambda t: t.strftime("%H:%M:%S"))
    if f.pattern:
        # surrounding blanks are not part of a value (the device trims, 6.1.2 / ERRATA G8)
        return st.from_regex(f.pattern, fullmatch=True).filter(lambda v: v == v.strip() and f.check(v) is None)
    return st.text(PRINTABLE, min_size=f.min_length or 0, max_size=min(f.max_length or 24, 24)).map(str.strip)


def invalid(f: Field) -> st.SearchStrategy[str] | None:
    """Values outside the domain of leaf `f`; None for free text (no outside)."""
    candidates: list[st.SearchStrategy[str]] = [st.text(string.ascii_letters + string.digits + "-./", max_size=12)]
    if f.kind == "int":
        if f.minimum is not None:
            candidates.append(st.integers(f.minimum - 1000, f.minimum - 1).map(str))
        if f.maximum is not None:
            candidates.append(st.integers(f.maximum + 1, f.maximum + 1000).map(str))
        candidates.append(st.sampled_from(["1.5", "ten", "0x10", ""]))
    if f.kind == "str" and not (f.pattern or f.min_length or f.max_length):
        return None
    if f.kind == "str" and f.pattern and f.check("") is None and f.check("x") is None:
        return None  # a pattern that accepts anything printable
    return st.one_of(candidates).filter(lambda v: v == v.strip() and f.check(v) is not None)


def leaves(spec: Field, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Field]]:
    """Writable leaves, with their element paths; lists are drawn whole (see `list_value`)."""
    out = []
    for c in spec.children:
        if c.access == "ro" or (spec.name, c.name) in EXCLUDED:
            continue
        if c.kind == "struct" and not c.repeated and c.children:
            out += leaves(c, (*prefix, c.name))
        elif c.kind != "struct" or c.repeated:
            out.append(((*prefix, c.name), c))
    return out


def list_value(f: Field) -> st.SearchStrategy[list[dict[str, Any]]]:
    """A whole list of items of the repeated struct `f`, each item with every writable leaf."""
    item = st.fixed_dictionaries({c.name: valid(c) for c in f.children if c.access != "ro" and c.kind != "struct"})
    return st.lists(item, max_size=f.max_occurs or 3)


def put_doc(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    doc: Any = value
    for name in reversed(path):
        doc = {name: doc}
    return doc


def _span(a: str, b: str, top: int) -> tuple[str, str]:
    lo, hi = sorted((int(a), int(b)))
    if lo == hi:
        lo, hi = (lo, hi + 1) if hi < top else (lo - 1, hi)
    return str(lo), str(hi)


def _mosaic(doc: dict[str, Any]) -> dict[str, Any]:
    regions = doc.get("MosaicRegionList", {}).get("Region")
    if regions is None:
        return doc
    fixed = []
    for n, r in enumerate(regions[:4], start=1):  # IDs 1..4 once, top-left before bottom-right
        x0, x1 = _span(r["TopLeftX"], r["BottomRightX"], 703)
        y0, y1 = _span(r["TopLeftY"], r["BottomRightY"], 575)
        fixed.append({"ID": str(n), "TopLeftX": x0, "TopLeftY": y0, "BottomRightX": x1, "BottomRightY": y1})
    return {**doc, "MosaicRegionList": {"Region": fixed}}


def _in_mode(field_names: tuple[str, ...], mode: str) -> Any:
    def fix(doc: dict[str, Any]) -> dict[str, Any]:
        return {**doc, "Mode": mode} if any(n in doc for n in field_names) else doc

    return fix


def _ircut(doc: dict[str, Any]) -> dict[str, Any]:
    if "DayStartTime" not in doc and "DayEndTime" not in doc:
        return doc
    times = sorted({doc.get("DayStartTime", "06:00:00"), doc.get("DayEndTime", "18:00:00")} | {"00:00:00", "23:59:59"})
    return {**doc, "Mode": "time", "DayStartTime": times[0], "DayEndTime": times[-1]}


def _dst(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "Enable": "false"} if "Enable" in doc or "Mode" in doc else doc


def _wireless(doc: dict[str, Any]) -> dict[str, Any]:
    wep = doc.get("WEP", {}).get("keyList", {}).get("Key")
    if wep is not None:  # key IDs 1..4 once, as KeyID selects one of four keys (9.1.7.1.3)
        doc = deep_merge(doc, {"WEP": {"keyList": {"Key": []}}})
        doc["WEP"]["keyList"]["Key"] = [{**k, "ID": str(n)} for n, k in enumerate(wep, start=1)]
    keys = [doc.get("WPA", {}).get("Key") or {}, *(doc.get("WEP", {}).get("keyList", {}).get("Key") or [])]
    for key in keys:
        if key.get("KeyValue") and key.get("KeyValueB64"):
            key.pop("KeyValueB64")  # "the use of <KeyValue> and <KeyValueB64> is alternative"
    return doc


# Suite-side statement of the cross-field rules, so an inside example respects them.
FIXUPS = {
    "Color": _in_mode(("Brightness",), "manual"),
    "WhiteBalance": _in_mode(("GainRed", "GainBlue"), "manual"),
    "IrCutFilter": _ircut,
    "Mosaic": _mosaic,
    "DST": _dst,
    "ConnectionConfig": _wireless,
}


def _present(doc: Any, path: tuple[str, ...]) -> bool:
    for name in path:
        if not isinstance(doc, dict) or name not in doc:
            return False
        doc = doc[name]
    return True


def body_inside(spec: Field, server_list: list[str], current: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    # only fields the device shows: a field it does not return could not be put back by a partial PUT
    options = [(p, f) for p, f in leaves(spec) if _present(current, p)]

    @st.composite
    def draw(d: st.DrawFn) -> dict[str, Any]:
        chosen = d(st.lists(st.sampled_from(options), min_size=1, max_size=4, unique_by=lambda o: o[0]))
        doc: dict[str, Any] = {}
        for path, f in chosen:
            value = d(list_value(f)) if f.repeated else d(valid(f))
            if path == ("ProtocolName",):
                value = d(st.sampled_from(server_list))
            doc = deep_merge(doc, put_doc(path, value))
        return FIXUPS.get(spec.name, lambda x: x)(doc)

    return draw()


def body_outside(spec: Field) -> st.SearchStrategy[tuple[dict[str, Any], str]]:
    options = [(p, f, s) for p, f in leaves(spec) if not f.repeated and (s := invalid(f)) is not None]

    @st.composite
    def draw(d: st.DrawFn) -> tuple[dict[str, Any], str]:
        path, f, bad = d(st.sampled_from(options))
        return put_doc(path, d(bad)), f"<{'/'.join(path)}> {f.describe()}"

    return draw()


# -- the checks --------------------------------------------------------------------------------------------


def _resource(path: str) -> Resource:
    found = match(path)
    assert found is not None and found[0].block
    return found[0]


def _params(paths: list[str]) -> list[Any]:
    return [
        pytest.param(p, id=f"PUT {p}", marks=[pytest.mark.reversible, getattr(pytest.mark, _resource(p).area)])
        for p in paths
    ]


def _settings(bview, resource: Resource, direction: str) -> settings:
    n = (NETWORK_EXAMPLES if resource.has("network") else EXAMPLES)[direction] * SCALE
    return settings(
        max_examples=n,
        deadline=None,
        database=DirectoryBasedExampleDatabase(str(bview.settings.report_dir / "hypothesis")),
        suppress_health_check=list(HealthCheck),
        derandomize=False,
        print_blob=True,
    )


def _canon(f: Field | None, value: Any) -> Any:
    if f is not None and f.kind == "bool":
        return value in ("true", "1")
    return value


def _stored(spec: Field, sent: Any, got: Any) -> bool:
    """What was sent is what GET returns (xs:boolean 1/true alike; lists compared whole)."""
    if isinstance(sent, dict):
        return isinstance(got, dict) and all(_stored(spec.child(k) or spec, v, got.get(k)) for k, v in sent.items())
    if isinstance(sent, list):
        return (
            isinstance(got, list)
            and len(got) == len(sent)
            and all(_stored(spec, a, b) for a, b in zip(sent, got, strict=True))
        )
    if spec.name in KEPT_SECRETS and got == "":
        return True  # a secret the spec leaves readable (the WiFi key) that the camera keeps to itself (ERRATA S3)
    return _canon(spec, sent) == _canon(spec, got)


def _put(bview, path: str, doc: dict[str, Any]):
    return bview.client.put(path, to_xml(BLOCKS[_resource(path).block], doc, include_wo=True))


@pytest.mark.parametrize("path", _params(RESOURCES))
@pytest.mark.bview_rule("put-configuration")
def test_inside_domain_stored(bview, path: str) -> None:
    """6.1.1 + 9: any value inside the spec's domains is accepted (0) and the next GET returns it."""
    resource = _resource(path)
    spec = BLOCKS[resource.block].root
    servers = [s.get("ServerName") for s in bview.read("/Network/DDNS/ServerList")[0].get("Server", [])]
    original = bview.read(path)[0]

    @seed(SEED)
    @_settings(bview, resource, "inside")
    @given(body=body_inside(spec, servers, original))
    def check(body: dict[str, Any]) -> None:
        note(f"body: {to_xml(BLOCKS[resource.block], body, include_wo=True).decode()}")
        ex = _put(bview, path, body)
        check_status(ex, Status.OK, resource.section, f"every value is inside its domain: {body}")
        after, get = bview.read(path)
        sent = {k: v for k, v in body.items() if (f := spec.child(k)) is None or f.access != "wo"}
        sent = _strip_wo(spec, sent)
        expect(
            _stored(spec, sent, after),
            f"returned {after} after accepting {sent}",
            "values inside the domain are stored as sent (4.5.4)",
            resource.section,
            ex,
            get,
        )

    try:
        check()
    finally:
        if not resource.has("network") and comparable(bview.read(path)[0]) != comparable(original):
            put_back(bview, path, original)


def _strip_wo(spec: Field, doc: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in doc.items():
        f = spec.child(k)
        if f is not None and f.access == "wo":
            continue
        out[k] = _strip_wo(f, v) if f is not None and f.kind == "struct" and isinstance(v, dict) else v
    return out


@pytest.mark.parametrize("path", _params(RESOURCES + PUT_ONLY))
@pytest.mark.bview_rule("domain-any-value-refused")
def test_outside_domain_refused(bview, path: str) -> None:
    """7: a value outside its domain gets -5 (Parameter error) and changes nothing."""
    resource = _resource(path)
    spec = BLOCKS[resource.block].root
    readable = resource.op("GET") is not None
    before = bview.read(path)[0] if readable else None
    if not any(invalid(f) is not None for _, f in leaves(spec) if not f.repeated):
        pytest.skip(f"{resource.block}: every writable field is free text")

    @seed(SEED)
    @_settings(bview, resource, "outside")
    @given(case=body_outside(spec))
    def check(case: tuple[dict[str, Any], str]) -> None:
        body, domain = case
        note(f"body: {to_xml(BLOCKS[resource.block], body, include_wo=True).decode()}")
        ex = _put(bview, path, body)
        check_status(ex, Status.PARAMETER_ERROR, resource.section, f"{domain}: the value is outside it")
        if readable:
            after, get = bview.read(path)
            diff = differences(comparable(before), comparable(after))
            expect(not diff, f"changed {'; '.join(diff)}", "a refused request changes nothing", "7", ex, get)

    try:
        check()
    finally:  # a device that stored an outside value must not pass it on to the checks after this one
        if readable and comparable(bview.read(path)[0]) != comparable(before):
            put_back(bview, path, before)
