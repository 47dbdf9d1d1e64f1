"""One XSD per block, generated from `blocks.py`; `python -m pytest_bview.spec.xsd [--check] [DIR]`.

Rule 1: the schemas are derived data. schemas/*.xsd are committed so that a certifier can read
        and use them without Python, and `--check` (run by the tests) proves they are current.
Rule 2: what a schema cannot know it leaves open: no target namespace (the suite strips the
        spec's namespaces first, ERRATA.md), any attribute on every element with children
        (devices send `Version="1.0"`), minOccurs 0 for write-only fields (never in device
        output; checked elsewhere) and for opt/dep fields.
Rule 3: leaves with a closed domain (enumerations, patterns, dates) are based on xs:token, so
        the surrounding whitespace a device may print is collapsed exactly as `Field.check`
        strips it; free text stays xs:string.
"""

from __future__ import annotations

import argparse
import functools
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.model import DATETIME_RE, TIME_RE, Block, Field

if TYPE_CHECKING:
    import xmlschema

XS = "http://www.w3.org/2001/XMLSchema"
HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'
SPEC = "B-View 2 REST API (SPT907000SERIES2 v1.8)"

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


def _complex_type(element: ET.Element, field: Field, section: str) -> None:
    ctype = _sub(element, "complexType")
    if not field.children:
        # an element the spec names but never defines: any content, not checked
        ctype.set("mixed", "true")
        _sub(_sub(ctype, "sequence"), "any", processContents="lax", minOccurs="0", maxOccurs="unbounded")
    else:
        group = _sub(ctype, "sequence" if any(c.repeated for c in field.children) else "all")
        for child in field.children:
            _element(group, child, section)
    _sub(ctype, "anyAttribute", processContents="lax")


def _element(parent: ET.Element, field: Field, section: str, *, top: bool = False) -> None:
    element = _sub(parent, "element", name=field.name)
    if not top:
        optional = field.presence != "req" or field.access == "wo" or field.repeated
        if optional:
            element.set("minOccurs", "0")
        if field.repeated:
            element.set("maxOccurs", "unbounded" if field.max_occurs is None else str(field.max_occurs))
    section = _section_of(field, section)
    _document(element, _describe(field, section))
    if field.kind == "struct":
        _complex_type(element, field, section)
    else:
        _simple_type(element, field)


def generate(block: Block) -> str:
    """The XSD text of one block."""
    schema = ET.Element(_xs("schema"), {"elementFormDefault": "qualified"})
    _document(
        schema,
        f"{block.name}: the <{block.element}> block of {SPEC}, section {block.section}, "
        f"sample at line {block.line}. {block.doc}".rstrip()
        + " Generated by `python -m pytest_bview.spec.xsd` from pytest_bview/spec/blocks.py; do not edit."
        " Decisions on the spec's contradictions: ERRATA.md.",
    )
    _element(schema, block.root, block.section, top=True)
    ET.indent(schema, space="  ")
    return HEADER + ET.tostring(schema, encoding="unicode") + "\n"


def generate_all() -> dict[str, str]:
    """File name -> XSD text, for every block."""
    return {f"{block.name}.xsd": generate(block) for block in BLOCKS}


def write_all(directory: Path | str) -> list[Path]:
    """Write every block's XSD into `directory`; return the files written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generate_all().items():
        path = directory / name
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def stale(directory: Path | str) -> list[str]:
    """Why the XSDs in `directory` differ from the generated ones (empty when they are current)."""
    directory = Path(directory)
    expected = generate_all()
    problems = []
    for name, text in expected.items():
        path = directory / name
        if not path.exists():
            problems.append(f"{name}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{name}: differs from the generated schema")
    # other *.xsd files (DiscoveryV2.xsd) are written by hand and are not ours to judge
    return problems


def schemas_dir() -> Path:
    """The repository's schemas/ when running from a checkout, else the copy shipped in the wheel."""
    checkout = Path(__file__).resolve().parents[2] / "schemas"
    if checkout.is_dir():
        return checkout
    return Path(__file__).resolve().parents[1] / "_schemas"


@functools.cache
def load_schema(name: str) -> xmlschema.XMLSchema:
    """The compiled XSD of block `name` (cached; xmlschema is imported on first use)."""
    import xmlschema

    path = schemas_dir() / f"{name}.xsd"
    if not path.exists():
        raise LookupError(f"no schema for block {name!r} in {path.parent}")
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
    print(f"wrote {len(written)} schemas to {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
