"""The XSDs of every block, generated from `blocks.py`; `python -m pytest_bview.spec.xsd [--check] [DIR]`.

Rule 1: the schemas are derived data. schemas/ is committed so that a certifier can read and use
        it without Python, and `--check` (run by the tests and CI) proves it is current.
Rule 2: two directions per block. `<Block>.xsd` is device output (a GET answer): write-only
        fields are absent, so a leaked <Password> fails by itself (6.1.2). `input/<Block>.xsd`
        is device input (a PUT/POST body): read-only fields are not required (a device ignores
        them) and write-only fields are declared as annotated.
Rule 3: two namespace variants. The top-level sets have the target namespace the camera puts on
        every block (ERRATA.md L1), elements qualified, so `xmllint --schema` takes the raw answer;
        `no-namespace/` holds the same schemas for a block sent without a namespace (the kit strips
        the known namespaces and validates against these).
Rule 4: what a schema cannot know it leaves open: any attribute on every element with children
        (devices send `Version="1.0"`), minOccurs 0 for opt/dep fields.
Rule 5: leaves with a closed domain (enumerations, patterns, dates) are based on xs:token, so
        the surrounding whitespace a device may print is collapsed exactly as `Field.check`
        strips it; free text stays xs:string.
Rule 6: a root element name does not pick a schema (`Config`, `Status` are each the root of two
        blocks): index.json and INDEX.md map every resource and method to its schema files.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.model import DATETIME_RE, NAMESPACE, TIME_RE, Block, Field
from pytest_bview.spec.resources import RESOURCES

if TYPE_CHECKING:
    import xmlschema

Direction = Literal["output", "input"]

XS = "http://www.w3.org/2001/XMLSchema"
HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'
SPEC = "B-View 2 REST API (SPT907000SERIES2 v1.8)"
INPUT_DIR = "input"
NO_NAMESPACE_DIR = "no-namespace"
INDEX_JSON = "index.json"
INDEX_MD = "INDEX.md"
# written by hand, not generated: never judged by --check
HANDWRITTEN = ("DiscoveryV2.xsd",)

ET.register_namespace("xs", XS)

# an embedded part keeps its children: they identify the block it comes from
_OWNERS: dict[tuple[Field, ...], Block] = {b.root.children: b for b in BLOCKS if b.root.children}


def _xs(tag: str) -> str:
    return f"{{{XS}}}{tag}"


def _sub(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, _xs(tag), attrs)


def _document(parent: ET.Element, text: str) -> None:
    _sub(_sub(parent, "annotation"), "documentation").text = text


def _section_of(field: Field, outer: str) -> str:
    """The section of the block a struct comes from (DDNS embeds Config of 9.1.1.2), else `outer`."""
    owner = _OWNERS.get(field.children) if field.children else None
    return owner.section if owner is not None else outer


def _describe(field: Field, section: str) -> str:
    words = [f"{field.presence}, {field.access}", f"spec {section}"]
    if field.kind != "struct":
        words.append(field.describe())
    if field.doc:
        words.append(field.doc)
    return "; ".join(words)


def _simple_type(element: ET.Element, field: Field) -> None:
    """The leaf's value space, as close to `Field.check` as XSD 1.0 allows."""
    if field.kind == "bool":
        element.set("type", "xs:boolean")
        return
    if field.kind == "str" and field.pattern is None and field.min_length is None and field.max_length is None:
        element.set("type", "xs:string")
        return
    if field.kind == "int" and field.minimum is None and field.maximum is None and not field.values:
        element.set("type", "xs:integer")
        return
    base = {"int": "xs:integer", "str": "xs:token" if field.pattern else "xs:string"}.get(field.kind, "xs:token")
    restriction = _sub(_sub(element, "simpleType"), "restriction", base=base)
    if field.kind == "datetime":
        _sub(restriction, "pattern", value=DATETIME_RE.pattern)
    elif field.kind == "time":
        _sub(restriction, "pattern", value=TIME_RE.pattern)
    if field.minimum is not None:
        _sub(restriction, "minInclusive", value=str(field.minimum))
    if field.maximum is not None:
        _sub(restriction, "maxInclusive", value=str(field.maximum))
    if field.min_length is not None:
        _sub(restriction, "minLength", value=str(field.min_length))
    if field.max_length is not None:
        _sub(restriction, "maxLength", value=str(field.max_length))
    if field.pattern is not None:
        _sub(restriction, "pattern", value=field.pattern)
    for value in field.values:
        _sub(restriction, "enumeration", value=value)


def _present(field: Field, direction: Direction) -> bool:
    """A write-only field is never in device output (6.1.2), so the output schema does not declare it."""
    return not (direction == "output" and field.access == "wo")


def _complex_type(element: ET.Element, field: Field, section: str, direction: Direction) -> None:
    ctype = _sub(element, "complexType")
    children = [c for c in field.children if _present(c, direction)]
    if not field.children:
        # an element the spec names but never defines: any content, not checked
        ctype.set("mixed", "true")
        _sub(_sub(ctype, "sequence"), "any", processContents="lax", minOccurs="0", maxOccurs="unbounded")
    elif children:
        group = _sub(ctype, "sequence" if any(c.repeated for c in children) else "all")
        for child in children:
            _element(group, child, section, direction)
    _sub(ctype, "anyAttribute", processContents="lax")


def _element(parent: ET.Element, field: Field, section: str, direction: Direction, *, top: bool = False) -> None:
    element = _sub(parent, "element", name=field.name)
    if not top:
        # input: a read-only field is ignored by the device, so a client need not send it
        optional = field.presence != "req" or field.repeated or (direction == "input" and field.access == "ro")
        if optional:
            element.set("minOccurs", "0")
        if field.repeated:
            element.set("maxOccurs", "unbounded" if field.max_occurs is None else str(field.max_occurs))
    section = _section_of(field, section)
    _document(element, _describe(field, section))
    if field.kind == "struct":
        _complex_type(element, field, section, direction)
    else:
        _simple_type(element, field)


def generate(block: Block, direction: Direction = "output", *, namespace: bool = True) -> str:
    """The XSD text of one block, for device output (GET answers) or device input (PUT/POST bodies)."""
    attrs = {"elementFormDefault": "qualified"}
    if namespace:
        attrs["targetNamespace"] = NAMESPACE
    schema = ET.Element(_xs("schema"), attrs)
    role = (
        "Device output (a GET answer): write-only fields are not declared, so one in an answer fails."
        if direction == "output"
        else "Device input (a PUT/POST body): read-only fields are not required."
    )
    where = f"Namespace {NAMESPACE}." if namespace else "No namespace (for a block sent without xmlns)."
    _document(
        schema,
        f"{block.name}: the <{block.element}> block of {SPEC}, section {block.section}, "
        f"sample at line {block.line}. {block.doc}".rstrip()
        + f" {role} {where}"
        + " Generated by `python -m pytest_bview.spec.xsd` from pytest_bview/spec/blocks.py; do not edit."
        " Decisions on the spec's contradictions: ERRATA.md; which schema for which resource: INDEX.md.",
    )
    _element(schema, block.root, block.section, direction, top=True)
    ET.indent(schema, space="  ")
    return HEADER + ET.tostring(schema, encoding="unicode") + "\n"


def schema_file(block: str, direction: Direction = "output", *, namespace: bool = True) -> str:
    """The path of a block's schema relative to schemas/ ("DDNSConfig.xsd", "no-namespace/input/User.xsd")."""
    parts = ([] if namespace else [NO_NAMESPACE_DIR]) + ([INPUT_DIR] if direction == "input" else []) + [block]
    return "/".join(parts) + ".xsd"


def _files(block: str, direction: Direction) -> dict[str, str]:
    return {
        "block": block,
        "root": BLOCKS[block].element,
        "schema": schema_file(block, direction),
        "no_namespace": schema_file(block, direction, namespace=False),
    }


def index() -> dict[str, object]:
    """Every resource and method -> the blocks and schema files of its body and its answer."""
    resources: dict[str, dict[str, dict[str, object]]] = {}
    for resource in RESOURCES:
        ops: dict[str, dict[str, object]] = {}
        for op in resource.ops:
            entry: dict[str, object] = {"section": resource.section}
            if op.inbound in BLOCKS.blocks:
                entry["request"] = _files(op.inbound, "input")
            elif op.inbound:
                entry["request_body"] = op.inbound
            if op.outbound in BLOCKS.blocks:
                entry["answer"] = _files(op.outbound, "output")
            else:
                entry["answer_body"] = op.outbound
            ops[op.method] = entry
        resources[resource.template] = ops
    roots: dict[str, list[str]] = {}
    for block in BLOCKS:
        roots.setdefault(block.element, []).append(block.name)
    return {
        "namespace": NAMESPACE,
        "generated_by": "python -m pytest_bview.spec.xsd",
        "resources": resources,
        "shared_roots": {root: names for root, names in sorted(roots.items()) if len(names) > 1},
    }


def _index_markdown(data: dict[str, object]) -> str:
    lines = [
        "# Which schema validates which answer",
        "",
        "Generated by `python -m pytest_bview.spec.xsd` from pytest_bview/spec/resources.py and blocks.py;",
        "do not edit (the same table as data: `index.json`). Paths are relative to this directory.",
        "",
        f"- `<Block>.xsd`: device output (a GET answer) in the namespace `{NAMESPACE}` (ERRATA.md L1),",
        "  write-only fields not declared.",
        "- `input/<Block>.xsd`: device input (a PUT/POST/DELETE body), read-only fields not required.",
        "- `no-namespace/...`: the same schemas for a block sent without `xmlns`.",
        "- Every refused request, whatever its resource, answers `ResponseStatus.xsd` (chapter 7).",
        "",
        "A root element name alone does not pick a schema; the resource does:",
        "",
    ]
    shared = data["shared_roots"]
    assert isinstance(shared, dict)
    for root, names in shared.items():
        lines.append(f"- `<{root}>` is the root of {', '.join(f'`{n}.xsd`' for n in names)}")
    lines += [
        "",
        "Validate a raw answer:",
        "",
        "```",
        "curl -s -u admin:PASSWORD http://CAMERA/Network/DDNS/Config | xmllint --noout --schema"
        " schemas/DDNSConfig.xsd -",
        "```",
        "",
        "| Resource | Section | Method | Answer schema | Request schema |",
        "|---|---|---|---|---|",
    ]
    resources = data["resources"]
    assert isinstance(resources, dict)
    for template, ops in resources.items():
        for method, entry in ops.items():
            answer = entry.get("answer")
            request = entry.get("request")
            answer_text = f"`{answer['schema']}`" if answer else entry.get("answer_body", "")
            request_text = f"`{request['schema']}`" if request else entry.get("request_body", "")
            lines.append(f"| `{template}` | {entry['section']} | {method} | {answer_text} | {request_text} |")
    return "\n".join(lines) + "\n"


def generate_all() -> dict[str, str]:
    """Path relative to schemas/ -> text, for every generated file (both directions, both namespace variants)."""
    files: dict[str, str] = {}
    for namespace in (True, False):
        for direction in ("output", "input"):
            for block in BLOCKS:
                files[schema_file(block.name, direction, namespace=namespace)] = generate(
                    block, direction, namespace=namespace
                )
    data = index()
    files[INDEX_JSON] = json.dumps(data, indent=1) + "\n"
    files[INDEX_MD] = _index_markdown(data)
    return files


def write_all(directory: Path | str) -> list[Path]:
    """Write every generated file into `directory`; return the files written."""
    directory = Path(directory)
    written = []
    for name, text in generate_all().items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def stale(directory: Path | str) -> list[str]:
    """Why the files in `directory` differ from the generated ones (empty when they are current)."""
    directory = Path(directory)
    expected = generate_all()
    problems = []
    for name, text in expected.items():
        path = directory / name
        if not path.exists():
            problems.append(f"{name}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{name}: differs from the generated schema")
    for path in sorted(directory.rglob("*.xsd")):
        name = path.relative_to(directory).as_posix()
        if name not in expected and name not in HANDWRITTEN:
            problems.append(f"{name}: not generated (a block that no longer exists?)")
    return problems


def schemas_dir() -> Path:
    """The repository's schemas/ when running from a checkout, else the copy shipped in the wheel."""
    checkout = Path(__file__).resolve().parents[2] / "schemas"
    if checkout.is_dir():
        return checkout
    return Path(__file__).resolve().parents[1] / "_schemas"


@functools.cache
def load_schema(name: str, direction: Direction = "output", *, namespace: bool = False) -> xmlschema.XMLSchema:
    """The compiled XSD of block `name` (cached; xmlschema is imported on first use).

    The default is the device-output schema without namespace: the kit strips the known namespaces first.
    """
    import xmlschema

    path = schemas_dir() / schema_file(name, direction, namespace=namespace)
    if not path.exists():
        raise LookupError(f"no schema for block {name!r} at {path}")
    return xmlschema.XMLSchema(str(path))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_bview.spec.xsd", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="Exit 1 when a file differs from the generated one")
    parser.add_argument("directory", nargs="?", type=Path, default=None, help="Target directory (default: schemas/)")
    args = parser.parse_args(argv)
    directory = args.directory or Path(__file__).resolve().parents[2] / "schemas"
    if args.check:
        problems = stale(directory)
        for problem in problems:
            print(f"{directory}/{problem}", file=sys.stderr)
        if problems:
            print("Regenerate with: python -m pytest_bview.spec.xsd", file=sys.stderr)
        return 1 if problems else 0
    written = write_all(directory)
    print(f"wrote {len(written)} files to {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
