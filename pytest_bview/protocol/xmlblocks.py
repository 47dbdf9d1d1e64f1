"""XML blocks <-> documents, driven by the block model (`spec/blocks.py`).

A document is the nested-dict form of a block: a struct is a dict element -> value, a repeated
field is a list under its element name, a leaf is its XML text (a str).

Rule 1: output follows the model's element order, whatever the dict order, so it satisfies the
        xs:sequence groups of the XSDs; only the elements present in the document are written.
Rule 2: write-only fields (passwords) are left out unless `include_wo=True` (a client's PUT).
Rule 3: input ignores namespaces (ERRATA.md: the spec uses several), attributes (`Version="1.0"`)
        and elements the block does not declare (6.1.2 "opt": unsupported fields are ignored);
        a list item the element does not contain reads as an empty list.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from pytest_bview.spec.model import Block, Field

Doc = dict[str, Any]
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
VERSION = "1.0"  # "The version number shall be set to 1.0 in this specification" (6.1.1)


def local(tag: str) -> str:
    """Element name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, spec: Field, value: Any, *, include_wo: bool, ns: str, path: str) -> None:
    if spec.kind != "struct":
        element.text = _text(value)
        return
    if not spec.children:
        _fill_free(element, value, ns)
        return
    if not isinstance(value, Mapping):
        raise TypeError(f"<{path}> is a struct; the document holds {type(value).__name__} {value!r}")
    unknown = [name for name in value if spec.child(name) is None]
    if unknown:
        raise ValueError(f"<{path}> has no element(s) {', '.join(unknown)} in the block model")
    for child in spec.children:
        if child.name not in value or (child.access == "wo" and not include_wo):
            continue
        items = value[child.name] if child.repeated else [value[child.name]]
        if child.repeated and not isinstance(items, list):
            raise TypeError(f"<{path}/{child.name}> is a list item; the document holds {items!r}")
        for item in items:
            sub = ET.SubElement(element, ns + child.name)
            _fill(sub, child, item, include_wo=include_wo, ns=ns, path=f"{path}/{child.name}")


def _fill_free(element: ET.Element, value: Any, ns: str) -> None:
    """Content of an element the spec never defines: written as the document gives it."""
    if isinstance(value, Mapping):
        for name, sub in value.items():
            for item in sub if isinstance(sub, list) else [sub]:
                _fill_free(ET.SubElement(element, ns + name), item, ns)
    else:
        element.text = _text(value)


def to_element(
    block: Block,
    doc: Mapping[str, Any],
    *,
    include_wo: bool = False,
    namespace: str | None = None,
    version: str | None = VERSION,
) -> ET.Element:
    """The block's XML element for `doc` (root attribute version="1.0" unless `version` is None)."""
    # the namespace is written as a plain xmlns attribute: ElementTree's default_namespace
    # refuses unqualified attributes such as version="1.0"
    root = ET.Element(block.element)
    if version is not None:
        root.set("version", version)
    if namespace:
        root.set("xmlns", namespace)
    _fill(root, block.root, doc, include_wo=include_wo, ns="", path=block.element)
    return root


def to_xml(
    block: Block,
    doc: Mapping[str, Any],
    *,
    include_wo: bool = False,
    namespace: str | None = None,
    version: str | None = VERSION,
) -> bytes:
    """`to_element` serialised: XML declaration, UTF-8, the namespace as the default one."""
    element = to_element(block, doc, include_wo=include_wo, namespace=namespace, version=version)
    body = ET.tostring(element, encoding="unicode")
    return XML_DECLARATION + body.encode("utf-8")


def _read(element: ET.Element, spec: Field) -> Any:
    if spec.kind != "struct":
        return (element.text or "").strip()
    if not spec.children:
        return _read_free(element)
    doc: Doc = {}
    for sub in element:
        if not isinstance(sub.tag, str):
            continue  # comments, processing instructions
        name = local(sub.tag)
        child = spec.child(name)
        if child is None:
            continue
        value = _read(sub, child)
        if child.repeated:
            doc.setdefault(name, []).append(value)
        else:
            doc.setdefault(name, value)  # a duplicate is the validator's finding, not ours
    for child in spec.children:
        if child.repeated:
            doc.setdefault(child.name, [])  # a list is a list, even when the device sent no item
    return doc


def _read_free(element: ET.Element) -> Any:
    children = [c for c in element if isinstance(c.tag, str)]
    if not children:
        return (element.text or "").strip()
    doc: Doc = {}
    for sub in children:
        name = local(sub.tag)
        value = _read_free(sub)
        if name in doc:
            doc[name] = (doc[name] if isinstance(doc[name], list) else [doc[name]]) + [value]
        else:
            doc[name] = value
    return doc


def from_element(block: Block, element: ET.Element) -> Doc:
    """The document of an XML block (any namespace); undeclared elements are left out."""
    doc = _read(element, block.root)
    assert isinstance(doc, dict)
    return doc
