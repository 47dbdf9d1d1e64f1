"""Checks: small named functions that judge one thing a device did against one rule.

Rule 1: a check takes the evidence (an `Exchange`, or a document read from one) and either
        returns what later checks need or raises `CheckFailure`.
Rule 2: a failure says what the device did, what the spec requires (with its section) and how
        to reproduce it (curl, password redacted) — in that order, always.
Rule 3: XML from a device is untrusted: parsed with defusedxml, no entities, no DTD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, NoReturn
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from pytest_bview.client import Exchange
from pytest_bview.spec.blocks import BLOCKS
from pytest_bview.spec.model import NAMESPACE
from pytest_bview.spec.status import Status

# Namespaces the spec shows on its blocks (chapter 7, 9.1.6, 9.2.3, 4.5.3): all mean "the B-View schema".
KNOWN_NAMESPACES = ("", NAMESPACE, "http://www.hikvision.com/ver10/XMLSchema")


@dataclass
class Finding:
    """A failure as data (what, where, which rule), rendered into the assertion message."""

    did: str
    requires: str
    section: str
    exchanges: list[Exchange] = field(default_factory=list)
    rule: str | None = None  # the id of spec/rules.py it breaks; its level decides failure or advisory

    def render(self) -> str:
        lines = [f"device: {self.did}", f"spec {self.section}: {self.requires}"]
        if self.rule:
            from pytest_bview.spec.rules import rule

            r = rule(self.rule)
            lines[-1] += f" [{r.id}, {r.level}]"
        for ex in self.exchanges[-3:]:
            lines.append("exchange: " + ex.summary().replace("\n", "\n    "))
        for ex in self.exchanges[-1:]:
            lines.append(f"Reproduce with: {ex.curl()}")
        return "\n".join(lines)


class CheckFailure(AssertionError):
    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.render())
        self.finding = finding


def fail(did: str, requires: str, section: str, *exchanges: Exchange | None, rule: str | None = None) -> NoReturn:
    raise CheckFailure(Finding(did, requires, section, [e for e in exchanges if e is not None], rule))


def expect(
    condition: Any, did: str, requires: str, section: str, *exchanges: Exchange | None, rule: str | None = None
) -> None:
    if not condition:
        fail(did, requires, section, *exchanges, rule=rule)


def expect_passwords_hidden(url: str, leaked: list[str], ex: Exchange) -> None:
    """No write-only field in a GET answer: a password the spec says plainly is not displayed (DDNS, EMail,
    FTP) is a MUST (rule password-not-retrieved), any other write-only field 6.1.2's "should" (an advisory).
    `leaked` holds element paths below the answer's root."""
    from pytest_bview.spec.permissions import UNDISPLAYED_PASSWORDS
    from pytest_bview.spec.resources import match

    if not leaked:
        return
    found = match(url)
    template = found[0].template if found else url
    # a collection (/Network, /Network/DDNS) carries its parts: compare where each element lives
    undisplayed = {f"{part}/{name}" for part, names in UNDISPLAYED_PASSWORDS.items() for name in names}
    plain = [path for path in leaked if f"{template}/{path}" in undisplayed]
    if plain:
        fail(
            f"returned the password(s) {', '.join(plain)}",
            "when retrieving data, the password field is not displayed",
            "9.1.1.2, 9.1.3, 9.1.6",
            ex,
            rule="password-not-retrieved",
        )
    fail(
        f"returned the write-only field(s) {', '.join(leaked)}",
        "write-only fields should never be present in data returned from the device",
        "6.1.2",
        ex,
        rule="wo-never-returned",
    )


# -- XML ---------------------------------------------------------------------------------------


def parse_xml(ex: Exchange, section: str) -> Element:
    """The body as an XML element, namespaces checked and removed; not XML -> failure."""
    problem = body_problem(ex, parse=False)
    if problem is None:
        try:
            root = SafeET.fromstring(ex.body, forbid_dtd=True)
        except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
            problem = _parse_problem(exc)
    if problem is not None:  # failed outside the except: no chained parser traceback in the report
        fail(f"answered {problem[0]}", problem[1], section, ex)
    foreign = strip_namespaces(root)
    if foreign:
        fail(
            f"used the XML namespace(s) {', '.join(sorted(foreign))}",
            "the B-View namespace or none (ERRATA.md: namespaces)",
            section,
            ex,
            rule="xml-namespace",
        )
    return root


def body_problem(ex: Exchange, *, parse: bool = True) -> tuple[str, str] | None:
    """(what is wrong with the body, what the spec requires) when it cannot be read as XML at all:
    cut at the size cap, not UTF-8, and with `parse` a DTD or not well-formed; None otherwise."""
    if ex.truncated:  # a hostile or broken device: never parse what was cut
        return (
            f"a body larger than the client's size cap (cut after {len(ex.body)} bytes; "
            f"Content-Length: {ex.headers.get('Content-Length', 'none')}), not parsed",
            "an XML block of reasonable size (4.5.3)",
        )
    try:
        ex.body.decode("utf-8")
    except UnicodeDecodeError as err:
        bad = ex.body[err.start : err.start + 4]
        return (
            f"a body that is not valid UTF-8 ({err.reason}: {bad!r} at byte {err.start})",
            "an XML block in UTF-8 (4.2, RFC 3629)",
        )
    if parse and ex.body.strip():
        try:
            SafeET.fromstring(ex.body, forbid_dtd=True)
        except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
            return _parse_problem(exc)
    return None


def _parse_problem(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, DefusedXmlException):
        return (
            f"XML with a document type declaration or entities ({exc!r}), which the kit refuses to expand "
            "(entity-expansion bombs, external entities)",
            "an XML block without DTD (4.2)",
        )
    return f"a body that is not well-formed XML ({exc})", "an XML block in UTF-8 (4.2)"


def strip_namespaces(root: Element) -> set[str]:
    """Remove known namespaces in place; return the unknown ones found."""
    foreign: set[str] = set()
    for el in root.iter():
        if not isinstance(el.tag, str) or not el.tag.startswith("{"):
            continue
        ns, _, name = el.tag[1:].partition("}")
        if ns not in KNOWN_NAMESPACES:
            foreign.add(ns)
        el.tag = name
    return foreign


@cache
def schema(block: str) -> Any:
    from pytest_bview.spec.xsd import load_schema

    return load_schema(block)


def schema_errors(root: Element, block: str) -> list[str]:
    errors = []
    for err in schema(block).iter_errors(root):
        path = getattr(err, "path", None) or ""
        errors.append(f"{path}: {err.reason}" if path else str(err.reason))
        if len(errors) >= 10:
            break
    return errors


def read_block(ex: Exchange, block: str, section: str) -> dict[str, Any]:
    """Check HTTP 200 + the block's root element, and return the body as a document."""
    from pytest_bview.xmlblocks import from_element

    expect(ex.status == 200, f"answered HTTP {ex.status} {status_text(ex)}", f"200 with the {block} block", section, ex)
    root = parse_xml(ex, section)
    expected = BLOCKS[block].element
    expect(root.tag == expected, f"answered <{root.tag}>", f"the <{expected}> block", section, ex)
    return from_element(BLOCKS[block], root)


def status_code(ex: Exchange) -> int | None:
    """statusCode of a ResponseStatus body, or None when the body is not one."""
    try:
        root = SafeET.fromstring(ex.body, forbid_dtd=True)
    except (SafeET.ParseError, DefusedXmlException, ValueError):
        return None
    strip_namespaces(root)
    if root.tag != "ResponseStatus":
        return None
    code = root.findtext("statusCode")
    try:
        return int((code or "").strip())
    except ValueError:
        return None


def status_text(ex: Exchange) -> str:
    code = status_code(ex)
    if code is None:
        problem = body_problem(ex)
        return f"with {problem[0]}" if problem else ""
    try:
        return f"with statusCode {code} ({Status(code).description})"
    except ValueError:
        return f"with statusCode {code}"


def check_status(ex: Exchange, expected: int | tuple[int, ...], section: str, why: str = "") -> int:
    """The reply is a ResponseStatus with the expected statusCode (and a sane HTTP status)."""
    wanted = (expected,) if isinstance(expected, int) else expected
    code = status_code(ex)
    names = " or ".join(f"{w} ({Status(w).description})" for w in wanted)
    requires = f"a ResponseStatus with statusCode {names}" + (f": {why}" if why else "")
    if code is None:
        fail(f"answered HTTP {ex.status} {status_text(ex) or 'without a ResponseStatus block'}", requires, section, ex)
    expect(code in wanted, f"answered statusCode {code} (HTTP {ex.status})", requires, section, ex)
    if code == 0:
        expect(
            ex.status in (200, 201, 204),
            f"answered statusCode 0 with HTTP {ex.status}",
            "success with HTTP 200 (chapter 7)",
            section,
            ex,
        )
    else:
        expect(
            ex.status == 200 or (ex.status is not None and 400 <= ex.status < 500) or ex.status == 503,
            f"answered statusCode {code} with HTTP {ex.status}",
            "an application error with HTTP 200 or 4xx (ERRATA.md: HTTP status of errors)",
            section,
            ex,
        )
    return code
