"""Configuration resources of the reference camera, driven by the spec tables.

Rule 1: GET of a resource = its stored document (keyed by concrete path) with its parts'
        documents embedded under their elements; computed fields (clock, RTSPURI, status)
        are filled in by the `Computed` hooks of the camera, never stored.
Rule 2: PUT decodes the inbound XML against the block model (`decode`), splits it over the
        parts, validates every part and every cross-field rule, and only then commits all
        of them in one atomic store write. Any error means nothing changed.
Rule 3 (spec 6.1.1): a field not provided keeps its value; ro fields in a PUT are ignored;
        a wo field sent empty keeps the stored secret; unknown elements are ignored ("opt").
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.model import Block, Field
from pytest_bview.spec.permissions import KEPT_SECRETS
from pytest_bview.spec.resources import BY_TEMPLATE, Resource
from pytest_bview.spec.status import Status

Doc = dict[str, Any]
MAX_XML_BYTES = 256 * 1024  # no configuration block comes near this; larger bodies are refused
MAX_CONFIG_BYTES = 4 * 1024 * 1024  # a configuration file (9.2.3), before and after inflating


class ApiError(Exception):
    """An application error answered with a ResponseStatus (chapter 7)."""

    def __init__(self, code: Status, detail: str = "") -> None:
        super().__init__(detail or code.description)
        self.code = code
        self.detail = detail or code.description


def local(tag: str) -> str:
    """Element name without its namespace (ERRATA: namespaces are not significant)."""
    return tag.rsplit("}", 1)[-1]


def parse_xml(body: bytes) -> Element:
    """Parse untrusted XML safely (no entities, no DTD); malformed -> -1."""
    if len(body) > MAX_XML_BYTES:
        raise ApiError(Status.MEMORY_OVERFLOW, f"XML body of {len(body)} bytes is larger than {MAX_XML_BYTES}")
    if not body.strip():
        raise ApiError(Status.XML_URL_MISMATCH, "empty body where an XML block is required")
    try:
        return SafeET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ApiError(Status.XML_URL_MISMATCH, f"forbidden XML construct: {type(exc).__name__}") from None
    except SafeET.ParseError as exc:
        raise ApiError(Status.XML_URL_MISMATCH, f"malformed XML: {exc}") from None


@dataclass
class Decoded:
    """An inbound document: only the fields the client sent, typed checks done."""

    doc: Doc
    errors: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def decode(block: Block, element: Element, *, new_items: bool = True) -> Decoded:
    """Inbound XML -> document of the fields provided, with parameter errors and missing tags."""
    if local(element.tag) != block.element:
        raise ApiError(
            Status.XML_URL_MISMATCH, f"root element <{local(element.tag)}> where <{block.element}> is expected"
        )
    out = Decoded({})
    out.doc = _decode_struct(block.root, element, block.element, out, new_items=False)
    return out


def _decode_struct(spec: Field, element: Element, path: str, out: Decoded, *, new_items: bool) -> Doc:
    doc: Doc = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue  # comments, processing instructions
        name = local(child.tag)
        f = spec.child(name)
        if f is None or f.access == "ro":
            continue  # 6.1.2: unsupported or read-only fields are ignored
        where = f"{path}/{name}"
        if f.kind == "struct":
            value: Any = _decode_struct(f, child, where, out, new_items=f.repeated or new_items)
        else:
            value = (child.text or "").strip()
            # an empty wo field means "keep the stored secret"; other empties are values to check
            if not ((f.access == "wo" or f.name in KEPT_SECRETS) and value == ""):
                problem = f.check(value)
                if problem:
                    out.errors.append(f"<{where}>: {problem} (allowed: {f.describe()})")
        if f.repeated:
            doc.setdefault(name, []).append(value)
        elif name in doc:
            out.errors.append(f"<{where}> given twice")
        else:
            doc[name] = value
    # a list container that is present holds the whole list: no items means an empty list
    for f in spec.children:
        if f.repeated and f.access != "ro" and f.name not in doc:
            doc[f.name] = []
    if new_items:
        for f in spec.children:
            if f.presence == "req" and f.access != "ro" and f.name not in doc and not f.repeated:
                out.missing.append(f"{path}/{f.name}")
    return doc


def merge(stored: Doc, update: Doc, spec: Field, kept: frozenset[str] = KEPT_SECRETS) -> Doc:
    """6.1.1 partial update: provided fields replace, absent ones stay; lists are replaced whole. A `kept` secret
    sent empty stays, as a write-only field does (ERRATA S3)."""
    result = copy.deepcopy(stored)
    for name, value in update.items():
        f = spec.child(name)
        if f is None:
            continue
        if f.repeated:
            result[name] = _keep_listed_secrets(copy.deepcopy(value), result.get(name), f) if kept else value
        elif f.kind == "struct":
            result[name] = merge(result.get(name) or {}, value, f, kept)
        elif (f.access == "wo" or f.name in kept) and value == "":
            # "the password will be only changed if the field contains data"; a kept secret likewise, unless its
            # alternative (KeyValue / KeyValueB64) carries the new key
            if f.name in kept and any(update.get(n) for n in kept):
                result[name] = ""
            continue
        else:
            result[name] = value
    return result


def _keep_listed_secrets(items: Any, stored: Any, spec: Field) -> Any:
    """A list replaced whole keeps the kept secrets (KEPT_SECRETS) of its items sent empty, item by <ID>."""
    if spec.kind != "struct" or not isinstance(items, list) or not isinstance(stored, list):
        return items
    by_id = {s.get("ID"): s for s in stored if isinstance(s, dict) and s.get("ID") is not None}
    return [merge(by_id[i["ID"]], i, spec) if isinstance(i, dict) and i.get("ID") in by_id else i for i in items]


def strip_wo(doc: Doc, spec: Field, keep_secrets: bool = False) -> Doc:
    """Output form: write-only fields never leave the device (6.1.2 "wo"); the secrets the spec leaves readable
    (spec.permissions.KEPT_SECRETS, ERRATA S3) leave it empty, unless `keep_secrets`."""
    out: Doc = {}
    for name, value in doc.items():
        f = spec.child(name)
        if f is None or f.access == "wo":
            continue
        if f.kind == "struct":
            out[name] = (
                [strip_wo(v, f, keep_secrets) for v in value] if f.repeated else strip_wo(value, f, keep_secrets)
            )
        elif f.name in KEPT_SECRETS and not keep_secrets and f.kind != "struct":
            out[name] = ""
        else:
            out[name] = value
    return out


# -- cross-field rules ----------------------------------------------------------------------

Rule = Callable[[Doc, Doc], str | None]  # (new full document, old document) -> problem or None
RULES: dict[str, list[tuple[str, Rule]]] = {}


def rule(block: str, section: str) -> Callable[[Rule], Rule]:
    """Register a cross-field rule of a block; `section` is where the spec states it."""

    def deco(fn: Rule) -> Rule:
        RULES.setdefault(block, []).append((section, fn))
        return fn

    return deco


def check_rules(block: Block, new: Doc, old: Doc, skip: Callable[[str], bool] = lambda name: False) -> list[str]:
    problems = []
    for section, fn in RULES.get(block.name, []):
        if skip(fn.__name__):
            continue
        problem = fn(new, old)
        if problem:
            problems.append(f"{problem} (spec {section})")
    return problems


# -- collections ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    element_path: tuple[str, ...]  # ("StreamConfigList", "StreamConfig")
    resource: Resource
    free_param: str | None  # the template parameter the part repeats over, if any


def parts_of(resource: Resource) -> list[Part]:
    out = []
    for element, template in resource.parts:
        child = BY_TEMPLATE[template]
        free = [p for p in child.params if p not in resource.params]
        out.append(Part(tuple(element.split("/")), child, free[0] if free else None))
    return out


def own_fields(resource: Resource) -> set[str]:
    """Elements a resource stores itself: those of its block that are not parts."""
    block = BLOCKS[resource.block] if resource.block else None
    if block is None:
        return set()
    part_heads = {p.element_path[0] for p in parts_of(resource)}
    return {f.name for f in block.root.children if f.name not in part_heads}


def concrete(resource: Resource, params: Mapping[str, Any]) -> str:
    return resource.url(**{k: int(v) if str(v).isdigit() else v for k, v in params.items()})


def nested_get(doc: Doc, path: Iterable[str]) -> Any:
    for name in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(name)  # type: ignore[assignment]
    return doc


def nested_set(doc: Doc, path: tuple[str, ...], value: Any) -> None:
    for name in path[:-1]:
        doc = doc.setdefault(name, {})
    doc[path[-1]] = value


ID_RE = re.compile(r"[0-9]+")
