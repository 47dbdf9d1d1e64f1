"""The block model (spec/blocks.py), its XSDs (schemas/), the XML codec and the factory defaults agree."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from pytest_bview.protocol.xmlblocks import from_element, to_element, to_xml
from pytest_bview.simulator.factory import USERS, factory_defaults, stored_resources
from pytest_bview.spec import xsd
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.model import Block, Field
from pytest_bview.spec.resources import (
    AUDIO,
    BINARY,
    BY_TEMPLATE,
    FORM,
    JPEG,
    MJPEG,
    MULTIPART,
    OPAQUE,
    RESOURCES,
    Instances,
    Resource,
)

REPO = Path(__file__).resolve().parents[1]
SPEC_TEXT = REPO.parent / "shared" / "spec" / "bview2-rest-api-spec.txt"
NOT_XML = {FORM, OPAQUE, BINARY, MULTIPART, AUDIO, JPEG, MJPEG}
ZWCLOUD = "http://www.zwcloud.wang/ver10/XMLSchema"
IDENTITY = {
    "mac": "00:1A:2B:3C:4D:5E",
    "serial": "BV2A00012345",
    "model": "BV-IPC2-5MP",
    "firmware": "2.0.0",
    "hardware": "HW-1.2",
    "ip": "192.168.1.64",
    "http_port": "80",
    "rtsp_port": "554",
    "user": "admin",
    "password": "s3cret",
}
DEFAULTS = factory_defaults(IDENTITY)


def _block_names_of_resources() -> set[str]:
    names = {"ResponseStatus", "TwoWayAudio"}
    for r in RESOURCES:
        if r.block:
            names.add(r.block)
        for op in r.ops:
            names.update(n for n in (op.inbound, op.outbound) if n and n not in NOT_XML)
    return names


def _strip_namespaces(element: ET.Element) -> ET.Element:
    """What the suite does before validating (ERRATA.md: zwcloud, hikvision or no namespace)."""
    for e in element.iter():
        if isinstance(e.tag, str):
            e.tag = e.tag.rsplit("}", 1)[-1]
    return element


def _errors(block: Block, doc: dict[str, Any], direction: xsd.Direction = "output", **kwargs: Any) -> list[str]:
    element = ET.fromstring(to_xml(block, doc, **kwargs))
    schema = xsd.load_schema(block.name, direction)
    return [str(e.reason) for e in schema.iter_errors(_strip_namespaces(element))]


# -- declarations ------------------------------------------------------------------------------


def test_every_block_of_chapter_9_is_declared() -> None:
    """9: every block a resource names (block, inbound, outbound) has a declaration."""
    missing = sorted(_block_names_of_resources() - set(BLOCKS.blocks))
    assert not missing, f"blocks named in resources.py but not declared in blocks.py: {missing}"


def test_no_block_is_declared_without_a_use() -> None:
    unused = sorted(set(BLOCKS.blocks) - _block_names_of_resources())
    assert not unused, f"blocks declared but named by no resource: {unused}"


@pytest.mark.skipif(not SPEC_TEXT.exists(), reason="the spec text is not beside the repository")
@pytest.mark.parametrize("block", list(BLOCKS), ids=lambda b: b.name)
def test_block_line_points_at_its_sample(block: Block) -> None:
    """Each block's `line` is the line of the spec where its sample's root element opens."""
    line = SPEC_TEXT.read_text(encoding="utf-8").splitlines()[block.line - 1]
    assert line.lstrip().replace("< ", "<").startswith(f"<{block.element}"), f"line {block.line}: {line!r}"


def test_embedded_parts_reuse_the_part_blocks() -> None:
    """A collection's block embeds its parts' roots, not copies that could drift."""
    for r in RESOURCES:
        if not r.block:
            continue
        for element, template in r.parts:
            node: Field | None = BLOCKS[r.block].root
            for name in element.split("/"):
                node = node.child(name) if node else None
            part = BY_TEMPLATE[template]
            assert node is not None, f"{r.template}: no <{element}> in {r.block}"
            assert part.block is not None
            assert node.children == BLOCKS[part.block].root.children, f"{r.template} <{element}> != {part.block}"


# -- XSDs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", list(BLOCKS), ids=lambda b: b.name)
def test_xsd_loads(block: Block) -> None:
    schema = xsd.load_schema(block.name)
    assert block.element in schema.elements


def test_committed_xsds_are_current() -> None:
    """schemas/*.xsd equal what `python -m pytest_bview.spec.xsd` generates."""
    assert xsd.main(["--check"]) == 0, "run: python -m pytest_bview.spec.xsd"


def test_check_reports_a_stale_file(tmp_path: Path) -> None:
    xsd.write_all(tmp_path)
    assert xsd.main(["--check", str(tmp_path)]) == 0
    (tmp_path / "Color.xsd").write_text("<changed/>", encoding="utf-8")
    (tmp_path / "DDNS.xsd").unlink()
    (tmp_path / "input" / "Gone.xsd").write_text("<old/>", encoding="utf-8")
    assert set(xsd.stale(tmp_path)) == {
        "DDNS.xsd: missing",
        "Color.xsd: differs from the generated schema",
        "input/Gone.xsd: not generated (a block that no longer exists?)",
    }
    assert xsd.main(["--check", str(tmp_path)]) == 1


def test_xsd_shape_rules() -> None:
    """xs:all for single-occurrence children, xs:sequence with lists, lax attributes, wo optional."""
    text = (REPO / "schemas" / "no-namespace" / "DDNSConfig.xsd").read_text(encoding="utf-8")
    assert "targetNamespace" not in text
    assert '<xs:anyAttribute processContents="lax" />' in text
    assert "<xs:all>" in text
    assert "Password" not in text  # wo: never in device output (6.1.2)
    config = xsd.load_schema("DDNSConfig", "input").elements["Config"]
    password = next(e for e in config.iterchildren() if e.local_name == "Password")
    assert password.min_occurs == 1  # wo,req: declared as annotated in device input
    region = _xsd_element(BLOCKS["Mosaic"], "MosaicRegionList/Region")
    assert (region.min_occurs, region.max_occurs, region.parent.model) == (0, 4, "sequence")
    assert _xsd_element(BLOCKS["Color"], "Hue").parent.model == "all"
    assert _xsd_element(BLOCKS["Color"], "Hue").min_occurs == 1


# -- factory defaults ----------------------------------------------------------------------------


def _document(resource: Resource, params: dict[str, int]) -> dict[str, Any]:
    """The GET document of a resource: its stored fields, its <ID> from the URL, its parts embedded."""
    path = resource.url(**params)
    if resource.template == "/System/Users/{N}":
        return next(u for u in DEFAULTS[USERS]["User"] if int(u["ID"]) == params["N"] - 1)
    doc = copy.deepcopy(DEFAULTS.get(path, {}))
    block = BLOCKS[resource.block or ""]
    if resource.parts:
        heads = {e.split("/")[0] for e, _ in resource.parts}
        doc = {k: v for k, v in doc.items() if k not in heads}
    if block.root.child("ID") and resource.params and "ID" not in doc:
        doc["ID"] = str(params[resource.params[-1]])
    instances = Instances(N=(1,))
    for element, template in resource.parts:
        part = BY_TEMPLATE[template]
        free = [p for p in part.params if p not in params]
        names = element.split("/")
        target = doc
        for name in names[:-1]:
            target = target.setdefault(name, {})
        if free:
            values = getattr(instances, free[0])
            if free[0] == "NetworkCardID" and part.has("wireless"):
                values = (2,)
            target[names[-1]] = [_document(part, {**params, free[0]: v}) for v in values]
        elif part.url(**params) in set(instances.expand(part)):  # no Transport for the MJPEG stream 4
            target[names[-1]] = _document(part, params)
    return doc


def _get_cases() -> list[tuple[str, Resource, dict[str, int]]]:
    out = []
    for r in RESOURCES:
        if not r.block or r.block in {"DeviceStatus", "DeviceStatusList", "LogList", "EventList"}:
            continue
        for path in Instances(N=(1,)).expand(r):
            m = r.regex.fullmatch(path)
            assert m is not None
            out.append((path, r, {k: int(v) for k, v in m.groupdict().items()}))
    return out


GET_CASES = _get_cases()


def test_every_stored_resource_has_a_default() -> None:
    """Every configuration resource without parts has a factory document at each concrete path."""
    for r in stored_resources():
        if r.parts:
            continue
        for path in Instances().expand(r):
            assert path in DEFAULTS or r.template == "/System/Users/{N}", f"no factory default for {path}"
    assert set(DEFAULTS) <= {p for p, _, _ in GET_CASES} | {USERS}


@pytest.mark.parametrize(("path", "resource", "params"), GET_CASES, ids=[c[0] for c in GET_CASES])
def test_factory_default_validates(path: str, resource: Resource, params: dict[str, int]) -> None:
    """A factory-new camera answers every GET with XML valid against the block's XSD."""
    block = BLOCKS[resource.block or ""]
    doc = _document(resource, params)
    assert _errors(block, doc) == []  # as a device sends it: no wo fields
    # as the camera stores it (write-only fields included): a valid request body, not a valid answer
    assert _errors(block, doc, "input", include_wo=True, namespace=ZWCLOUD) == []
    if to_xml(block, doc, include_wo=True) != to_xml(block, doc):
        assert _errors(block, doc, include_wo=True, namespace=ZWCLOUD) != []
    problems = [f"{p}: {f.check(_leaf(doc, p))}" for p, f in block.leaves() if _leaf(doc, p) is not None]
    assert [p for p in problems if not p.endswith(": None")] == []


def _leaf(doc: Any, path: str) -> str | None:
    for name in path.split("/"):
        if isinstance(doc, list):
            doc = doc[0] if doc else None
        if not isinstance(doc, dict):
            return None
        doc = doc.get(name)
    return doc if isinstance(doc, str) else None


def test_identity_is_used() -> None:
    info = DEFAULTS["/System/DeviceInfo"]
    assert (info["SerialNum"], info["DeviceTypeName"], info["SoftWareVersion"]) == (
        "BV2A00012345",
        "BV-IPC2-5MP",
        "2.0.0",
    )
    assert DEFAULTS["/Network/Interfaces/1/IPAddress"]["MacAddress"] == IDENTITY["mac"]
    assert DEFAULTS["/Network/Interfaces/1/IPAddress"]["ipAddress"] == IDENTITY["ip"]
    assert DEFAULTS["/Network/Port"]["HTTP"] == "80"
    admin = DEFAULTS[USERS]["User"][0]
    assert (admin["ID"], admin["UserName"], admin["Password"]) == ("0", "admin", "s3cret")
    main, sub, mjpeg = (DEFAULTS[f"/Streams/1/{i}"] for i in (1, 2, 4))
    assert (main["ResolutionWidth"], main["ResolutionHeigth"], main["FrameRate"], main["Bitrate"]) == (
        "1920",
        "1080",
        "2500",
        "2048",
    )
    assert (sub["ResolutionWidth"], sub["ResolutionHeigth"], sub["Bitrate"]) == ("640", "360", "512")
    assert (mjpeg["ResolutionWidth"], mjpeg["ResolutionHeigth"]) == ("640", "360")


def test_write_only_fields_stay_home() -> None:
    xml = to_xml(BLOCKS["UserList"], {"User": DEFAULTS[USERS]["User"]})
    assert b"s3cret" not in xml and b"Password" not in xml
    assert b"s3cret" in to_xml(BLOCKS["UserList"], {"User": DEFAULTS[USERS]["User"]}, include_wo=True)


# -- codec ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "resource", "params"), GET_CASES, ids=[c[0] for c in GET_CASES])
def test_round_trip(path: str, resource: Resource, params: dict[str, int]) -> None:
    block = BLOCKS[resource.block or ""]
    doc = _document(resource, params)
    element = ET.fromstring(to_xml(block, doc, include_wo=True, namespace=ZWCLOUD))
    assert element.tag == f"{{{ZWCLOUD}}}{block.element}"
    assert element.get("version") == "1.0"
    assert from_element(block, element) == doc


def test_output_follows_model_order_and_declaration() -> None:
    xml = to_xml(BLOCKS["Color"], {"Hue": "1", "Mode": "auto"})
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Color version="1.0">')
    assert xml.index(b"<Mode>") < xml.index(b"<Hue>")
    with pytest.raises(ValueError, match="Bright"):
        to_element(BLOCKS["Color"], {"Bright": "1"})


def test_input_ignores_namespaces_attributes_and_unknown_elements() -> None:
    element = ET.fromstring(
        b'<Config Version="1.0" xmlns="http://www.hikvision.com/ver10/XMLSchema"><Enable>true</Enable>'
        b"<Vendor>x</Vendor><RefreshIntervals> 60 </RefreshIntervals></Config>"
    )
    assert from_element(BLOCKS["DDNSConfig"], element) == {"Enable": "true", "RefreshIntervals": "60"}


def test_spec_response_status_sample_validates() -> None:
    """Chapter 7 sample, namespace stripped as the suite does."""
    sample = (
        b'<?xml version="1.0" encoding="UTF-8" ?>\n'
        b'<ResponseStatus Version="1.0" xmlns="http://www.zwcloud.wang/ver10/XMLSchema">\n'
        b"  <requestURL>/Network/Interfaces/2</requestURL>\n  <statusCode>0</statusCode>\n</ResponseStatus>\n"
    )
    element = _strip_namespaces(ET.fromstring(sample))
    assert xsd.load_schema("ResponseStatus").is_valid(element)


# -- Field.check and the XSD agree on boundaries -----------------------------------------------


def _fields(kind: str) -> list[tuple[str, Field]]:
    return [(f"{b.name}/{p}", f) for b in BLOCKS for p, f in b.leaves() if f.kind == kind]


RANGED = [(name, f) for name, f in _fields("int") if f.minimum is not None or f.maximum is not None]


@pytest.mark.parametrize(("name", "field"), RANGED, ids=[n for n, _ in RANGED])
def test_integer_boundaries(name: str, field: Field) -> None:
    if field.minimum is not None:
        assert field.check(str(field.minimum)) is None
        assert field.check(str(field.minimum - 1)) is not None
    if field.maximum is not None:
        assert field.check(str(field.maximum)) is None
        assert field.check(str(field.maximum + 1)) is not None
    assert field.check("ten") is not None


@pytest.mark.parametrize(
    ("path", "good", "bad"),
    [
        ("Color/Brightness", ["0", "100"], ["-1", "101"]),
        ("OSD/DisplayTime/PosX", ["0", "703"], ["-1", "704"]),
        ("OSD/DisplayName/PosY", ["0", "575"], ["-1", "576"]),
        ("Mosaic/MosaicRegionList/Region/BottomRightX", ["0", "703"], ["704"]),
        ("Record/PreRecord", ["1", "120"], ["0", "121"]),
        ("Record/DelayRecord", ["1", "120"], ["0", "121"]),
        ("WhiteBalance/GainRed", ["0", "100"], ["101"]),
        ("IrCutFilter/Sensitivity", ["0", "100"], ["101"]),
        ("IrCutFilter/SwitchTime", ["3", "15"], ["2", "16"]),
        ("ConnectionConfig/WEP/KeyID", ["1", "4"], ["0", "5"]),
        ("WiFiAccessPointList/AccessPoint/SignalValue", ["0", "100"], ["-1", "101"]),
        ("WiFiAccessPointList/AccessPoint/WirelessMode", ["1", "9"], ["0", "10"]),
        ("StreamConfig/FixedQuality", ["0", "5"], ["-1", "6"]),
        ("DiskList/Disk/PictureCapacityPercent", ["0", "100"], ["101"]),
        ("DiskList/Disk/RecordCapacityPercent", ["0", "100"], ["-1"]),
        ("DDNSConfig/ServerPort", ["0"], ["1"]),
        ("AutoMaintenance/WeekDayMask", ["0000000", "1111111"], ["000000", "00000000", "0000002"]),
        ("Schedule/TimeBlock/Block_0", ["0" * 48, "1" * 48], ["1" * 47, "1" * 49, "2" * 48]),
        ("Email/Schedule/TimeBlockList/TimeBlock_6", ["01" * 24], ["0" * 47]),
        ("MotionRegionListV2/RegionX_11", ["0" * 14, "1" * 14], ["0" * 13, "0" * 15, "x" * 14]),
        ("FTP/TransferContentTypeMask", ["00", "01", "10", "11"], ["0", "02", "111"]),
        ("ConnectionConfig/WPA/Key/KeyValue", ["a" * 8, "a" * 63, ""], ["a" * 7, "a" * 64, "é" * 8]),
        ("DST/WeekModeStart", ["3-1-1-2-3-6", "10-5-0-23-59-59"], ["13-1-1-2-3-6", "3-1-1-2-3", "3/1/1/2/3/6"]),
        ("DST/WeekModeStop", ["2-4-5-7-8-8"], ["2-6-5-7-8-8"]),
        ("Time/SystemTime", ["20040503T173008+08", "2015-07-28T00:00:00Z", "2015-07-28T00:00:00"], ["2004-05-03"]),
        ("AutoMaintenance/MaintenanceTime", ["20040503T173008"], ["17:30:08"]),
        ("IrCutFilter/DayStartTime", ["17:30:08", "00:00"], ["24:00:00", "5pm"]),
        (
            "NTP/TimeZone",
            [
                "CST-9:00:00",
                "UTC0",
                "EST+5EDT01:00:00,M3.2.0/02:00:00,M11.1.0/02:00:00",
                "CET-1CEST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00",
            ],
            ["Europe/Berlin", "CST"],
        ),
        ("IPAddress/ipAddress", ["192.168.1.64", "0.0.0.0"], ["256.1.1.1", "192.168.1", ""]),
        ("IPAddress/MacAddress", ["00:1A:2B:3C:4D:5E", "00-1a-2b-3c-4d-5e"], ["001A2B3C4D5E"]),
        ("Basic/NoiseReduce", ["close", "weak", "normal", "strong"], ["medium", ""]),
        ("Exposure/shutter", ["auto", "1/10000"], ["1/2"]),
        ("FTP/Status", ["not connect", "connected"], ["not"]),
        ("User/UserLevel", ["Adminstrator", "Administrator", "Normal", ""], ["admin"]),
        ("User/ID", ["0", "12", ""], ["-1", "a"]),
        ("AMS/ServerURL", ["MTkyLjE2OC4zMS4x", ""], ["192.168.31.1"]),
        ("EventCfgList/http/Message", ["bW90aW9uL3Rlc3QuYXNw"], ["motion/test.asp"]),
        ("ConnectionConfig/Enable", ["0", "1"], ["connected", "2"]),
        ("TwoWayAudio/VoiceMode", ["G726", "G711U", "G711A"], ["G722"]),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_field_check_and_xsd_agree(path: str, good: list[str], bad: list[str]) -> None:
    """Field.check accepts each boundary and rejects just outside; the XSD gives the same verdicts."""
    block_name, _, rest = path.partition("/")
    block = BLOCKS[block_name]
    field = dict(block.leaves())[rest]
    for value in good:
        assert field.check(value) is None, f"{path}: {value!r} rejected: {field.check(value)}"
    for value in bad:
        assert field.check(value) is not None, f"{path}: {value!r} accepted"
    simple = _xsd_leaf(block, rest)
    for value in good:
        assert simple.is_valid(value), f"{path}: the XSD rejects {value!r}"
    for value in bad:
        assert not simple.is_valid(value), f"{path}: the XSD accepts {value!r}"


def _xsd_element(block: Block, path: str) -> Any:
    """A local element of the compiled schema, by its slash path under the root."""
    element = xsd.load_schema(block.name).elements[block.element]
    for name in path.split("/"):
        element = next(e for e in element.iterchildren() if e.local_name == name)
    return element


def _xsd_leaf(block: Block, path: str) -> Any:
    """The XSD simple type of a leaf."""
    return _xsd_element(block, path).type
