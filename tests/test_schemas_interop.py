"""The shipped XSDs work with standard tools on the camera's raw answers (xmllint, lxml), and reject a leak.

A user validates a GET answer with `xmllint --schema schemas/<Block>.xsd` exactly as the device sent it
(namespace included, ERRATA.md L1); schemas/index.json says which file fits which resource.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from pytest_bview.simulator.camera import CameraOptions, CameraThread
from pytest_bview.spec import xsd
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.model import NAMESPACE
from pytest_bview.spec.resources import RESOURCES, Instances

lxml_etree = pytest.importorskip("lxml.etree", reason="lxml is in the test extra: pip install -e '.[test]'")

SCHEMAS = xsd.schemas_dir()
INDEX = json.loads((SCHEMAS / xsd.INDEX_JSON).read_text(encoding="utf-8"))
XMLLINT = shutil.which("xmllint")
needs_xmllint = pytest.mark.skipif(
    XMLLINT is None, reason="xmllint is not installed (Debian: apt-get install -y libxml2-utils)"
)
SUBSCRIBE = (
    f'<SubscribedEventTypeList xmlns="{NAMESPACE}"><SubscribedEventType><ID>1</ID><EventType>VMD</EventType>'
    "<EventTypeDescription>motion</EventTypeDescription></SubscribedEventType></SubscribedEventTypeList>"
)


def _readable() -> list[tuple[str, str]]:
    """(concrete URL, answer block) of every GET that answers an XML block, as index.json lists them."""
    out = []
    for resource in RESOURCES:
        answer = INDEX["resources"][resource.template].get("GET", {}).get("answer")
        if answer:
            out.extend((url, answer["block"]) for url in Instances().expand(resource))
    return out


READABLE = _readable()


@pytest.fixture(scope="module")
def answers() -> Iterator[dict[str, bytes]]:
    """The raw bytes of every readable resource's GET answer from the built-in camera."""
    with CameraThread(CameraOptions(time_scale=0.01, ssdp_port=0, discovery=False, media=False)) as cam:
        base, auth = f"http://127.0.0.1:{cam.ports['http']}", ("admin", "admin")
        with requests.Session() as http:
            # EventList answers -12 until a type is subscribed (ERRATA.md L21)
            put = http.put(f"{base}/EventsNotification/SubscribedEventTypeList", data=SUBSCRIBE, auth=auth, timeout=10)
            assert put.status_code == 200, put.text
            got = {}
            for url, _ in READABLE:
                resp = http.get(base + url, auth=auth, timeout=10)
                assert resp.status_code == 200, f"GET {url}: HTTP {resp.status_code} {resp.text[:300]}"
                got[url] = resp.content
            yield got


def _xmllint(schema: Path, body: bytes) -> subprocess.CompletedProcess[bytes]:
    assert XMLLINT is not None
    return subprocess.run([XMLLINT, "--noout", "--schema", str(schema), "-"], input=body, capture_output=True)


def test_every_readable_resource_is_listed() -> None:
    """index.json names an answer schema for every GET of chapter 9 that answers a block."""
    assert len(READABLE) >= 60
    for resource in RESOURCES:
        op = resource.op("GET")
        if op is not None and op.outbound in BLOCKS.blocks:
            answer = INDEX["resources"][resource.template]["GET"]["answer"]
            assert (SCHEMAS / answer["schema"]).is_file() and (SCHEMAS / answer["no_namespace"]).is_file()


@needs_xmllint
def test_xmllint_validates_every_raw_answer(answers: dict[str, bytes]) -> None:
    """`xmllint --schema schemas/<Block>.xsd` accepts the raw GET answer of every readable resource."""
    failed = {}
    for url, block in READABLE:
        assert f'xmlns="{NAMESPACE}"'.encode() in answers[url], f"GET {url}: the camera sends the namespace"
        result = _xmllint(SCHEMAS / xsd.schema_file(block), answers[url])
        if result.returncode != 0:
            failed[url] = result.stderr.decode(errors="replace")[-500:]
    assert not failed, failed


@needs_xmllint
def test_xmllint_no_namespace_path(answers: dict[str, bytes]) -> None:
    """An answer without xmlns validates against schemas/no-namespace/, not against the namespaced set."""
    for url, block in READABLE[:8]:
        bare = answers[url].replace(f' xmlns="{NAMESPACE}"'.encode(), b"")
        assert _xmllint(SCHEMAS / xsd.schema_file(block, namespace=False), bare).returncode == 0, url
        assert _xmllint(SCHEMAS / xsd.schema_file(block), bare).returncode != 0, url


def test_lxml_validates_every_raw_answer(answers: dict[str, bytes]) -> None:
    """lxml (libxml2 in-process) accepts every raw answer against its namespaced output schema."""
    failed = {}
    for url, block in READABLE:
        schema = lxml_etree.XMLSchema(lxml_etree.parse(str(SCHEMAS / xsd.schema_file(block))))
        if not schema.validate(lxml_etree.fromstring(answers[url])):
            failed[url] = str(schema.error_log)[-500:]
    assert not failed, failed


@pytest.mark.parametrize("url", ["/System/Users/1", "/Network/DDNS/Config"])
def test_output_schema_rejects_a_leaked_password(answers: dict[str, bytes], url: str) -> None:
    """6.1.2: a write-only <Password> in device output fails the output schema; the input schema declares it."""
    block = dict(READABLE)[url]
    body = answers[url]
    root = lxml_etree.fromstring(body)
    leaked = lxml_etree.fromstring(body)
    leaked.append(lxml_etree.Element(f"{{{NAMESPACE}}}Password"))
    leaked[-1].text = "s3cret"
    output = lxml_etree.XMLSchema(lxml_etree.parse(str(SCHEMAS / xsd.schema_file(block))))
    assert output.validate(root), output.error_log
    assert not output.validate(leaked), f"GET {url} with <Password> validates against {xsd.schema_file(block)}"
    assert re.search(r"Password", str(output.error_log)), output.error_log
    field = BLOCKS[block].root.child("Password")
    assert field is not None and field.access == "wo"
    if XMLLINT is not None:
        result = _xmllint(SCHEMAS / xsd.schema_file(block), lxml_etree.tostring(leaked))
        assert result.returncode != 0 and b"Password" in result.stderr, result.stderr
    # the same document is a valid request body (the input schema declares the write-only field)
    request = lxml_etree.XMLSchema(lxml_etree.parse(str(SCHEMAS / xsd.schema_file(block, "input"))))
    assert request.validate(leaked), request.error_log


def test_input_schema_does_not_require_read_only_fields() -> None:
    """A PUT body may leave out read-only fields (the device ignores them); the output schema requires them."""
    block = BLOCKS["DeviceInfo"]
    required_ro = [p for p, f in block.fields() if f.access == "ro" and f.presence == "req" and "/" not in p]
    assert required_ro, "DeviceInfo has required read-only fields"
    name = required_ro[0]
    assert _child(xsd.load_schema("DeviceInfo"), "DeviceInfo", name).min_occurs == 1
    assert _child(xsd.load_schema("DeviceInfo", "input"), "DeviceInfo", name).min_occurs == 0


def _child(schema: object, root: str, name: str) -> object:
    return next(e for e in schema.elements[root].iterchildren() if e.local_name == name)  # type: ignore[attr-defined]


def test_index_resolves_shared_root_names() -> None:
    """`Config` and `Status` are each the root of two blocks: the index tells them apart by resource."""
    assert INDEX["shared_roots"] == {"Config": ["DDNSConfig", "UPNPConfig"], "Status": ["DDNSStatus", "UPNPStatus"]}
    assert INDEX["resources"]["/Network/DDNS/Config"]["GET"]["answer"]["schema"] == "DDNSConfig.xsd"
    assert INDEX["resources"]["/Network/UPNP/Config"]["PUT"]["request"]["schema"] == "input/UPNPConfig.xsd"
    markdown = (SCHEMAS / xsd.INDEX_MD).read_text(encoding="utf-8")
    assert "| `/Network/UPNP/Status` | 9.1.2.2 | GET | `UPNPStatus.xsd` |" in markdown


def test_namespaced_schemas_declare_the_target_namespace() -> None:
    for path in SCHEMAS.glob("*.xsd"):
        if path.name in xsd.HANDWRITTEN:
            continue
        text = path.read_text(encoding="utf-8")
        assert f'targetNamespace="{NAMESPACE}"' in text and 'elementFormDefault="qualified"' in text, path.name
    for path in (SCHEMAS / xsd.NO_NAMESPACE_DIR).rglob("*.xsd"):
        assert "targetNamespace" not in path.read_text(encoding="utf-8"), path


def test_repository_points_nowhere_outside_itself() -> None:
    """Every file a schema or the errata names exists in the repository."""
    root = SCHEMAS.parent
    texts = [p for p in SCHEMAS.glob("*.xsd") if p.name in xsd.HANDWRITTEN] + [SCHEMAS / "ERRATA.md"]
    for path in texts:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\.\./\w", text), f"{path.name} points outside the repository"
        for name in re.findall(r"(?<![\w./])(?:schemas/)?([\w-]+\.(?:md|xsd))\b", text):
            assert (SCHEMAS / name).exists() or (root / name).exists(), f"{path.name} names {name}, which is missing"
