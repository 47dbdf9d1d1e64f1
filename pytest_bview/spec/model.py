"""The vocabulary in which the B-View 2 XML blocks are declared.

Rule 1: a block is a tree of `Field`s; the tree is the only description of a block's shape.
        The XSDs in schemas/, the simulator's validation and the suites' generated values
        are all derived from it, so they cannot drift apart.
Rule 2: leaf values travel as the XML text the spec shows ("true", "25", "auto"); typing
        happens only when a value is checked (`Field.check`), never when it is stored.
Rule 3: the spec's annotations map one to one: req/opt/dep -> `presence`, ro/wo/rw ->
        `access`, "0-100" -> minimum/maximum, "a,b,c" -> values.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from typing import Literal

Access = Literal["rw", "ro", "wo"]
Presence = Literal["req", "opt", "dep"]
Kind = Literal["bool", "int", "str", "enum", "datetime", "time", "struct"]

# The namespace the spec's samples (390, 793, 1261) and the reference camera put on every block (ERRATA.md L1)
NAMESPACE = "http://www.zwcloud.wang/ver10/XMLSchema"
# xs:boolean lexical space (XML Schema Part 2, 3.2.2.1)
BOOLEAN_TEXT = ("true", "false", "1", "0")
# xs:integer lexical space, with an explicit sign allowed
INTEGER_RE = re.compile(r"[+-]?[0-9]+")
# ISO 8601 as the spec writes it (" 20040503T173008+08") and in its extended form
DATETIME_RE = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}|\d{8}T\d{6})"
    r"(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)?"
)
TIME_RE = re.compile(r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?")


@dataclass(frozen=True)
class Field:
    """One element of an XML block (a leaf or a struct of further fields)."""

    name: str
    kind: Kind
    presence: Presence = "req"
    access: Access = "rw"
    minimum: int | None = None
    maximum: int | None = None
    values: tuple[str, ...] = ()
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    children: tuple[Field, ...] = ()
    max_occurs: int | None = 1  # None = unbounded (a list item)
    doc: str = ""

    # -- shape -------------------------------------------------------------
    @property
    def repeated(self) -> bool:
        return self.max_occurs != 1

    def child(self, name: str) -> Field | None:
        try:
            return self._children_by_name.get(name)
        except TypeError:  # an unhashable name names no child
            return None

    @functools.cached_property  # child() runs for every element of every document read or written
    def _children_by_name(self) -> dict[str, Field]:
        by_name: dict[str, Field] = {}
        for c in self.children:
            by_name.setdefault(c.name, c)  # the first of a name, as a scan finds it
        return by_name

    def walk(self, prefix: str = "") -> list[tuple[str, Field]]:
        """All descendant fields with their slash paths relative to this one."""
        out: list[tuple[str, Field]] = []
        for c in self.children:
            path = f"{prefix}{c.name}"
            out.append((path, c))
            out.extend(c.walk(path + "/"))
        return out

    # -- values ------------------------------------------------------------
    def check(self, text: str | None) -> str | None:
        """Return why `text` is not a valid value of this leaf, or None when it is."""
        text = (text or "").strip()
        if self.kind == "struct":
            return None
        if self.kind == "bool":
            return None if text in BOOLEAN_TEXT else f"{text!r} is not an xs:boolean"
        if self.kind == "int":
            if not INTEGER_RE.fullmatch(text):
                return f"{text!r} is not an xs:integer"
            n = int(text)
            if self.minimum is not None and n < self.minimum:
                return f"{n} is below the minimum {self.minimum}"
            if self.maximum is not None and n > self.maximum:
                return f"{n} is above the maximum {self.maximum}"
            if self.values and text not in self.values:
                return f"{text!r} is not one of {', '.join(self.values)}"
            return None
        if self.kind == "enum":
            return None if text in self.values else f"{text!r} is not one of {', '.join(self.values)}"
        if self.kind == "datetime":
            return None if DATETIME_RE.fullmatch(text) else f"{text!r} is not an ISO 8601 date-time"
        if self.kind == "time":
            return None if TIME_RE.fullmatch(text) else f"{text!r} is not a time hh:mm:ss"
        # str
        if self.min_length is not None and len(text) < self.min_length:
            return f"{text!r} is shorter than {self.min_length} characters"
        if self.max_length is not None and len(text) > self.max_length:
            return f"{text!r} is longer than {self.max_length} characters"
        if self.pattern is not None and not re.fullmatch(self.pattern, text):
            return f"{text!r} does not match {self.pattern}"
        return None

    def describe(self) -> str:
        """The domain in the words of the spec ("0-100", "auto,manual")."""
        if self.values:
            return ",".join(self.values)
        if self.minimum is not None or self.maximum is not None:
            return f"{self.minimum}-{self.maximum}"
        if self.pattern:
            return f"/{self.pattern}/"
        return {"bool": "xs:boolean", "int": "xs:integer", "datetime": "ISO 8601", "time": "hh:mm:ss"}.get(
            self.kind, "xs:string"
        )


@dataclass(frozen=True)
class Block:
    """A named XML block of the spec: its root element, section and source line."""

    name: str  # the block's name as the spec and schemas/ use it (file schemas/<name>.xsd)
    root: Field
    section: str
    line: int  # line of the block in the spec text
    doc: str = ""

    @property
    def element(self) -> str:
        return self.root.name

    def fields(self) -> list[tuple[str, Field]]:
        return self.root.walk()

    def leaves(self) -> list[tuple[str, Field]]:
        return [(p, f) for p, f in self.fields() if f.kind != "struct"]

    def access_paths(self, access: Access) -> list[str]:
        return [p for p, f in self.fields() if f.access == access]


# -- builders: one per annotation style of the spec ------------------------------------------


def boolean(name: str, presence: Presence = "req", access: Access = "rw", doc: str = "") -> Field:
    return Field(name, "bool", presence, access, doc=doc)


def integer(
    name: str,
    minimum: int | None = None,
    maximum: int | None = None,
    presence: Presence = "req",
    access: Access = "rw",
    values: tuple[str, ...] = (),
    doc: str = "",
) -> Field:
    return Field(name, "int", presence, access, minimum=minimum, maximum=maximum, values=values, doc=doc)


def string(
    name: str,
    presence: Presence = "req",
    access: Access = "rw",
    pattern: str | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    doc: str = "",
) -> Field:
    return Field(name, "str", presence, access, pattern=pattern, min_length=min_length, max_length=max_length, doc=doc)


def enum(name: str, values: str, presence: Presence = "req", access: Access = "rw", doc: str = "") -> Field:
    """`values` as the spec lists them: "auto,manual,notsupport" (commas or spaces)."""
    return Field(name, "enum", presence, access, values=tuple(v for v in re.split(r"[,\s]+", values) if v), doc=doc)


def datetime(name: str, presence: Presence = "req", access: Access = "rw", doc: str = "") -> Field:
    return Field(name, "datetime", presence, access, doc=doc)


def time(name: str, presence: Presence = "req", access: Access = "rw", doc: str = "") -> Field:
    return Field(name, "time", presence, access, doc=doc)


def struct(name: str, *children: Field, presence: Presence = "req", access: Access = "rw", doc: str = "") -> Field:
    return Field(name, "struct", presence, access, children=tuple(children), doc=doc)


def repeated(item: Field, max_occurs: int | None = None) -> Field:
    """A list item: `item` may occur 0..max_occurs times (None = unbounded)."""
    return replace(item, presence="opt", max_occurs=max_occurs)


@dataclass(frozen=True)
class BlockTable:
    """All blocks by name, with lookups by root element."""

    blocks: dict[str, Block] = field(default_factory=dict)

    def add(self, block: Block) -> Block:
        if block.name in self.blocks:
            raise ValueError(f"block {block.name} declared twice")
        self.blocks[block.name] = block
        return block

    def __getitem__(self, name: str) -> Block:
        return self.blocks[name]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.blocks.values())

    def __len__(self) -> int:
        return len(self.blocks)
